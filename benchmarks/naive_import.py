"""The baseline `make bench-intake` compares the portal's importers with: the same CSV files
imported row by row through the ORM, as a first version would (one lookup and one save per
row, django-simple-history's signal writing each history row), in one transaction.

It checks nothing beyond what parsing needs and keeps nothing between rows, so its memory is
flat; only its speed is the point of comparison.
"""

import csv
from datetime import date
from decimal import Decimal

from django.db import transaction


def _rows(path, limit):
    with open(path, newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f)):
            if n >= limit:
                return
            yield row


@transaction.atomic
def import_repayments(partner, path, limit) -> int:
    from kivaportal.lending.models import Loan
    from kivaportal.repayments.models import Repayment

    n = 0
    for row in _rows(path, limit):
        loan = Loan.objects.only("pk").get(partner=partner, mis_loan_id=row["mis_loan_id"])
        Repayment.objects.update_or_create(
            partner=partner,
            mis_repayment_id=row["mis_repayment_id"],
            defaults={
                "loan": loan,
                "date": date.fromisoformat(row["date"]),
                "amount": Decimal(row["amount"]),
                "principal": Decimal(row["principal"]),
                "interest": Decimal(row["interest"]),
            },
        )
        n += 1
    return n


@transaction.atomic
def import_loans(partner, folder, limit) -> int:
    """Loans, then each loan's borrower and schedule lines; `limit` loans (and their lines)."""
    from kivaportal.lending.models import Borrower, Loan, LoanBorrower, ScheduleLine
    from kivaportal.reference.models import Activity, Locale, Location

    n = 0
    loans = {}
    for row in _rows(folder / "loans.csv", limit):
        loans[row["mis_loan_id"]], _created = Loan.objects.update_or_create(
            partner=partner,
            mis_loan_id=row["mis_loan_id"],
            defaults={
                "amount": Decimal(row["amount"]),
                "currency": row["currency"],
                "disbursal_date": date.fromisoformat(row["disbursal_date"]),
                "activity": Activity.objects.get(partner=partner, kiva_id=row["activity_id"]),
                "description_language": Locale.objects.filter(
                    partner=partner, language_id=row["description_language_id"]
                ).first(),
                "location": Location.objects.get(partner=partner, full_name=row["location"]),
                "description": row["description"],
                "loan_use": row["loan_use"],
                "client_waiver_signed": row["client_waiver_signed"] == "yes",
            },
        )
        n += 1
    for row in _rows(folder / "loan_borrowers.csv", limit):
        loan = loans[row["mis_loan_id"]]
        LoanBorrower.objects.update_or_create(
            loan=loan,
            borrower=Borrower.objects.get(partner=partner, mis_client_id=row["mis_client_id"]),
            defaults={"amount": Decimal(row["amount"])},
        )
        n += 1
    for row in _rows(folder / "schedule.csv", limit * 12):
        loan = loans[row["mis_loan_id"]]
        ScheduleLine.objects.update_or_create(
            loan=loan,
            due_date=date.fromisoformat(row["due_date"]),
            defaults={"principal": Decimal(row["principal"]), "interest": Decimal(row["interest"])},
        )
        n += 1
    return n
