"""A big bulk approval runs as a job with a progress page (issues 13 and 14): the same rules as
the request's (role read when it runs, partner scoping, four eyes), each record's own audit
entries and submission, per-row results, and a page only its asker sees."""

import re

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from kivaportal.common.messages import message
from kivaportal.partners.models import Membership
from kivaportal.partners.roles import Role
from kivaportal.pipeline.models import Submission
from kivaportal.review import bulk_jobs
from kivaportal.review.models import BulkApproval, BulkApprovalRow, BulkApprovalStatus
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from tests.factories import LoanFactory, member


@pytest.fixture(autouse=True)
def _small(monkeypatch):
    # Small numbers, the same paths: more than 2 records is a job, approved 2 per batch.
    monkeypatch.setattr(bulk_jobs, "INLINE_MAX", 2)
    monkeypatch.setattr(bulk_jobs, "BATCH", 2)


def run_after_commit(capture, action):
    """`action()`, then what it left for after its commit (the job), as the commit would:
    what those leave in turn (the sends to Kiva) is not run."""
    with capture() as queued:
        done = action()
    for callback in queued:
        callback()
    return done


def start(capture, records, by):
    ids = [record.pk for record in records]
    return run_after_commit(
        capture,
        lambda: bulk_jobs.bulk_approval_start(model=type(records[0]), ids=ids, by=by),
    )


def admin_approve(client, user, records, capture):
    client.force_login(user)
    return run_after_commit(
        capture,
        lambda: client.post(
            reverse("admin:lending_loan_changelist"),
            {"action": "approve_selected", "_selected_action": [r.pk for r in records]},
        ),
    )


def text(response):
    """The page's words, without its tags."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_the_admin_action_runs_a_job_whose_page_lists_each_record(
    client, make_loan, partner, partner_admin, django_capture_on_commit_callbacks
):
    own = make_loan(state=S.SUBMITTED, by=partner_admin, mis_loan_id="OWN")
    warned = make_loan(state=S.SUBMITTED, mis_loan_id="WARNED", description="")
    clean = [make_loan(state=S.SUBMITTED, mis_loan_id=f"CLEAN-{n}") for n in range(2)]
    draft = make_loan(state=S.DRAFT, mis_loan_id="DRAFT")

    response = admin_approve(
        client, partner_admin, [own, warned, *clean, draft], django_capture_on_commit_callbacks
    )

    job = BulkApproval.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("review:bulk_approval", args=[job.pk])
    assert (job.status, job.total, job.done, job.approved, job.refused) == (
        BulkApprovalStatus.DONE,
        5,
        5,
        3,
        2,
    )
    for loan in (warned, *clean):
        loan.refresh_from_db()
        assert loan.state == S.QUEUED
        assert AuditEntry.objects.filter(
            object_id=loan.pk, action=AuditAction.APPROVED, actor=partner_admin
        ).exists()
        assert Submission.objects.filter(object_id=loan.pk).count() == 1
    for loan in (own, draft):
        state = loan.state
        loan.refresh_from_db()
        assert loan.state == state
        assert not Submission.objects.filter(object_id=loan.pk).exists()

    shown = client.get(response.url)
    page = text(shown)
    assert "5 of 5 records done: 3 approved, 2 refused" in page
    assert "Four eyes: you created" in page
    assert "Approved, with 1 warning" in page
    assert reverse("review:record", args=[partner.pk, "loans", warned.pk]) in shown.content.decode()
    # Refused first, then the approved one with warnings, then the rest.
    assert page.index("OWN") < page.index("WARNED") < page.index("CLEAN-0")
    assert "data-job-progress" not in shown.content.decode()  # finished: nothing to poll


def test_a_small_selection_is_approved_in_the_request(
    client, make_loan, partner_admin, django_capture_on_commit_callbacks
):
    loans = [make_loan(state=S.SUBMITTED) for _ in range(2)]
    response = admin_approve(client, partner_admin, loans, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and "bulk-approvals" not in response.url
    assert not BulkApproval.objects.exists()
    loans[0].refresh_from_db()
    assert loans[0].state == S.QUEUED


def test_the_job_reads_the_role_and_the_partners_when_it_runs(
    make_loan, partner, other_partner, reviewer, django_capture_on_commit_callbacks
):
    """Asked as a reviewer, run after the membership became a preparer's: nothing approved.
    Another partner's ids slipped into the selection are never approved either."""
    loans = [make_loan(state=S.SUBMITTED) for _ in range(3)]
    theirs = LoanFactory(partner=other_partner, state=S.SUBMITTED)
    with django_capture_on_commit_callbacks() as queued:
        job = bulk_jobs.bulk_approval_start(
            model=type(loans[0]), ids=[*[x.pk for x in loans], theirs.pk], by=reviewer
        )
    Membership.objects.filter(user=reviewer, partner=partner).update(role=Role.PREPARER)
    for callback in queued:
        callback()

    job.refresh_from_db()
    assert (job.status, job.approved, job.refused) == (BulkApprovalStatus.DONE, 0, 4)
    reasons = dict(BulkApprovalRow.objects.filter(job=job).values_list("object_id", "reason"))
    assert all("does not allow" in reasons[loan.pk] for loan in loans)
    assert "Not found among your partners' records" in reasons[theirs.pk]
    for loan in [*loans, theirs]:
        loan.refresh_from_db()
        assert loan.state == S.SUBMITTED
    assert not Submission.objects.exists()


def test_only_the_asker_sees_the_job(
    client, make_loan, partner, reviewer, django_capture_on_commit_callbacks
):
    loans = [make_loan(state=S.SUBMITTED) for _ in range(3)]
    job = start(django_capture_on_commit_callbacks, loans, reviewer)
    colleague = member(partner, Role.REVIEWER, username="colega")
    client.force_login(colleague)
    assert client.get(reverse("review:bulk_approval", args=[job.pk])).status_code == 404
    assert client.get(reverse("review:bulk_approval_progress", args=[job.pk])).status_code == 404
    client.force_login(reviewer)
    progress = client.get(reverse("review:bulk_approval_progress", args=[job.pk])).json()
    assert progress | {"status_label": ""} == {
        "status": "done",
        "status_label": "",
        "running": False,
        "stalled": False,
        "total": 3,
        "done": 3,
        "approved": 3,
        "refused": 0,
        "percent": 100,
    }


def test_a_user_without_the_role_anywhere_starts_no_job(
    client, make_loan, preparer, django_capture_on_commit_callbacks
):
    loans = [make_loan(state=S.SUBMITTED) for _ in range(3)]
    response = admin_approve(client, preparer, loans, django_capture_on_commit_callbacks)
    assert not BulkApproval.objects.exists()
    assert response.status_code in (302, 200)
    for loan in loans:
        loan.refresh_from_db()
        assert loan.state == S.SUBMITTED


def test_a_running_job_shows_its_progress_and_polls(
    client, make_loan, reviewer, django_capture_on_commit_callbacks
):
    loans = [make_loan(state=S.SUBMITTED) for _ in range(5)]
    with django_capture_on_commit_callbacks():  # not run: as if the worker had not taken it
        job = bulk_jobs.bulk_approval_start(
            model=type(loans[0]), ids=[x.pk for x in loans], by=reviewer
        )
    client.force_login(reviewer)
    response = client.get(reverse("review:bulk_approval", args=[job.pk]))
    assert "Waiting to start" in text(response) and "0 of 5 records done" in text(response)
    assert reverse("review:bulk_approval_progress", args=[job.pk]) in response.content.decode()

    # No progress for longer than STALLED_AFTER: the page says it stopped, and stops polling.
    BulkApproval.objects.filter(pk=job.pk).update(
        updated_at=job.updated_at - bulk_jobs.STALLED_AFTER * 2
    )
    response = client.get(reverse("review:bulk_approval", args=[job.pk]))
    assert "the job stopped" in text(response)
    assert "data-job-progress" not in response.content.decode()


def test_a_failing_batch_undoes_itself_alone_and_the_job_says_so(
    make_loan, reviewer, monkeypatch, django_capture_on_commit_callbacks
):
    loans = [make_loan(state=S.SUBMITTED) for _ in range(4)]
    real = bulk_jobs.records_bulk_approve
    calls = []

    def second_fails(**kwargs):
        calls.append(1)
        result = real(**kwargs)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return result

    monkeypatch.setattr(bulk_jobs, "records_bulk_approve", second_fails)
    job = start(django_capture_on_commit_callbacks, loans, reviewer)
    job.refresh_from_db()
    assert (job.status, job.done, job.approved) == (BulkApprovalStatus.FAILED, 2, 2)
    assert job.failure
    states = {}
    for loan in loans:
        loan.refresh_from_db()
        states[loan.pk] = loan.state
    assert sorted(states.values()) == [S.QUEUED, S.QUEUED, S.SUBMITTED, S.SUBMITTED]
    assert BulkApprovalRow.objects.filter(job=job).count() == 2
    assert Submission.objects.count() == 2


def test_a_job_runs_once(make_loan, reviewer, django_capture_on_commit_callbacks):
    loans = [make_loan(state=S.SUBMITTED) for _ in range(3)]
    job = start(django_capture_on_commit_callbacks, loans, reviewer)
    with transaction.atomic():
        bulk_jobs.bulk_approval_run(job_id=job.pk)  # delivered again: nothing happens
    assert BulkApprovalRow.objects.filter(job=job).count() == 3
    job.refresh_from_db()
    assert job.done == 3


def test_the_job_writes_in_the_language_it_was_asked_in(
    make_loan, reviewer, django_capture_on_commit_callbacks
):
    own = make_loan(state=S.SUBMITTED, by=reviewer)
    fine = [make_loan(state=S.SUBMITTED) for _ in range(2)]
    ids = [own.pk, *[loan.pk for loan in fine]]
    with translation.override("es"), django_capture_on_commit_callbacks() as queued:
        job = bulk_jobs.bulk_approval_start(model=type(own), ids=ids, by=reviewer)
    assert job.language == "es"
    for callback in queued:  # the worker runs it in its own language (English here)
        callback()
    refused = BulkApprovalRow.objects.get(job=job, object_id=own.pk)
    assert refused.reason.startswith("Cuatro ojos: usted creó")
    approved = AuditEntry.objects.get(object_id=fine[0].pk, action=AuditAction.APPROVED)
    # The portal's comment is read in each reader's language (docs/architecture.md, "Stored
    # messages"), whatever language the job ran in.
    assert approved.comment_message == message("Approved in bulk.")
    with translation.override("es"):
        assert approved.comment_text == "Aprobado en bloque."
    with translation.override("fr"):
        assert approved.comment_text != "Aprobado en bloque."
