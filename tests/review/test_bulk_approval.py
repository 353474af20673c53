"""Bulk approval at batch speed (issue 14, item 3): each record under the single approval's
rules, with its own audit entries and submissions, in a number of statements that does not
grow with the selection."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kivaportal.partners.roles import Role
from kivaportal.pipeline.follow import record_follow_submissions
from kivaportal.pipeline.models import Submission, SubmissionState
from kivaportal.review import services
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import ReviewError
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from kivaportal.workflow.transitions import record_data_changed
from tests.factories import (
    JournalFactory,
    KivaConnectionFactory,
    LoanFactory,
    RepaymentReportFactory,
    member,
)


def single_refusal(record, by):
    """What `record_approve` answers for `record`, written nowhere (rolled back)."""
    try:
        with transaction.atomic():
            services.record_approve(record=record, by=by)
            transaction.set_rollback(True)
    except ReviewError as refusal:
        return refusal.message
    return None


def trail(record):
    return list(
        AuditEntry.objects.filter(object_id=record.pk)
        .order_by("id")
        .values_list("action", "from_state", "to_state", "actor__username", "comment")
    )


def test_each_record_gets_its_audit_entries_and_submission_as_approved_alone(make_loan, reviewer):
    loans = [make_loan(state=S.SUBMITTED) for _ in range(4)]
    result = services.records_bulk_approve(records=loans, by=reviewer)
    assert sorted(r.pk for r in result.approved) == sorted(r.pk for r in loans)
    assert result.refused == []
    for loan in loans:
        loan.refresh_from_db()
        assert loan.state == S.QUEUED
        assert trail(loan) == [
            ("review.approved", "submitted", "approved", "rev", "Approved in bulk."),
            ("pipeline.queued", "approved", "queued", "rev", ""),
        ]
        submission = Submission.objects.get(object_id=loan.pk)
        assert (submission.state, submission.record_version) == (SubmissionState.PENDING, 1)
        assert submission.created_by == reviewer
        assert loan.checked_at is not None and loan.check_errors == 0

    # The same bytes as the single approval freezes for an identical loan.
    alone = make_loan(state=S.SUBMITTED)
    services.record_approve(record=alone, by=reviewer)
    frozen = Submission.objects.get(object_id=alone.pk)
    batch = Submission.objects.get(object_id=loans[0].pk)
    assert frozen.endpoint == batch.endpoint and frozen.kind == batch.kind
    assert trail(alone)[-1][:3] == ("pipeline.queued", "approved", "queued")


def test_statements_do_not_grow_with_the_selection(make_loan, reviewer):
    def statements(n):
        loans = [make_loan(state=S.SUBMITTED) for _ in range(n)]
        with CaptureQueriesContext(connection) as captured:
            result = services.records_bulk_approve(records=loans, by=reviewer)
        assert len(result.approved) == n
        return len(captured.captured_queries)

    statements(1)  # warm: content types and the like are cached per process
    assert statements(3) == statements(12)


def test_journal_statements_do_not_grow_with_the_selection(partner, reviewer, preparer):
    """A journal's checks read what Kiva last said of its loan: loaded with the batch."""

    def statements(n):
        journals = [
            JournalFactory(
                loan=LoanFactory(partner=partner, state=S.SENT),
                partner=partner,
                state=S.SUBMITTED,
                created_by=preparer,
                updated_by=preparer,
            )
            for _ in range(n)
        ]
        with CaptureQueriesContext(connection) as captured:
            services.records_bulk_approve(records=journals, by=reviewer)
        return len(captured.captured_queries)

    statements(1)
    assert statements(3) == statements(12)


def test_the_same_refusals_as_single_approval(make_loan, partner, reviewer, preparer):
    """Own records, parts changed since the last approval, a state that moved on, blocking
    errors: refused with the single approval's message, and nothing written for them."""
    own = make_loan(state=S.SUBMITTED, by=reviewer)
    # The reviewer changed a part (as a borrower edit does), then the preparer submitted again.
    changed = make_loan(state=S.SUBMITTED)
    record_data_changed(record=changed, by=reviewer, reason="borrower_changed")
    services.record_submit(record=changed, by=preparer)
    # Changed by the reviewer *before* its last approval, corrected as a new version since:
    # four eyes does not count that change.
    earlier = make_loan(state=S.SUBMITTED)
    record_data_changed(record=earlier, by=reviewer, reason="borrower_changed")
    services.record_submit(record=earlier, by=preparer)
    services.record_approve(record=earlier, by=member(partner, Role.REVIEWER, username="otra"))
    # Kiva took its draft; Kiva has no update for drafts, so version 2 waits for a person.
    Submission.objects.filter(object_id=earlier.pk).update(
        state=SubmissionState.SENT, kiva_reference="0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
    )
    record_follow_submissions(record=earlier)
    earlier.refresh_from_db()
    services.record_start_new_version(record=earlier, by=preparer)
    services.record_submit(record=earlier, by=preparer)
    draft = make_loan(state=S.DRAFT)
    broken = make_loan(state=S.SUBMITTED, amount=Decimal("0.00"))
    fine = make_loan(state=S.SUBMITTED)
    selection = [own, changed, earlier, draft, broken, fine]
    expected = {record.pk: single_refusal(record, reviewer) for record in selection}
    assert expected[fine.pk] is None and expected[earlier.pk] is None
    assert "you created" in expected[own.pk]
    assert "you changed" in expected[changed.pk]
    before = {r.pk: len(trail(r)) for r in selection}

    result = services.records_bulk_approve(records=selection, by=reviewer)

    assert {r.pk for r in result.approved} == {fine.pk, earlier.pk}
    assert {r.pk: why for r, why in result.refused} == {
        pk: why for pk, why in expected.items() if why is not None
    }
    for record in (own, changed, draft, broken):
        state = record.state
        record.refresh_from_db()
        assert record.state == state
        assert len(trail(record)) == before[record.pk]
        assert not Submission.objects.filter(object_id=record.pk).exists()
    earlier.refresh_from_db()
    assert (earlier.state, earlier.version) == (S.NEEDS_ATTENTION, 2)
    waiting = Submission.objects.get(object_id=earlier.pk, record_version=2)
    assert waiting.state == SubmissionState.NEEDS_ATTENTION
    assert "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9" in waiting.error


def test_a_partner_without_a_connection_or_a_role_is_refused_record_by_record(
    make_loan, partner, other_partner, reviewer
):
    elsewhere = LoanFactory(partner=other_partner, state=S.SUBMITTED)
    fine = make_loan(state=S.SUBMITTED)
    result = services.records_bulk_approve(records=[elsewhere, fine], by=reviewer)
    assert [r.pk for r in result.approved] == [fine.pk]
    assert [(r.pk, single_refusal(elsewhere, reviewer)) for r, _why in result.refused] == [
        (elsewhere.pk, result.refused[0][1])
    ]
    elsewhere.refresh_from_db()
    assert elsewhere.state == S.SUBMITTED

    # Its own reviewer may, once the partner is connected to Kiva.
    theirs = member(other_partner, Role.REVIEWER, username="suya")
    result = services.records_bulk_approve(records=[elsewhere], by=theirs)
    assert "no active Kiva connection" in result.refused[0][1]
    KivaConnectionFactory(partner=other_partner)
    result = services.records_bulk_approve(records=[elsewhere], by=theirs)
    assert [r.pk for r in result.approved] == [elsewhere.pk]


@pytest.mark.parametrize("acting", ["reviewer", "outsider"])
def test_another_partners_ids_forged_in_the_post_are_not_approved(
    client, make_loan, partner, other_partner, reviewer, outsider, acting
):
    KivaConnectionFactory(partner=other_partner)
    theirs = LoanFactory(partner=other_partner, state=S.SUBMITTED)
    ours = make_loan(state=S.SUBMITTED)
    user = reviewer if acting == "reviewer" else outsider
    client.force_login(user)
    client.post(
        reverse("review:bulk_approve", args=[partner.pk, "loans"]),
        {"ids": [theirs.pk, ours.pk], "acknowledge_warnings": "1"},
    )
    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert theirs.state == S.SUBMITTED
    assert not AuditEntry.objects.filter(object_id=theirs.pk, action=AuditAction.APPROVED)
    assert not Submission.objects.filter(object_id=theirs.pk).exists()
    # The reviewer's own partner's loan is approved; the outsider approves nothing here.
    assert ours.state == (S.QUEUED if acting == "reviewer" else S.SUBMITTED)


def test_the_admin_action_approves_in_bulk_with_the_same_refusals(
    client, make_loan, partner, partner_admin
):
    own = make_loan(state=S.SUBMITTED, by=partner_admin)
    others = [make_loan(state=S.SUBMITTED) for _ in range(3)]
    client.force_login(partner_admin)
    response = client.post(
        reverse("admin:lending_loan_changelist"),
        {"action": "approve_selected", "_selected_action": [own.pk, *[o.pk for o in others]]},
        follow=True,
    )
    page = response.content.decode()
    assert "you created" in page and "3 approved." in page
    own.refresh_from_db()
    assert own.state == S.SUBMITTED
    for other in others:
        other.refresh_from_db()
        assert other.state == S.QUEUED


def test_journals_and_reports_get_the_single_approvals_answer(partner, reviewer, preparer):
    """Each kind in one selection: approved where `record_approve` would approve it, refused
    with its message where it would not."""
    mine = {"partner": partner, "state": S.SUBMITTED, "created_by": preparer}
    journals = [
        JournalFactory(loan=LoanFactory(partner=partner, state=S.SENT), **mine, updated_by=preparer)
        for _ in range(2)
    ]
    report = RepaymentReportFactory(**mine, updated_by=preparer)
    selection = [*journals, report]
    expected = {(type(r), r.pk): single_refusal(r, reviewer) for r in selection}

    result = services.records_bulk_approve(records=selection, by=reviewer)

    answers = {(type(r), r.pk): None for r in result.approved}
    answers |= {(type(r), r.pk): why for r, why in result.refused}
    assert answers == expected
    for record in result.approved:
        assert Submission.objects.filter(object_id=record.pk, record_version=1).exists()
        record.refresh_from_db()
        assert record.state == S.QUEUED
