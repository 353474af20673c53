"""The rules the pipeline decides by: a record's state from its submissions', the retry delay,
and the claim (who may send, when)."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from kivaportal.pipeline import claims, sending, sweep
from kivaportal.pipeline.follow import state_of
from kivaportal.pipeline.models import Submission
from kivaportal.pipeline.models import SubmissionState as St
from kivaportal.workflow.states import RecordState as S


@pytest.mark.parametrize(
    ("states", "record"),
    [
        ([St.PENDING], S.QUEUED),
        ([St.RETRYING], S.QUEUED),
        ([St.SENDING], S.SENDING),
        ([St.SENT], S.SENT),
        ([St.REJECTED], S.REJECTED),
        ([St.FAILED], S.FAILED),
        ([St.NEEDS_ATTENTION], S.NEEDS_ATTENTION),
        ([St.CANCELLED], S.DRAFT),
        # A report's chunks: the most urgent state wins, sent only when all are.
        ([St.SENT, St.CANCELLED], S.SENT),
        ([St.SENT, St.PENDING], S.QUEUED),
        ([St.SENT, St.RETRYING, St.SENDING], S.SENDING),
        ([St.SENT, St.REJECTED, St.NEEDS_ATTENTION], S.NEEDS_ATTENTION),
        ([St.REJECTED, St.FAILED, St.SENT], S.REJECTED),
        ([St.FAILED, St.SENDING], S.FAILED),
    ],
)
def test_a_records_state_follows_its_submissions(states, record):
    assert state_of(states) == record


@pytest.fixture
def delays(settings):
    settings.KIVA_PIPELINE_TIMING = {}  # the schedule in kivaportal/pipeline/timing.py
    random.seed(5)


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 5, 10), (2, 10, 20), (4, 40, 80), (7, 320, 640), (12, 320, 640), (60, 320, 640)],
)
def test_the_retry_delay_follows_the_schedule_with_jitter_up_to_its_last_step(
    delays, attempts, low, high
):
    seen = [sending.retry_delay(attempts) for _ in range(200)]
    assert all(low <= d <= high for d in seen)
    assert max(seen) - min(seen) > (high - low) / 2  # jitter, not a fixed step


def test_retry_after_is_a_floor_not_a_cap(delays):
    assert sending.retry_delay(1, retry_after=120) == 120
    assert 5 <= sending.retry_delay(1, retry_after=0.5) <= 10


def test_only_a_due_unfinished_submission_can_be_claimed(setup):
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.first)
    submission = Submission.objects.get(object_id=loan.pk)
    assert submission.state == St.RETRYING
    # Not due yet: waiting for its retry time.
    assert not claims.submission_claim(submission_id=submission.pk, worker="w")
    Submission.objects.filter(pk=submission.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert claims.submission_claim(submission_id=submission.pk, worker="w")
    submission.refresh_from_db()
    assert (submission.state, submission.attempts, submission.claimed_by) == (St.SENDING, 2, "w")
    for state in (St.SENDING, St.SENT, St.REJECTED, St.FAILED, St.NEEDS_ATTENTION, St.CANCELLED):
        Submission.objects.filter(pk=submission.pk).update(state=state, next_attempt_at=None)
        assert not claims.submission_claim(submission_id=submission.pk, worker="w2"), state


def test_a_worker_whose_claim_was_settled_as_stale_sends_nothing(setup, settings, monkeypatch):
    """A worker stalls between its claim and its request (longer than the sweeper waits for a
    stale claim); the sweeper, finding no attempt, makes the submission due again. The worker
    must then not send: the submission will go once, from its next claim."""
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.first)
    submission = Submission.objects.get(object_id=loan.pk)
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now())
    settings.KIVA_PIPELINE_TIMING = {"stale_sending_after": 0}
    start = sending.submission_attempt_start
    stalled = []

    def stall_then_start(claimed, **kwargs):
        if not stalled:  # the worker stalls before its attempt: the sweeper runs now
            stalled.append(claimed.pk)
            sweep.submission_settle_stale(submission=Submission.objects.get(pk=claimed.pk))
        return start(claimed, **kwargs)

    monkeypatch.setattr(sending, "submission_attempt_start", stall_then_start)
    assert sending.submission_send(submission_id=submission.pk) == "lost_claim"
    submission.refresh_from_db()
    assert submission.state == St.RETRYING
    assert setup.posts("loan_draft") == 1  # only the refused first try
    assert sending.submission_send(submission_id=submission.pk) == St.SENT
    assert setup.posts("loan_draft") == 2
    assert setup.drafts() == 1
