"""Reads for repayment reports: the lines one partner reports to Kiva for one month.

A line is one loan (or, where the MIS recorded repayments per borrower of a group loan, one
borrower of it) that repaid something in the month, and a *zero line* for each loan Kiva
lists as payingBack or defaulted (from reconciliation) that repaid nothing: Kiva asks for a
line for every such loan. Loans Kiva shows as ended or refunded are left out (the report's
checks say so). A line's `amount` follows the partner's rule: the sum repaid in the month,
or the cumulative principal repaid up to the month's end.

Everything here is computed in the database with joins and semi-joins (never a list of ids
sent back to it), in a fixed number of queries, so a report of 20,000 loans reads as fast as
one of 20; pages ask for a slice of the lines and the totals separately.

What Kiva knows of a loan (its status, from `LoanAtKiva`) and what the portal reported before
(`SentRepaymentLoan`) count only in the environment the partner's active connection sends to
(`report_environment`; the rule: `lending.models.known_in_q`, docs/kiva.md "Stage and
production"): after the move to production, a loan only stage knows is not expected.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth

from kivaportal.common.money import quantize
from kivaportal.lending.models import (
    KIVA_REPAYING,
    KivaStatus,
    Loan,
    LoanBorrower,
    kiva_status_known_in,
    known_in_q,
)
from kivaportal.partners.models import RepaymentAmountRule
from kivaportal.partners.selectors import partner_kiva_environment
from kivaportal.repayments.models import (
    Repayment,
    RepaymentReport,
    ResendLine,
    SentRepaymentLoan,
)

ZERO = Decimal("0")
# Kiva does not take repayments for these loans: their lines are left out of the report.
KIVA_LEFT_OUT = (KivaStatus.ENDED, KivaStatus.REFUNDED)


@dataclass(frozen=True)
class ReportLine:
    loan_pk: int
    mis_loan_id: str  # Kiva's `loan_id`: the loan's, or the borrower's own MIS loan id
    client_id: str  # Kiva's `client_id` (sent only for three-column partners)
    amount: Decimal  # per the partner's amount rule
    period_amount: Decimal  # repaid in the month, whatever the rule
    transactions: int  # repayments dated in the month
    principal_unknown: bool  # cumulative rule, but some repayment has no principal part
    kiva_status: str = ""  # the loan's status at Kiva (its environment), as last read
    sent_before: bool = False  # the portal reported the loan to Kiva in an earlier month
    currency: str = ""  # the loan's

    @property
    def expected(self) -> bool:
        """Kiva expects a line for this loan (see `expected_loans`)."""
        return self.kiva_status in KIVA_REPAYING or (self.sent_before and not self.kiva_status)

    @property
    def zero(self) -> bool:
        """A line Kiva expects for a loan that repaid nothing in the month."""
        return self.transactions == 0


@dataclass(frozen=True)
class ReportTotals:
    lines: int
    transactions: int
    period_amount: Decimal
    amount: Decimal
    expected: int = 0  # loans Kiva expects a line for (see `expected_loans`)
    zero_lines: int = 0  # of them, those that repaid nothing in the month
    left_out: int = 0  # loans with repayments that Kiva shows ended or refunded
    unexpected: int = 0  # loans with repayments in the month that Kiva does not expect

    @property
    def reported(self) -> int:
        """Lines with repayments in the month."""
        return self.lines - self.zero_lines


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def report_environment(report: RepaymentReport) -> str:
    """The Kiva environment the partner's reports go to now: its active connection's, or ""
    (none: every row counts). One query, read once per report object (a page or a task reads
    the report afresh)."""
    if not hasattr(report, "_kiva_environment"):
        report._kiva_environment = partner_kiva_environment(report.partner_id)
    return report._kiva_environment


def report_kiva_status(report: RepaymentReport, path: str):
    """Kiva's status of the loan at `path` ("kiva__", "loan__kiva__") as the report's
    environment knows it ("" when it knows none), for a line's value."""
    return kiva_status_known_in(report_environment(report), path)


def _kiva_status_in(report: RepaymentReport, path: str, statuses) -> Q:
    """The report's environment knows the loan's status at `path`, one of `statuses`. (Plain
    conditions on the join, not on `report_kiva_status`: the planner estimates them.)"""
    return Q(**{f"{path}status__in": statuses}) & known_in_q(
        report_environment(report), f"{path}environment"
    )


def _kiva_status_unknown(report: RepaymentReport, path: str) -> Q:
    """The report's environment knows no status of the loan at `path`."""
    known = known_in_q(report_environment(report), f"{path}environment")
    unknown = Q(**{f"{path[:-2]}__isnull": True}) | Q(**{f"{path}status": ""})
    return unknown | ~known if known else unknown


def dated_in_month(report: RepaymentReport):
    return Repayment.objects.filter(
        partner_id=report.partner_id, date__gte=report.month, date__lte=month_end(report.month)
    )


def in_month(report: RepaymentReport):
    """The partner's repayment transactions dated in the report's month, but for loans Kiva
    shows as ended or refunded."""
    return dated_in_month(report).exclude(_kiva_status_in(report, "loan__kiva__", KIVA_LEFT_OUT))


def left_out_loans(report: RepaymentReport):
    """Loans with repayments in the month that Kiva shows as ended or refunded."""
    return (
        dated_in_month(report)
        .filter(_kiva_status_in(report, "loan__kiva__", KIVA_LEFT_OUT))
        .annotate(kiva_status=F("loan__kiva__status"))
        .values("loan__mis_loan_id", "kiva_status")
        .distinct()
        .order_by("loan__mis_loan_id")
    )


def _sent_before(report: RepaymentReport, loan_ref: str = "pk"):
    """The loan (`loan_ref` of the outer query) was reported to Kiva (the report's
    environment, or one not recorded) in an earlier month."""
    return Exists(
        SentRepaymentLoan.objects.filter(
            known_in_q(report_environment(report)),
            loan_id=OuterRef(loan_ref),
            month__lt=report.month,
        )
    )


def expected_loans(report: RepaymentReport):
    """The loans Kiva expects a line for in the report's month: those Kiva lists as
    payingBack or defaulted (reconciliation), and those the portal reported in an earlier
    month whose status Kiva has not told (not reconciled yet). Kiva's status, once known,
    decides: a loan it shows in any other status (ended, refunded, inactive...) is not
    expected. Both only as the report's environment knows them. docs/kiva.md says the rule."""
    return Loan.objects.filter(partner_id=report.partner_id).filter(
        _kiva_status_in(report, "kiva__", KIVA_REPAYING)
        | (Q(_sent_before(report)) & _kiva_status_unknown(report, "kiva__"))
    )


def zero_line_loans(report: RepaymentReport):
    """Loans Kiva expects a line for that repaid nothing in the month."""
    return expected_loans(report).exclude(
        Exists(dated_in_month(report).filter(loan_id=OuterRef("pk")))
    )


def _zero_rows(report, search=None):
    # The columns of `_grouped`, in its order, so the two can be read as one (a UNION).
    loans = zero_line_loans(report)
    if search:
        loans = loans.filter(_loan_search(search))
    return (
        loans.annotate(
            z_loan=F("id"),
            z_borrower=Value(None, output_field=IntegerField()),
            z_mis_loan_id=F("mis_loan_id"),
            z_group_client_id=F("group_client_id"),
            z_currency=F("currency"),
            z_client=Value("", output_field=CharField()),
            z_status=report_kiva_status(report, "kiva__"),
            z_sent_before=_sent_before(report),
            z_total=Value(ZERO, output_field=DecimalField()),
            z_n=Value(0, output_field=IntegerField()),
        )
        .values(
            "z_loan",
            "z_borrower",
            "z_mis_loan_id",
            "z_group_client_id",
            "z_currency",
            "z_client",
            "z_status",
            "z_sent_before",
            "z_total",
            "z_n",
        )
        .order_by()
    )


def _same_key_in_month(report):
    # A repayment counts towards a line when the line's (loan, borrower) repaid in the month;
    # the borrower may be empty on both sides, hence the coalesce.
    return Exists(
        in_month(report)
        .filter(loan_id=OuterRef("loan_id"))
        .annotate(b=Coalesce("borrower_id", Value(0)))
        .filter(b=Coalesce(OuterRef("borrower_id"), Value(0)))
    )


def _cumulative(report):
    """Repayments up to the month's end of the lines' (loan, borrower) pairs."""
    return Repayment.objects.filter(
        loan__partner_id=report.partner_id, date__lte=month_end(report.month)
    ).filter(_same_key_in_month(report))


def _grouped(report, search=None, zero=False):
    """The month's (loan, borrower) pairs with their sums; `search` keeps those whose loan or
    borrower id or name matches every word, `zero` those that repaid nothing in the month."""
    rows = in_month(report)
    if search:
        rows = rows.filter(_line_search(search))
    rows = (
        rows.annotate(
            sent_before=_sent_before(report, "loan_id"),
            status_here=report_kiva_status(report, "loan__kiva__"),
        )
        .values(
            "loan_id",
            "borrower_id",
            "loan__mis_loan_id",
            "loan__group_client_id",
            "loan__currency",
            "borrower__mis_client_id",
            "status_here",
            "sent_before",
        )
        .annotate(total=Sum("amount"), n=Count("id"))
        .order_by()
    )
    return rows.filter(total=0) if zero else rows


def _line_search(search):
    condition = Q()
    for word in search.split():
        condition &= (
            Q(loan__mis_loan_id__icontains=word)
            | Q(loan__group_client_id__icontains=word)
            | Q(borrower__mis_client_id__icontains=word)
            | Q(borrower__first_name__icontains=word)
            | Q(borrower__last_name__icontains=word)
        )
    return condition


def _loan_search(search):
    """`_line_search` for a zero line's loan: its ids or any of its borrowers' ids or names."""
    condition = Q()
    for word in search.split():
        people = LoanBorrower.objects.filter(loan_id=OuterRef("pk")).filter(
            Q(mis_loan_id__icontains=word)
            | Q(borrower__mis_client_id__icontains=word)
            | Q(borrower__first_name__icontains=word)
            | Q(borrower__last_name__icontains=word)
        )
        condition &= (
            Q(mis_loan_id__icontains=word) | Q(group_client_id__icontains=word) | Exists(people)
        )
    return condition


def _line_rows(report, search=None, zero=False):
    """The report's lines as `_grouped` rows: the month's sums and the zero lines, read as one
    (a UNION), each side narrowed by `search` and `zero` first (a zero line repaid nothing)."""
    return _grouped(report, search, zero).union(_zero_rows(report, search), all=True)


def report_line_count(report: RepaymentReport, *, search=None, zero=False) -> int:
    return _line_rows(report, search, zero).count()


def expected_in_month(report: RepaymentReport, loan_ids) -> dict[int, Decimal]:
    """What each loan's schedule says falls due in the report's month (principal + interest),
    to set beside what was repaid. One query for a page's loans."""
    from kivaportal.lending.models import ScheduleLine

    return dict(
        ScheduleLine.objects.filter(
            loan_id__in=loan_ids, due_date__gte=report.month, due_date__lte=month_end(report.month)
        )
        .values("loan_id")
        .annotate(due=Sum(F("principal") + F("interest")))
        .order_by()
        .values_list("loan_id", "due")
    )


def report_monthly_totals(report: RepaymentReport, months: int = 12) -> list[tuple[date, Decimal]]:
    """What the partner's repayments added up to in each of the `months` months up to the
    report's, oldest first, months without any repayment included as zero. One query."""
    first = report.month
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    totals = dict(
        Repayment.objects.filter(
            partner_id=report.partner_id, date__gte=first, date__lte=month_end(report.month)
        )
        .annotate(m=TruncMonth("date"))
        .values("m")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("m", "total")
    )
    result, month = [], first
    while month <= report.month:
        result.append((month, totals.get(month, ZERO)))
        month = (month_end(month) + timedelta(days=1)).replace(day=1)
    return result


def report_lines(
    report: RepaymentReport, offset=0, limit=None, *, search=None, zero=False
) -> list[ReportLine]:
    """The report's lines ordered by MIS loan id; `offset`/`limit` read one page of them,
    `search` and `zero` narrow them (see `_line_rows`)."""
    rows = _line_rows(report, search, zero).order_by("loan__mis_loan_id", "borrower_id")
    rows = list(rows[offset : offset + limit] if limit is not None else rows[offset:])
    if not rows:
        return []
    # A page asks about its own loans; the whole report, about the month's loans (a semi-join)
    # and the zero lines' loans.
    if limit is not None:
        loans = {r["loan_id"] for r in rows}
        people = LoanBorrower.objects.filter(loan_id__in=loans)
    else:  # semi-joins, not a list of 20,000 ids sent back
        loans = Q(loan_id__in=in_month(report).values("loan_id")) | Q(
            loan_id__in=zero_line_loans(report).values("pk")
        )
        people = LoanBorrower.objects.filter(loans)
    first_client, own_loan_id = {}, {}
    for lb in people.order_by("loan_id", "position", "id").values_list(
        "loan_id", "borrower_id", "mis_loan_id", "borrower__mis_client_id"
    ):
        loan_id, borrower_id, mis_loan_id, client_id = lb
        first_client.setdefault(loan_id, client_id)
        own_loan_id[(loan_id, borrower_id)] = mis_loan_id
    cumulative = {}
    if report.partner.repayment_amount_rule == RepaymentAmountRule.CUMULATIVE_PRINCIPAL:
        cumulative = {
            (c["loan_id"], c["borrower_id"]): (c["paid"] or ZERO, c["n"] != c["known"])
            for c in (
                _cumulative(report).filter(loan_id__in=loans)
                if limit is not None
                else _cumulative(report)
            )
            .values("loan_id", "borrower_id")
            .annotate(paid=Sum("principal"), n=Count("id"), known=Count("principal"))
            .order_by()
        }
        zero_cumulative = {
            c["loan_id"]: (c["paid"] or ZERO, c["n"] != c["known"])
            for c in Repayment.objects.filter(
                loan_id__in=[r["loan_id"] for r in rows if not r["n"]],
                date__lte=month_end(report.month),
            )
            .values("loan_id")
            .annotate(paid=Sum("principal"), n=Count("id"), known=Count("principal"))
            .order_by()
        }
    lines = []
    for r in rows:
        currency = r["loan__currency"]
        key = (r["loan_id"], r["borrower_id"])
        if r["borrower_id"]:
            mis_loan_id = own_loan_id.get(key) or r["loan__mis_loan_id"]
            client_id = r["borrower__mis_client_id"]
        else:
            # An individual loan's client is its borrower; a group loan's is the group.
            mis_loan_id = r["loan__mis_loan_id"]
            client_id = r["loan__group_client_id"] or first_client.get(r["loan_id"], "")
        principal, unknown = cumulative.get(key, (None, False))
        if not r["n"] and cumulative:
            # A zero line under the cumulative rule still reports what was repaid so far.
            principal, unknown = zero_cumulative.get(r["loan_id"], (ZERO, False))
        lines.append(
            ReportLine(
                loan_pk=r["loan_id"],
                mis_loan_id=mis_loan_id,
                client_id=client_id,
                amount=quantize(r["total"] if principal is None else principal, currency),
                period_amount=quantize(r["total"], currency),
                transactions=r["n"],
                principal_unknown=unknown,
                kiva_status=r["status_here"] or "",
                sent_before=bool(r["sent_before"]),
                currency=currency,
            )
        )
    return lines


def loans_by_sent_id(partner_id, ids) -> dict[str, int]:
    """The partner's loans that a repayment line's `loan_id` names (the loan's MIS id, or a
    group borrower's own), by that id. One query."""
    ids = set(ids)
    loans: dict[str, int] = {}
    for loan_id, mis_loan_id, own in (
        Loan.objects.filter(partner_id=partner_id)
        .filter(Q(mis_loan_id__in=ids) | Q(loan_borrowers__mis_loan_id__in=ids))
        .values_list("id", "mis_loan_id", "loan_borrowers__mis_loan_id")
    ):
        for key in (mis_loan_id, own):
            if key in ids:
                loans.setdefault(key, loan_id)
    return loans


def resend_lines(report: RepaymentReport):
    """The lines the report's current version sends again (Kiva refused them on an earlier
    version), in order; empty for a version that sends the month's lines."""
    return ResendLine.objects.filter(report=report, version=report.version).order_by("id")


def report_resend_count(report: RepaymentReport) -> int:
    return resend_lines(report).count()


def report_send_lines(report: RepaymentReport) -> list[ReportLine]:
    """What the report's current version sends to Kiva: the lines it sends again, if it is a
    version made for that, otherwise the month's lines (`report_lines`)."""
    again = list(resend_lines(report).select_related("loan"))
    if not again:
        return report_lines(report)
    return [
        ReportLine(
            loan_pk=line.loan_id or 0,
            mis_loan_id=line.mis_loan_id,
            client_id=line.client_id,
            amount=quantize(
                line.amount, line.loan.currency if line.loan else report.partner.default_currency
            ),
            period_amount=line.amount,
            transactions=0,
            principal_unknown=False,
        )
        for line in again
    ]


def report_totals(report: RepaymentReport) -> ReportTotals:
    month = in_month(report).aggregate(n=Count("id"), total=Sum("amount"))
    period = month["total"] or ZERO
    amount = period
    if report.partner.repayment_amount_rule == RepaymentAmountRule.CUMULATIVE_PRINCIPAL:
        amount = _cumulative(report).aggregate(total=Sum("principal"))["total"] or ZERO
    zero = zero_line_loans(report)
    if report.partner.repayment_amount_rule == RepaymentAmountRule.CUMULATIVE_PRINCIPAL:
        amount += (
            Repayment.objects.filter(
                loan_id__in=zero.values("id"), date__lte=month_end(report.month)
            ).aggregate(total=Sum("principal"))["total"]
            or ZERO
        )
    zero_lines = zero.count()
    return ReportTotals(
        lines=in_month(report).values("loan_id", "borrower_id").distinct().count() + zero_lines,
        transactions=month["n"],
        period_amount=period,
        amount=amount,
        expected=expected_loans(report).count(),
        zero_lines=zero_lines,
        left_out=left_out_loans(report).count(),
        unexpected=unexpected_loans(report).count(),
    )


def unexpected_loans(report: RepaymentReport):
    """Loans with repayments in the month (not left out) that Kiva does not expect: never
    sent, not published, or not paying back at Kiva and not reported before."""
    return Loan.objects.filter(pk__in=in_month(report).values("loan_id")).exclude(
        pk__in=expected_loans(report).values("pk")
    )


def overpaid_loans(report: RepaymentReport):
    """Loans in the report whose principal repaid up to the month's end exceeds the loan."""
    return (
        Repayment.objects.filter(
            loan__partner_id=report.partner_id,
            date__lte=month_end(report.month),
            loan_id__in=in_month(report).values("loan_id"),
        )
        .values("loan_id", "loan__mis_loan_id", "loan__amount", "loan__currency")
        .annotate(paid=Sum("principal"))
        .filter(paid__gt=F("loan__amount"))
        .order_by("loan__mis_loan_id")
    )


def unknown_principal_lines(report: RepaymentReport):
    """(loan, borrower) lines whose cumulative principal cannot be computed."""
    return (
        _cumulative(report)
        .values("loan_id", "loan__mis_loan_id")
        .annotate(n=Count("id"), known=Count("principal"))
        .filter(known__lt=F("n"))
        .order_by("loan__mis_loan_id")
    )
