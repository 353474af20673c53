"""Writes for borrowers and loans outside the review moves."""

from kivaportal.lending.models import Loan
from kivaportal.workflow.transitions import record_data_changed


def borrower_edited(*, borrower, by, changed_fields):
    """A borrower's data (name, gender, client id) is part of every loan they are on: a loan
    under review goes back to draft, one already on its way or sent notes it, each with an
    audit entry naming the part and the person (who, under four eyes, may then not approve
    it). Call after saving the edit, in the same transaction."""
    data = {"part": "borrower", "borrower": borrower.mis_client_id, "fields": changed_fields}
    for loan in Loan.objects.filter(loan_borrowers__borrower=borrower).distinct():
        record_data_changed(record=loan, by=by, reason="borrower_changed", data=data)
