"""Reads of loans."""

from decimal import Decimal

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from kivaportal.lending.models import LoanBorrower


def loans_with_details(queryset):
    """Loans with what their checks, payloads and review page read (reference values,
    borrowers, schedule), fetched with them: a fixed number of queries for any number of loans."""
    return queryset.select_related(
        "activity", "theme", "description_language", "location"
    ).prefetch_related(
        Prefetch("loan_borrowers", LoanBorrower.objects.select_related("borrower")),
        "schedule",
    )


def loan_page(loan, page_number=None, params=None) -> dict:
    """What a loan's review page shows beyond the loan itself: shares, schedule, totals, its
    checks, and the history of its parts for the timeline."""
    from kivaportal.lending.models import ScheduleLine

    shares = list(loan.loan_borrowers.all())
    schedule = list(loan.schedule.all())
    return {
        "shares": shares,
        "schedule": schedule,
        "shares_total": sum((s.amount for s in shares), Decimal(0)),
        "principal_total": sum((line.principal for line in schedule), Decimal(0)),
        "interest_total": sum((line.interest for line in schedule), Decimal(0)),
        "findings": loan.findings(),
        "timeline_related": (
            (
                LoanBorrower.history.filter(loan_id=loan.pk).select_related("borrower"),
                lambda row: _("Borrower %(name)s, share %(amount)s")
                % {"name": row.borrower.full_name, "amount": row.amount},
            ),
            (
                ScheduleLine.history.filter(loan_id=loan.pk),
                lambda row: _("Instalment %(date)s: %(principal)s + %(interest)s")
                % {"date": row.due_date, "principal": row.principal, "interest": row.interest},
            ),
        ),
    }
