"""Checks on one repayment transaction, and on a month's report, each naming its field."""

from decimal import Decimal

from django.utils.translation import gettext_noop

from kivaportal.common.checks import Finding, error, warning
from kivaportal.common.money import currency_decimals, has_currency_precision, quantize
from kivaportal.repayments.models import Repayment

ZERO = Decimal("0")


def repayment_findings(repayment: Repayment) -> list[Finding]:
    findings: list[Finding] = []
    loan = repayment.loan
    if repayment.amount is None or repayment.amount <= ZERO:
        findings.append(
            error("amount", gettext_noop("amount must be greater than zero."), "amount_positive")
        )
    elif not has_currency_precision(repayment.amount, loan.currency):
        findings.append(
            error(
                "amount",
                gettext_noop("amount has more decimals than %(currency)s allows (%(places)s)."),
                "precision",
                currency=loan.currency,
                places=currency_decimals(loan.currency),
            )
        )
    if loan.partner_id != repayment.partner_id:
        findings.append(
            error(
                "loan",
                gettext_noop("Loan %(loan)s belongs to another partner."),
                "wrong_partner",
                loan=loan.mis_loan_id,
            )
        )
    if (
        repayment.borrower_id is not None
        and not loan.loan_borrowers.filter(borrower_id=repayment.borrower_id).exists()
    ):
        findings.append(
            error(
                "borrower",
                gettext_noop("The borrower is not one of loan %(loan)s's borrowers."),
                "borrower_not_in_loan",
                loan=loan.mis_loan_id,
            )
        )
    known = [p for p in (repayment.principal, repayment.interest) if p is not None]
    if len(known) == 2 and repayment.amount is not None and sum(known) != repayment.amount:
        findings.append(
            warning(
                "principal",
                gettext_noop(
                    "principal and interest add up to %(sum)s, not the amount %(amount)s."
                ),
                "parts_sum",
                sum=quantize(sum(known), loan.currency),
                amount=quantize(repayment.amount, loan.currency),
            )
        )
    if loan.disbursal_date and repayment.date < loan.disbursal_date:
        findings.append(
            warning(
                "date",
                gettext_noop("date %(date)s is before the loan's disbursal (%(disbursal)s)."),
                "before_disbursal",
                date=repayment.date,
                disbursal=loan.disbursal_date,
            )
        )
    return findings


def report_findings(report) -> list[Finding]:
    """The anomalies of a month's report (see `repayments.anomalies`)."""
    from kivaportal.repayments.anomalies import report_anomalies

    return report_anomalies(report)
