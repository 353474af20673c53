"""Every transition, every illegal move, the role guards and the audit entries they write."""

from datetime import date

import pytest
from django.urls import reverse
from django_fsm import TransitionNotAllowed

from kivaportal.review import services
from kivaportal.workflow.errors import (
    BlockingErrors,
    FourEyesViolation,
    IllegalTransition,
    NotAllowed,
    ReviewError,
)
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from tests.factories import JournalFactory, RepaymentFactory, RepaymentReportFactory


def actions_of(record):
    return list(
        AuditEntry.objects.filter(object_id=record.pk)
        .order_by("id")
        .values_list("action", "from_state", "to_state", "actor__username")
    )


def test_submit_moves_draft_to_submitted_and_audits_it(make_loan, preparer):
    loan = make_loan()
    loan = services.record_submit(record=loan, by=preparer)
    loan.refresh_from_db()
    assert loan.state == S.SUBMITTED
    assert loan.state_changed_at is not None
    assert actions_of(loan) == [("review.submitted", "draft", "submitted", "prep")]


def test_reviewer_approves_a_loan_prepared_by_someone_else(make_loan, reviewer):
    loan = make_loan(state=S.SUBMITTED)
    services.record_approve(record=loan, by=reviewer, comment="Looks right")
    loan.refresh_from_db()
    # Approved, and in the same transaction queued for Kiva (the outbox row is written).
    assert loan.state == S.QUEUED
    assert [a for a, *_ in actions_of(loan)] == ["review.approved", "pipeline.queued"]
    entry = AuditEntry.objects.get(object_id=loan.pk, action="review.approved")
    assert (entry.action, entry.actor, entry.comment) == (
        "review.approved",
        reviewer,
        "Looks right",
    )
    assert (entry.from_state, entry.to_state, entry.partner_id) == (
        "submitted",
        "approved",
        loan.partner_id,
    )


def test_reviewer_cannot_approve_own_loan(make_loan, partner_admin):
    loan = make_loan(state=S.SUBMITTED, by=partner_admin)
    with pytest.raises(FourEyesViolation, match="you created"):
        services.record_approve(record=loan, by=partner_admin)
    loan.refresh_from_db()
    assert loan.state == S.SUBMITTED
    assert not AuditEntry.objects.exists()


def test_last_editor_cannot_approve(make_loan, preparer, partner_admin):
    loan = make_loan(state=S.SUBMITTED)
    loan.updated_by = partner_admin
    loan.save()
    with pytest.raises(FourEyesViolation, match="you changed"):
        services.record_approve(record=loan, by=partner_admin)


def test_four_eyes_off_lets_the_preparer_approve(make_loan, partner, partner_admin):
    partner.four_eyes = False
    partner.save()
    loan = make_loan(state=S.SUBMITTED, by=partner_admin)
    services.record_approve(record=loan, by=partner_admin)
    loan.refresh_from_db()
    assert loan.state == S.QUEUED


def test_preparer_role_cannot_approve(make_loan, preparer, partner_admin):
    loan = make_loan(state=S.SUBMITTED, by=partner_admin)
    with pytest.raises(NotAllowed):
        services.record_approve(record=loan, by=preparer)


def test_reviewer_role_cannot_submit(make_loan, reviewer):
    with pytest.raises(NotAllowed):
        services.record_submit(record=make_loan(), by=reviewer)


def test_member_of_another_partner_cannot_act(make_loan, outsider):
    loan = make_loan(state=S.SUBMITTED)
    with pytest.raises(NotAllowed):
        services.record_approve(record=loan, by=outsider)


def test_blocking_errors_stop_submission_and_name_the_field(make_loan, preparer):
    loan = make_loan()
    loan.amount = loan.amount + 1  # the schedule and the shares no longer add up
    loan.save()
    with pytest.raises(BlockingErrors) as refused:
        services.record_submit(record=loan, by=preparer)
    assert {f.field for f in refused.value.findings} == {"schedule", "borrowers"}
    loan.refresh_from_db()
    assert loan.state == S.DRAFT


def test_request_changes_needs_a_comment_and_returns_it_to_its_preparer(make_loan, reviewer):
    loan = make_loan(state=S.SUBMITTED)
    with pytest.raises(ReviewError, match="comment is required"):
        services.record_request_changes(record=loan, by=reviewer, comment="  ")
    services.record_request_changes(record=loan, by=reviewer, comment="Photo is blurred")
    loan.refresh_from_db()
    assert loan.state == S.CHANGES_REQUESTED
    assert actions_of(loan) == [
        ("review.changes_requested", "submitted", "changes_requested", "rev")
    ]
    assert AuditEntry.objects.get().comment == "Photo is blurred"


@pytest.mark.parametrize(
    ("state", "service"),
    [
        (S.DRAFT, "record_approve"),
        (S.APPROVED, "record_approve"),
        (S.SENT, "record_submit"),
        (S.SUBMITTED, "record_submit"),
        (S.WITHDRAWN, "record_submit"),
        (S.SENT, "record_withdraw"),
        (S.DRAFT, "record_start_new_version"),
    ],
)
def test_illegal_moves_are_refused_with_a_clear_message(
    make_loan, partner_admin, reviewer, state, service
):
    loan = make_loan(state=state)
    with pytest.raises(IllegalTransition) as refused:
        getattr(services, service)(record=loan, by=partner_admin)
    assert "cannot be" in refused.value.message
    loan.refresh_from_db()
    assert loan.state == state
    assert not AuditEntry.objects.exists()


def test_the_state_machine_itself_refuses_moves_outside_the_table(make_loan):
    loan = make_loan(state=S.DRAFT)
    with pytest.raises(TransitionNotAllowed):
        loan.mark_sent()


def test_withdraw_from_draft(make_loan, preparer):
    loan = services.record_withdraw(record=make_loan(), by=preparer, comment="Duplicate")
    assert loan.state == S.WITHDRAWN


def test_editing_an_approved_loan_returns_it_to_draft(make_loan, preparer):
    loan = make_loan(state=S.APPROVED)
    services.record_edited(record=loan, by=preparer, changed_fields=["amount"])
    loan.refresh_from_db()
    assert (loan.state, loan.updated_by) == (S.DRAFT, preparer)
    assert actions_of(loan) == [("review.returned_to_draft", "approved", "draft", "prep")]


def test_editing_a_draft_is_audited_without_a_state_change(make_loan, preparer):
    loan = make_loan()
    services.record_edited(record=loan, by=preparer, changed_fields=["description"])
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.from_state, entry.to_state) == ("review.edited", "draft", "draft")
    assert entry.data == {"fields": ["description"]}


def test_a_sent_loan_is_read_only(make_loan, preparer):
    loan = make_loan(state=S.SENT)
    with pytest.raises(IllegalTransition, match="new version"):
        services.record_edited(record=loan, by=preparer)


def test_correcting_a_sent_loan_starts_a_new_version(make_loan, preparer):
    loan = make_loan(state=S.SENT)
    loan = services.record_start_new_version(record=loan, by=preparer, comment="Fix amount")
    loan.refresh_from_db()
    assert (loan.state, loan.version) == (S.DRAFT, 2)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.record_version) == ("review.new_version", 2)


def test_journals_and_reports_follow_the_same_workflow(partner, preparer, reviewer):
    journal = JournalFactory(loan__partner=partner, created_by=preparer)
    RepaymentFactory(loan=journal.loan, date=date(2026, 2, 10))
    report = RepaymentReportFactory(partner=partner, month=date(2026, 2, 1), created_by=preparer)
    for record in (journal, report):
        services.record_submit(record=record, by=preparer)
        services.record_approve(record=record, by=reviewer)
        record.refresh_from_db()
        assert record.state == S.QUEUED
    assert AuditEntry.objects.filter(action="review.approved").count() == 2


def test_bulk_approve_approves_each_record_on_its_own(make_loan, reviewer):
    good = [make_loan(state=S.SUBMITTED) for _ in range(3)]
    own = make_loan(state=S.SUBMITTED, by=reviewer)
    result = services.records_bulk_approve(records=[*good, own], by=reviewer)
    assert {r.pk for r in result.approved} == {r.pk for r in good}
    assert [(r.pk, "Four eyes" in why) for r, why in result.refused] == [(own.pk, True)]
    assert AuditEntry.objects.filter(action="review.approved").count() == 3


def test_audit_entries_cannot_be_changed_or_deleted(make_loan, preparer):
    loan = services.record_submit(record=make_loan(), by=preparer)
    entry = AuditEntry.objects.get(object_id=loan.pk)
    entry.comment = "rewritten"
    with pytest.raises(ValueError, match="cannot be changed"):
        entry.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        entry.delete()


def test_nobody_edits_or_deletes_audit_entries_in_the_admin(client, make_loan, preparer, superuser):
    loan = services.record_submit(record=make_loan(), by=preparer)
    entry = AuditEntry.objects.get(object_id=loan.pk)
    client.force_login(superuser)
    change = reverse("admin:workflow_auditentry_change", args=[entry.pk])
    assert 'name="_save"' not in client.get(change).content.decode()
    client.post(change, {"comment": "rewritten", "action": "approved"})
    delete = reverse("admin:workflow_auditentry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert (entry.action, entry.comment) == ("review.submitted", "")
