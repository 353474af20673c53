import pytest

from kivaportal.partners.roles import Role
from kivaportal.review.errors import FourEyesViolation
from kivaportal.review.models import AuditEntry
from kivaportal.review.services import record_approve, record_submit
from kivaportal.review.states import RecordState
from tests.factories import LoanFactory, member


@pytest.mark.django_db
def test_submit_then_approve_by_another_person_writes_two_audit_entries():
    loan = LoanFactory()
    preparer = member(loan.partner, Role.PARTNER_ADMIN)
    reviewer = member(loan.partner, Role.REVIEWER)
    loan.created_by = preparer
    loan.save()
    record_submit(record=loan, by=preparer)
    with pytest.raises(FourEyesViolation):
        record_approve(record=loan, by=preparer)
    approved = record_approve(record=loan, by=reviewer)
    assert approved.state == RecordState.APPROVED
    assert list(AuditEntry.objects.values_list("action", flat=True).order_by("id")) == [
        "submitted",
        "approved",
    ]
