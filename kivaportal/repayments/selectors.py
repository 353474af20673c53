"""Reads for repayment reports: the lines one partner reports to Kiva for one month.

A line is one loan (or, where the MIS recorded repayments per borrower of a group loan, one
borrower of it) that repaid something in the month. Its `amount` follows the partner's rule:
the sum repaid in the month, or the cumulative principal repaid up to the month's end. Lines
are computed with a fixed number of aggregate queries, whatever the size of the portfolio.
"""

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kivaportal.common.checks import Finding, Severity
from kivaportal.common.money import quantize
from kivaportal.lending.models import Borrower, Loan, LoanBorrower, ScheduleLine
from kivaportal.partners.models import RepaymentAmountRule
from kivaportal.repayments.models import Repayment, RepaymentReport
from kivaportal.review.states import RecordState


@dataclass(frozen=True)
class ReportLine:
    loan_pk: int
    mis_loan_id: str  # Kiva's `loan_id`: the loan's, or the borrower's own MIS loan id
    client_id: str  # Kiva's `client_id` (sent only for three-column partners)
    amount: Decimal  # per the partner's amount rule
    period_amount: Decimal  # repaid in the month, whatever the rule
    transactions: int  # repayments dated in the month
    principal_unknown: bool  # cumulative rule, but some repayment has no principal part


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def report_lines(report: RepaymentReport) -> list[ReportLine]:
    partner = report.partner
    start, end = report.month, month_end(report.month)
    in_month = (
        Repayment.objects.filter(partner=partner, date__gte=start, date__lte=end)
        .values("loan_id", "borrower_id")
        .annotate(total=Sum("amount"), n=Count("id"))
        .order_by("loan_id", "borrower_id")
    )
    rows = list(in_month)
    if not rows:
        return []
    loan_ids = {r["loan_id"] for r in rows}
    cumulative = {}
    if partner.repayment_amount_rule == RepaymentAmountRule.CUMULATIVE_PRINCIPAL:
        cumulative = {
            (c["loan_id"], c["borrower_id"]): (c["paid"] or Decimal("0"), c["n"] != c["known"])
            for c in Repayment.objects.filter(loan_id__in=loan_ids, date__lte=end)
            .values("loan_id", "borrower_id")
            .annotate(paid=Sum("principal"), n=Count("id"), known=Count("principal"))
            .order_by()
        }
    loans = {
        loan["id"]: loan
        for loan in Loan.objects.filter(id__in=loan_ids).values(
            "id", "mis_loan_id", "group_client_id", "currency"
        )
    }
    # The client id of an individual loan is its borrower's; a group loan's is the group's.
    first_client = {}
    own_loan_ids = {}
    for lb in (
        LoanBorrower.objects.filter(loan_id__in=loan_ids)
        .order_by("loan_id", "position", "id")
        .values("loan_id", "borrower_id", "mis_loan_id", "borrower__mis_client_id")
    ):
        first_client.setdefault(lb["loan_id"], lb["borrower__mis_client_id"])
        own_loan_ids[(lb["loan_id"], lb["borrower_id"])] = lb["mis_loan_id"]
    borrower_ids = {r["borrower_id"] for r in rows if r["borrower_id"]}
    client_ids = dict(
        Borrower.objects.filter(id__in=borrower_ids).values_list("id", "mis_client_id")
    )

    lines = []
    for r in rows:
        loan = loans[r["loan_id"]]
        key = (r["loan_id"], r["borrower_id"])
        if r["borrower_id"]:
            mis_loan_id = own_loan_ids.get(key) or loan["mis_loan_id"]
            client_id = client_ids[r["borrower_id"]]
        else:
            mis_loan_id = loan["mis_loan_id"]
            client_id = loan["group_client_id"] or first_client.get(r["loan_id"], "")
        principal, unknown = cumulative.get(key, (None, False))
        currency = loan["currency"]
        lines.append(
            ReportLine(
                loan_pk=r["loan_id"],
                mis_loan_id=mis_loan_id,
                client_id=client_id,
                amount=quantize(r["total"] if principal is None else principal, currency),
                period_amount=quantize(r["total"], currency),
                transactions=r["n"],
                principal_unknown=unknown,
            )
        )
    return lines


def report_anomalies(report: RepaymentReport, lines: list[ReportLine] | None = None):
    """The checks of a month's report (see `repayments.checks.report_findings`)."""
    lines = report_lines(report) if lines is None else lines
    start, end = report.month, month_end(report.month)
    findings = []

    def add(severity, field, message, code):
        findings.append(Finding(severity, field, message, code))

    if start > timezone.localdate():
        add(Severity.ERROR, "month", _("The month has not started yet."), "future_month")
    if not lines:
        add(Severity.WARNING, "lines", _("No repayments are dated in this month."), "empty")
    for line in lines:
        if line.principal_unknown:
            add(
                Severity.ERROR,
                f"lines[{line.mis_loan_id}]",
                _(
                    "Loan %(loan)s: some repayments have no principal part, so the cumulative "
                    "principal cannot be computed."
                )
                % {"loan": line.mis_loan_id},
                "principal_unknown",
            )

    loan_ids = {line.loan_pk for line in lines}
    loans = {
        loan["id"]: loan
        for loan in Loan.objects.filter(id__in=loan_ids).values(
            "id", "mis_loan_id", "amount", "state"
        )
    }
    repaid = dict(
        Repayment.objects.filter(loan_id__in=loan_ids, date__lte=end)
        .values("loan_id")
        .annotate(paid=Sum("principal"))
        .values_list("loan_id", "paid")
    )
    for loan_id, loan in sorted(loans.items(), key=lambda item: item[1]["mis_loan_id"]):
        if repaid.get(loan_id) and repaid[loan_id] > loan["amount"]:
            add(
                Severity.WARNING,
                f"lines[{loan['mis_loan_id']}]",
                _(
                    "Loan %(loan)s has repaid %(paid)s of principal, more than its amount "
                    "%(amount)s."
                )
                % {"loan": loan["mis_loan_id"], "paid": repaid[loan_id], "amount": loan["amount"]},
                "overpaid",
            )
        if loan["state"] != RecordState.SENT:
            add(
                Severity.WARNING,
                f"lines[{loan['mis_loan_id']}]",
                _("Loan %(loan)s has not been sent to Kiva; Kiva will not know its id.")
                % {"loan": loan["mis_loan_id"]},
                "loan_not_sent",
            )

    missing = (
        ScheduleLine.objects.filter(
            loan__partner_id=report.partner_id,
            loan__state=RecordState.SENT,
            due_date__gte=start,
            due_date__lte=end,
        )
        .exclude(loan_id__in=loan_ids)
        .values_list("loan__mis_loan_id", flat=True)
        .distinct()
        .order_by("loan__mis_loan_id")
    )
    for mis_loan_id in missing:
        add(
            Severity.WARNING,
            f"lines[{mis_loan_id}]",
            _("Loan %(loan)s had an instalment due this month but no repayment.")
            % {"loan": mis_loan_id},
            "missing",
        )

    duplicates = (
        Repayment.objects.filter(partner_id=report.partner_id, date__gte=start, date__lte=end)
        .values("loan__mis_loan_id", "borrower_id", "date", "amount")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("loan__mis_loan_id", "date")
    )
    for dup in duplicates:
        add(
            Severity.WARNING,
            f"lines[{dup['loan__mis_loan_id']}]",
            _("Loan %(loan)s has %(n)d repayments of %(amount)s on %(date)s: a duplicate?")
            % {
                "loan": dup["loan__mis_loan_id"],
                "n": dup["n"],
                "amount": dup["amount"],
                "date": dup["date"],
            },
            "duplicate",
        )
    return findings
