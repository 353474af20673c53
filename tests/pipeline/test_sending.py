"""Approved records reach Kiva once, with the result on the submission and the record."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from integrations.kiva.sandbox.models import SandboxLoan, SandboxRequest, SandboxUpload
from kivaportal.pipeline import claims, queue, sending, sweep
from kivaportal.pipeline import services as outbox
from kivaportal.pipeline.models import Attempt, Submission, SubmissionKind
from kivaportal.pipeline.models import SubmissionState as St
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from tests.factories import RepaymentReportFactory


def only_submission(record):
    [submission] = Submission.objects.filter(
        object_id=record.pk, content_type__model=record._meta.model_name
    )
    return submission


def test_an_approved_loan_is_sent_once_and_shows_kivas_draft_uuid(setup):
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    draft = SandboxLoan.objects.get()
    assert (loan.state, submission.state) == (S.SENT, St.SENT)
    assert submission.kiva_reference == str(draft.uuid)
    assert setup.posts("loan_draft") == 1
    # What was frozen at approval is what Kiva received, byte for byte.
    received = SandboxRequest.objects.get(method="POST", path__endswith="loan_draft")
    assert received.body == submission.payload
    attempt = Attempt.objects.get(submission=submission)
    assert (attempt.http_status, attempt.outcome) == (200, "sent")
    actions = list(
        AuditEntry.objects.filter(object_id=loan.pk, content_type__model="loan")
        .order_by("id")
        .values_list("action", flat=True)
    )
    # The record follows its submission once per outcome: queued, then sent.
    assert actions == ["review.approved", "pipeline.queued", "pipeline.sent"]


def test_a_claimed_submission_cannot_be_claimed_again(setup):
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.loan())
    submission = only_submission(loan)
    submission.refresh_from_db()
    Submission.objects.filter(pk=submission.pk).update(state=St.PENDING, next_attempt_at=None)
    assert claims.submission_claim(submission_id=submission.pk, worker="a") is not None
    assert claims.submission_claim(submission_id=submission.pk, worker="b") is None


def test_a_sent_submission_is_never_sent_again(setup):
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    assert sending.submission_send(submission_id=submission.pk) == "not_claimed"
    queue.submissions_enqueue(submission_ids=[submission.pk])
    assert setup.posts("loan_draft") == 1


def test_a_refusal_for_a_transient_reason_is_retried_later(setup):
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    assert (loan.state, submission.state) == (S.QUEUED, St.RETRYING)
    assert submission.next_attempt_at > timezone.now()
    assert setup.drafts() == 0
    # Its time comes: the sweeper puts it back on the queue, and it goes.
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now())
    assert sweep.submissions_sweep()["enqueued"] == 1
    submission.refresh_from_db()
    loan.refresh_from_db()
    assert (loan.state, submission.state, setup.drafts()) == (S.SENT, St.SENT, 1)


def test_retry_after_is_a_floor_for_the_delay(setup):
    setup.faults(rate_limit_share=1.0, retry_after=120, faults_remaining=1)
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    assert submission.state == St.RETRYING
    assert submission.next_attempt_at >= timezone.now() + timedelta(seconds=110)


def test_too_many_transient_failures_end_in_failed(setup, settings):
    settings.KIVA_PIPELINE_TIMING = {"retry_steps": []}
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=5)
    loan = setup.approve(setup.first)
    assert (loan.state, only_submission(loan).state) == (S.FAILED, St.FAILED)
    outbox.submission_retry_now(submission=only_submission(loan), by=setup.reviewer)
    loan.refresh_from_db()
    assert loan.state == S.FAILED  # the sandbox still refuses: the one attempt allowed is used


def test_kivas_validation_error_rejects_the_loan_with_kivas_message(setup):
    setup.faults(genders="male")  # this sandbox partner accepts no "female"
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    assert (loan.state, submission.state) == (S.REJECTED, St.REJECTED)
    assert "gender" in submission.error
    assert setup.drafts() == 0


def test_a_lost_answer_is_resolved_by_get_loans(setup):
    setup.connection.read_timeout = 0.5
    setup.connection.save()
    setup.faults(hang_share=1.0, hang_seconds=1.5, faults_remaining=1)
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    assert (loan.state, submission.state) == (S.SENT, St.SENT)
    assert submission.kiva_reference == str(SandboxLoan.objects.get().uuid)
    assert "GET loans shows the draft" in submission.error
    assert setup.posts("loan_draft") == 1


def test_a_lost_answer_kiva_cannot_confirm_waits_for_a_person(setup):
    setup.connection.read_timeout = 0.5
    setup.connection.save()
    setup.faults(hang_share=1.0, hang_seconds=1.5, faults_remaining=1, list_drafts=False)
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    assert (loan.state, submission.state) == (S.NEEDS_ATTENTION, St.NEEDS_ATTENTION)
    # The sweeper never sends it again by itself.
    sweep.submissions_sweep()
    assert setup.posts("loan_draft") == 1
    uuid = str(SandboxLoan.objects.get().uuid)
    outbox.submission_resolve(
        submission=submission, by=setup.reviewer, decision="sent", kiva_reference=uuid
    )
    loan.refresh_from_db()
    submission.refresh_from_db()
    assert (loan.state, submission.kiva_reference) == (S.SENT, uuid)
    entry = AuditEntry.objects.get(action="pipeline.marked_sent")
    assert (entry.actor, entry.data["reference"]) == (setup.reviewer, uuid)


def test_a_person_marking_a_lost_draft_sent_records_it_on_the_loans_kiva_side(setup):
    """The draft's uuid from PA2 goes where a worker's "sent" puts it (reconciliation matches
    it first), as the bulk "mark found" does; text that is not a uuid is refused."""
    from kivaportal.lending.models import LoanAtKiva
    from kivaportal.workflow.errors import ReviewError

    setup.connection.read_timeout = 0.5
    setup.connection.save()
    setup.faults(hang_share=1.0, hang_seconds=1.5, faults_remaining=1, list_drafts=False)
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    assert submission.state == St.NEEDS_ATTENTION
    with pytest.raises(ReviewError, match="draft's uuid"):
        outbox.submission_resolve(
            submission=submission, by=setup.reviewer, decision="sent", kiva_reference="see PA2"
        )
    uuid = SandboxLoan.objects.get().uuid
    outbox.submission_resolve(
        submission=submission, by=setup.reviewer, decision="sent", kiva_reference=f" {uuid} "
    )
    at_kiva = LoanAtKiva.objects.get(loan=loan)
    assert (at_kiva.draft_uuid, at_kiva.environment) == (uuid, submission.environment)
    submission.refresh_from_db()
    assert (submission.state, submission.kiva_reference) == (St.SENT, str(uuid))


def test_a_repayment_report_goes_in_chunks_and_gathers_kivas_problems(setup):
    setup.connection.repayment_batch_size = 2
    setup.connection.save()
    loans = [setup.first] + [setup.loan(state=S.SENT) for _ in range(4)]
    for loan in loans:
        setup.repayment(loan)
    report = RepaymentReportFactory(
        partner=setup.partner, month=date(2026, 2, 1), state=S.SUBMITTED
    )
    report = setup.approve(report)
    chunks = Submission.objects.filter(kind=SubmissionKind.REPAYMENTS).order_by("chunk")
    assert [(c.chunk, c.chunks, c.state) for c in chunks] == [
        (1, 3, "sent"),
        (2, 3, "sent"),
        (3, 3, "sent"),
    ]
    assert report.state == S.SENT
    assert SandboxUpload.objects.count() == 3
    # The sandbox knows none of these loans as paying back: every line comes back a problem.
    assert sum(len(c.problems) for c in chunks) == 5


def test_a_journal_is_sent_and_its_confirm_link_kept(setup):
    setup.approve(setup.first)
    journal = setup.approve(setup.journal(setup.first))
    submission = only_submission(journal)
    assert journal.state == S.SENT
    assert submission.confirm_url.startswith("http")


def test_a_new_version_of_a_sent_loan_is_not_posted_again_without_a_person(setup):
    from kivaportal.review import services

    loan = setup.approve(setup.first)
    services.record_start_new_version(record=loan, by=setup.preparer)
    loan.refresh_from_db()
    services.record_submit(record=loan, by=setup.preparer)
    loan = setup.approve(loan)
    v2 = Submission.objects.get(object_id=loan.pk, record_version=2)
    assert (loan.state, v2.state) == (S.NEEDS_ATTENTION, St.NEEDS_ATTENTION)
    assert "already holds draft" in v2.error
    assert setup.posts("loan_draft") == 1


def test_a_worker_that_died_before_sending_leaves_it_to_be_sent_again(setup, settings):
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    # A worker claimed it, then died before writing its attempt (no request went out).
    settings.KIVA_PIPELINE_TIMING = {"stale_sending_after": 0}
    Submission.objects.filter(pk=submission.pk).update(state=St.SENDING, claimed_at=timezone.now())
    assert sweep.submissions_sweep()["stale"] == 1
    submission.refresh_from_db()
    loan.refresh_from_db()
    assert (submission.state, loan.state, setup.drafts()) == (St.SENT, S.SENT, 1)


def test_a_worker_that_died_while_sending_never_sends_twice(setup):
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    past = timezone.now() - timedelta(hours=1)
    Submission.objects.filter(pk=submission.pk).update(state=St.SENDING, claimed_at=past)
    Attempt.objects.create(
        submission=submission,
        number=9,
        endpoint="loan_draft",
        started_at=past + timedelta(seconds=1),
    )
    setup.faults(list_drafts=False)
    sweep.submissions_sweep()
    submission.refresh_from_db()
    assert submission.state == St.NEEDS_ATTENTION
    assert setup.posts("loan_draft") == 1  # only the refused first try


def test_cancel_puts_an_unsent_record_back_to_draft(setup):
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.first)
    outbox.submission_cancel(submission=only_submission(loan), by=setup.reviewer)
    loan.refresh_from_db()
    assert (loan.state, only_submission(loan).state) == (S.DRAFT, St.CANCELLED)


class CacheDown:
    """A cache backend whose server is unreachable (Redis stopped)."""

    def _down(self, *args, **kwargs):
        import redis

        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    get = set = delete = _down


def test_a_token_cache_that_is_down_does_not_stop_a_send(setup, monkeypatch):
    # Nothing was sent, so the submission must not end in "needs attention": the portal
    # fetches a token from Kiva instead of the cached one, and sends.
    monkeypatch.setattr("integrations.kiva.token_cache.caches", {"default": CacheDown()})
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    assert (loan.state, submission.state) == (S.SENT, St.SENT)
    assert setup.posts("loan_draft") == 1


def test_the_review_of_a_new_version_shows_what_changed_since_kiva_got_it(setup, client):
    from django.urls import reverse

    from kivaportal.review import services

    loan = setup.approve(setup.first)
    services.record_start_new_version(record=loan, by=setup.preparer)
    loan.refresh_from_db()
    loan.loan_use = "To buy a second sewing machine."
    loan.save()
    services.record_edited(record=loan, by=setup.preparer, changed_fields=["loan_use"])
    client.force_login(setup.reviewer)
    page = client.get(reverse("review:record", args=[setup.partner.pk, "loans", loan.pk]))
    version, changes = page.context["since_sent"]
    assert version == 1
    assert [(c.path, c.now) for c in changes] == [("loanuse", "To buy a second sewing machine.")]
    assert "Changed since version 1 was sent to Kiva" in page.content.decode()


def test_a_new_version_of_a_report_shows_the_lines_that_changed(setup):
    from kivaportal.pipeline.diff import changes_since_sent
    from kivaportal.review import services

    second = setup.loan(state=S.SENT)
    setup.repayment(setup.first, amount=330)
    report = RepaymentReportFactory(
        partner=setup.partner, month=date(2026, 2, 1), state=S.SUBMITTED
    )
    report = setup.approve(report)
    services.record_start_new_version(record=report, by=setup.preparer)
    report.refresh_from_db()
    setup.repayment(second, day=12, amount=100)
    version, changes = changes_since_sent(report)
    assert version == 1
    assert [(c.path, c.sent, c.now) for c in changes] == [(second.mis_loan_id, None, "100.00")]


def test_a_secret_that_cannot_be_decrypted_fails_the_send_before_anything_leaves(setup, settings):
    """A wrong PORTAL_ENCRYPTION_KEY: nothing reaches Kiva, so the outcome is not "unknown"
    (no one must check PA2); it failed, with the reason, and can be retried once fixed."""
    from cryptography.fernet import Fernet

    settings.PORTAL_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    assert (loan.state, submission.state) == (S.FAILED, St.FAILED)
    assert "secret cannot be read" in submission.error
    assert "PA2" not in submission.error
    attempt = Attempt.objects.get(submission=submission)
    assert (attempt.outcome, attempt.http_status) == ("not_sent", None)
    assert SandboxRequest.objects.count() == 0


def test_a_token_url_that_is_not_a_url_fails_the_send_before_anything_leaves(setup):
    setup.connection.token_url = "auth.example.org/oauth/token"  # no scheme
    setup.connection.save()
    loan = setup.approve(setup.first)
    submission = only_submission(loan)
    assert (loan.state, submission.state) == (S.FAILED, St.FAILED)
    assert "is not usable" in submission.error
    assert SandboxRequest.objects.count() == 0


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the lean statements are PostgreSQL's"
)
def test_one_send_of_a_loan_draft_takes_eight_statements(setup):
    """Claim and read it with its connection (one UPDATE ... RETURNING); write the attempt
    from the row locked and re-checked (one INSERT ... SELECT ... FOR UPDATE); then, in one
    transaction: finish the attempt, write the outcome, move the record (lock, update, audit),
    keep the draft's uuid on the loan's Kiva side. The record follows once per outcome.
    `make bench-push` prints the figure under load."""
    from django.test.utils import CaptureQueriesContext

    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.first)  # the first try is refused: retrying
    submission = only_submission(loan)
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now())
    with CaptureQueriesContext(connection) as captured:
        assert sending.submission_send(submission_id=submission.pk) == St.SENT
    statements = [q["sql"].split()[0] for q in captured.captured_queries]
    statements = [s for s in statements if s not in ("BEGIN", "COMMIT")]
    assert statements == [
        "WITH",  # the claim, returning the row and the connection
        "INSERT",  # the attempt, only while the claim holds
        "UPDATE",  # the attempt finished
        "UPDATE",  # the outcome, only while the claim holds
        "SELECT",  # the record locked
        "UPDATE",  # the record moved
        "INSERT",  # its audit entry
        "INSERT",  # the draft's uuid on the loan's Kiva side
    ], statements
