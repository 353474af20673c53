"""Checks on one repayment transaction, each naming its field."""

from decimal import Decimal

from django.utils.translation import gettext as _

from kivaportal.common.checks import Finding, Severity
from kivaportal.common.money import currency_decimals, has_currency_precision
from kivaportal.repayments.models import Repayment

ZERO = Decimal("0")


def repayment_findings(repayment: Repayment) -> list[Finding]:
    findings: list[Finding] = []
    loan = repayment.loan
    if repayment.amount is None or repayment.amount <= ZERO:
        findings.append(
            Finding(
                Severity.ERROR, "amount", _("amount must be greater than zero."), "amount_positive"
            )
        )
    elif not has_currency_precision(repayment.amount, loan.currency):
        findings.append(
            Finding(
                Severity.ERROR,
                "amount",
                _("amount has more decimals than %(currency)s allows (%(places)d).")
                % {"currency": loan.currency, "places": currency_decimals(loan.currency)},
                "precision",
            )
        )
    if loan.partner_id != repayment.partner_id:
        findings.append(
            Finding(
                Severity.ERROR,
                "loan",
                _("Loan %(loan)s belongs to another partner.") % {"loan": loan.mis_loan_id},
                "wrong_partner",
            )
        )
    known = [p for p in (repayment.principal, repayment.interest) if p is not None]
    if len(known) == 2 and repayment.amount is not None and sum(known) != repayment.amount:
        findings.append(
            Finding(
                Severity.WARNING,
                "principal",
                _("principal and interest add up to %(sum)s, not the amount %(amount)s.")
                % {"sum": sum(known), "amount": repayment.amount},
                "parts_sum",
            )
        )
    if loan.disbursal_date and repayment.date < loan.disbursal_date:
        findings.append(
            Finding(
                Severity.WARNING,
                "date",
                _("date %(date)s is before the loan's disbursal (%(disbursal)s).")
                % {"date": repayment.date, "disbursal": loan.disbursal_date},
                "before_disbursal",
            )
        )
    return findings


def report_findings(report, lines=None) -> list[Finding]:
    """Anomalies of a month's report, found with a fixed number of queries.

    Blocking: a future month, a cumulative amount that cannot be computed. Warnings: an empty
    report, a cumulative amount lower than the month before, a loan repaying more than it owes,
    loans due to repay but missing, likely duplicate transactions, loans Kiva does not know.
    """
    from kivaportal.repayments.selectors import report_anomalies

    return report_anomalies(report, lines)
