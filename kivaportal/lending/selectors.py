"""Reads of loans."""

from django.db.models import Prefetch

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
