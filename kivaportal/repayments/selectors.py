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

from kivaportal.common.money import quantize
from kivaportal.lending.models import Borrower, Loan, LoanBorrower
from kivaportal.partners.models import RepaymentAmountRule
from kivaportal.repayments.models import Repayment, RepaymentReport


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
