"""The checks of a month's repayment report, in a fixed number of queries.

Blocking: a month that has not started, a cumulative amount that cannot be computed.
Warnings: an empty report, a loan repaying more than it owes, loans due to repay but missing,
likely duplicate transactions, loans Kiva does not know yet, loans Kiva shows ended or
refunded (left out), loans Kiva does not show as paying back. Each kind lists at most
`LISTED` loans, then says how many more there are, so a 20,000-loan report stays readable.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from kivaportal.common.checks import Finding, Severity, error, warning
from kivaportal.common.money import quantize
from kivaportal.lending.models import Loan, ScheduleLine
from kivaportal.partners.models import RepaymentAmountRule
from kivaportal.repayments.selectors import (
    in_month,
    left_out_loans,
    month_end,
    overpaid_loans,
    report_kiva_status,
    unexpected_loans,
    unknown_principal_lines,
    zero_line_loans,
)
from kivaportal.workflow.states import RecordState

LISTED = 50


@dataclass(frozen=True)
class Anomaly:
    code: str
    severity: Severity
    rows: QuerySet  # one row per loan concerned, ordered
    template: str
    params: Callable[[dict], dict]  # must include "loan"
    more: str  # "%(n)s more ..." when over LISTED


def _anomalies(report) -> list[Anomaly]:
    start, end = report.month, month_end(report.month)
    month_loans = in_month(report).values("loan_id")
    found = []
    if report.partner.repayment_amount_rule == RepaymentAmountRule.CUMULATIVE_PRINCIPAL:
        found.append(
            Anomaly(
                "principal_unknown",
                Severity.ERROR,
                unknown_principal_lines(report),
                gettext_noop(
                    "Loan %(loan)s: some repayments have no principal part, so the cumulative "
                    "principal cannot be computed."
                ),
                lambda r: {"loan": r["loan__mis_loan_id"]},
                gettext_noop("%(n)s more loans have repayments without a principal part."),
            )
        )
    found += [
        Anomaly(
            "overpaid",
            Severity.WARNING,
            overpaid_loans(report),
            gettext_noop(
                "Loan %(loan)s has repaid %(paid)s of principal, more than its amount %(amount)s."
            ),
            lambda r: {
                "loan": r["loan__mis_loan_id"],
                "paid": quantize(r["paid"], r["loan__currency"]),
                "amount": quantize(r["loan__amount"], r["loan__currency"]),
            },
            gettext_noop("%(n)s more loans have repaid more than their amount."),
        ),
        Anomaly(
            "loan_not_sent",
            Severity.WARNING,
            Loan.objects.filter(id__in=month_loans)
            .exclude(state=RecordState.SENT)
            .order_by("mis_loan_id")
            .values("mis_loan_id"),
            gettext_noop("Loan %(loan)s has not been sent to Kiva; Kiva will not know its id."),
            lambda r: {"loan": r["mis_loan_id"]},
            gettext_noop("%(n)s more loans in this report have not been sent to Kiva."),
        ),
        Anomaly(
            "kiva_left_out",
            Severity.WARNING,
            left_out_loans(report),
            gettext_noop(
                "Loan %(loan)s is %(status)s at Kiva: its repayments this month are left out "
                "of the report."
            ),
            lambda r: {"loan": r["loan__mis_loan_id"], "status": r["kiva_status"]},
            gettext_noop("%(n)s more loans Kiva shows ended or refunded are left out."),
        ),
        Anomaly(
            "kiva_not_expected",
            Severity.WARNING,
            unexpected_loans(report)
            .annotate(kiva_status=report_kiva_status(report, "kiva__"))
            .filter(kiva_status__gt="")
            .order_by("mis_loan_id")
            .values("mis_loan_id", "kiva_status"),
            gettext_noop(
                "Kiva shows loan %(loan)s as %(status)s, not paying back: Kiva does not expect "
                "its repayments and will not count them."
            ),
            lambda r: {"loan": r["mis_loan_id"], "status": r["kiva_status"]},
            gettext_noop("%(n)s more loans in this report are not paying back at Kiva."),
        ),
        Anomaly(
            "missing",
            Severity.WARNING,
            ScheduleLine.objects.filter(
                loan__partner_id=report.partner_id,
                loan__state=RecordState.SENT,
                due_date__gte=start,
                due_date__lte=end,
            )
            .exclude(loan_id__in=month_loans)
            .values("loan__mis_loan_id")
            .distinct()
            .order_by("loan__mis_loan_id"),
            gettext_noop("Loan %(loan)s had an instalment due this month but no repayment."),
            lambda r: {"loan": r["loan__mis_loan_id"]},
            gettext_noop("%(n)s more loans had an instalment due this month but no repayment."),
        ),
        Anomaly(
            "duplicate",
            Severity.WARNING,
            in_month(report)
            .values("loan__mis_loan_id", "loan__currency", "borrower_id", "date", "amount")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .order_by("loan__mis_loan_id", "date"),
            gettext_noop(
                "Loan %(loan)s has %(n)s repayments of %(amount)s on %(date)s: a duplicate?"
            ),
            lambda r: {
                "loan": r["loan__mis_loan_id"],
                "n": r["n"],
                "amount": quantize(r["amount"], r["loan__currency"]),
                "date": r["date"],
            },
            gettext_noop("%(n)s more possible duplicates."),
        ),
    ]
    return found


def report_anomalies(report) -> list[Finding]:
    findings: list[Finding] = []
    if report.month > timezone.localdate():
        findings.append(
            error("month", gettext_noop("The month has not started yet."), "future_month")
        )
    if not in_month(report).exists() and not zero_line_loans(report).exists():
        findings.append(
            warning("lines", gettext_noop("No repayments are dated in this month."), "empty")
        )
        return findings
    for anomaly in _anomalies(report):
        rows = list(anomaly.rows[: LISTED + 1])
        for row in rows[:LISTED]:
            params = anomaly.params(row)
            findings.append(
                Finding(
                    anomaly.severity,
                    f"lines[{params['loan']}]",
                    anomaly.code,
                    anomaly.template,
                    params,
                )
            )
        if len(rows) > LISTED:
            more = anomaly.rows.count() - LISTED
            findings.append(
                Finding(anomaly.severity, "lines", anomaly.code, anomaly.more, {"n": more})
            )
    return findings


def report_named_loans(report) -> set[str]:
    """The MIS loan ids every check of the report names (not capped at `LISTED`): the lines
    its page shows under "lines with warnings". One query per kind of check."""
    named: set[str] = set()
    for anomaly in _anomalies(report):
        for row in anomaly.rows.iterator(chunk_size=5000):
            named.add(str(anomaly.params(row)["loan"]))
    return named
