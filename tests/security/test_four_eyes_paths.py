"""Four eyes on the side paths (issue 10, items 3 and 4): editing a record's parts in the
admin, and an edit followed by someone else's. Over HTTP with CSRF checks on, as a browser."""

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from kivaportal.partners.roles import Role
from kivaportal.review import services
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import FourEyesViolation
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState
from tests.admin.admin_forms import admin_url, browser, post_form
from tests.factories import (
    LoanFactory,
    PartnerFactory,
    RepaymentFactory,
    RepaymentReportFactory,
    SuperuserFactory,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    partner = PartnerFactory(name="Cooperativa Cuatro Ojos")
    return {
        "partner": partner,
        "preparer": member(partner, Role.PREPARER, username="ana"),
        "admin": member(partner, Role.PARTNER_ADMIN, username="pablo"),
        "reviewer": member(partner, Role.REVIEWER, username="rosa"),
    }


def test_editing_a_submitted_loans_borrower_sends_it_back_and_the_editor_cannot_approve(team):
    loan = LoanFactory(
        partner=team["partner"],
        state=RecordState.SUBMITTED,
        created_by=team["preparer"],
        updated_by=team["preparer"],
    )
    borrower = loan.loan_borrowers.get().borrower
    client = browser(team["admin"])
    response = post_form(
        client,
        admin_url("lending", "borrower", "change", borrower.pk),
        {"first_name": "Rosalinda", "gender": "male"},
    )
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.state == RecordState.DRAFT
    entry = AuditEntry.objects.get(object_id=loan.pk, action=AuditAction.RETURNED_TO_DRAFT)
    assert entry.actor == team["admin"]
    assert entry.data["part"] == "borrower"
    assert set(entry.data["fields"]) == {"first_name", "gender"}
    # Submitted again by the preparer, the editor of the part still may not approve it.
    services.record_submit(record=loan, by=team["preparer"])
    with pytest.raises(FourEyesViolation):
        services.record_approve(record=loan, by=team["admin"])
    assert services.four_eyes_refusal(loan, team["reviewer"]) is None


def test_editing_a_repayment_of_a_submitted_report_sends_it_back_and_the_editor_cannot_approve(
    team,
):
    loan = LoanFactory(partner=team["partner"], state=RecordState.SENT)
    repayment = RepaymentFactory(loan=loan)
    report = RepaymentReportFactory(
        partner=team["partner"],
        month=repayment.date.replace(day=1),
        state=RecordState.SUBMITTED,
        created_by=team["preparer"],
        updated_by=team["preparer"],
    )
    client = browser(team["admin"])
    response = post_form(
        client,
        admin_url("repayments", "repayment", "change", repayment.pk),
        {"amount": str(repayment.amount + Decimal("1"))},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == RecordState.DRAFT
    entry = AuditEntry.objects.get(object_id=report.pk, action=AuditAction.RETURNED_TO_DRAFT)
    assert (entry.actor, entry.data["part"], entry.data["fields"]) == (
        team["admin"],
        "repayment",
        ["amount"],
    )
    services.record_submit(record=report, by=team["preparer"])
    with pytest.raises(FourEyesViolation):
        services.record_approve(record=report, by=team["admin"])


def test_deleting_a_repayment_of_a_submitted_report_sends_it_back(team):
    # Deleting is for superusers only (members withdraw); a superuser's deletion counts too.
    loan = LoanFactory(partner=team["partner"], state=RecordState.SENT)
    repayment = RepaymentFactory(loan=loan)
    report = RepaymentReportFactory(
        partner=team["partner"], month=repayment.date.replace(day=1), state=RecordState.SUBMITTED
    )
    client = browser(SuperuserFactory())
    url = admin_url("repayments", "repayment", "delete", repayment.pk)
    assert client.get(url).status_code == 200
    token = client.cookies["csrftoken"].value
    response = client.post(url, {"post": "yes", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == RecordState.DRAFT
    entry = AuditEntry.objects.get(object_id=report.pk, action=AuditAction.RETURNED_TO_DRAFT)
    assert entry.data["fields"] == ["deleted"]


def test_an_earlier_editor_cannot_approve_after_someone_else_edits_last(team):
    """B edits A's submitted loan (back to draft), A edits one more field and resubmits: B's own
    unreviewed text must not reach Kiva on B's approval."""
    loan = LoanFactory(
        partner=team["partner"],
        state=RecordState.SUBMITTED,
        created_by=team["preparer"],
        updated_by=team["preparer"],
    )
    b = team["admin"]
    response = post_form(
        browser(b),
        admin_url("lending", "loan", "change", loan.pk),
        {"description": "Texto de B, nunca revisado."},
    )
    assert response.status_code == 302, response.content[:500]
    loan.refresh_from_db()
    assert (loan.state, loan.updated_by) == (RecordState.DRAFT, b)
    response = post_form(
        browser(team["preparer"]),
        admin_url("lending", "loan", "change", loan.pk),
        {"loan_use": "Comprar lana."},
    )
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.updated_by == team["preparer"]
    services.record_submit(record=loan, by=team["preparer"])
    with pytest.raises(FourEyesViolation):
        services.record_approve(record=loan, by=b)
    # On the review page too, the refusal is shown and the approval refused.
    page = browser(b).get(reverse("review:record", args=[loan.partner_id, "loans", loan.pk]))
    assert page.status_code == 200
    assert page.context["four_eyes_refusal"]


def test_after_an_approval_earlier_edits_no_longer_count(team):
    """The rule looks at changes since the last approval: a reviewer who edited version 1
    before someone else approved it may approve version 2 that they did not touch."""
    loan = LoanFactory(
        partner=team["partner"],
        state=RecordState.SUBMITTED,
        created_by=team["preparer"],
        updated_by=team["preparer"],
    )
    services.record_edited(record=loan, by=team["admin"], changed_fields=["description"])
    loan.refresh_from_db()
    services.record_submit(record=loan, by=team["preparer"])
    loan.refresh_from_db()
    AuditEntry.objects.create(
        partner=loan.partner,
        content_type=ContentType.objects.get_for_model(loan),
        object_id=loan.pk,
        record_label=str(loan),
        actor=team["reviewer"],
        action=AuditAction.APPROVED,
    )
    services.record_edited(record=loan, by=team["preparer"], changed_fields=["loan_use"])
    loan.refresh_from_db()
    assert services.four_eyes_refusal(loan, team["admin"]) is None
    assert services.four_eyes_refusal(loan, team["preparer"])
