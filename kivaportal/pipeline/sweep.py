"""The sweeper (a periodic task): puts on the queue what is due and not on it (a missed
enqueue, a broker outage, a retry whose time has come), and settles submissions whose worker
died mid-send (docs/pipeline.md, section 4)."""

from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from integrations.kiva.client import KivaClient
from integrations.kiva.selectors import partner_connection
from kivaportal.common.messages import message
from kivaportal.pipeline.claims import submission_claim_held, submission_outcome_write
from kivaportal.pipeline.models import DUE_STATES, Attempt, ClaimResult, Submission, SubmissionState
from kivaportal.pipeline.queue import submissions_enqueue
from kivaportal.pipeline.sending import submission_outcome_unknown
from kivaportal.pipeline.timing import timing


def submissions_sweep() -> dict:
    schedule = timing()
    now = timezone.now()
    stale_before = now - timedelta(seconds=schedule.stale_after)
    stale = list(
        Submission.objects.filter(state=SubmissionState.SENDING, claimed_at__lt=stale_before)
    )
    for submission in stale:
        submission_settle_stale(submission=submission)
    now = timezone.now()  # the settled ones are due from now
    requeue_before = now - timedelta(seconds=schedule.requeue_after)
    due = list(
        Submission.objects.filter(state__in=DUE_STATES)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(
            Q(enqueued_at__isnull=True)
            | Q(enqueued_at__lt=requeue_before)
            | Q(enqueued_at__lt=F("next_attempt_at"))
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[: schedule.sweep_batch]
    )
    submissions_enqueue(submission_ids=due)
    return {"enqueued": len(due), "stale": len(stale)}


def submission_settle_stale(*, submission):
    """A worker claimed this and died (its time limit is far behind). Without an attempt of
    that claim nothing was sent: it is due again. With one, the outcome is unknown."""
    with transaction.atomic():
        # Under the lock a worker takes to write its attempt: either that attempt is here
        # (its request may be out) or the worker will find its claim gone and send nothing.
        if not submission_claim_held(submission):
            return ClaimResult.LOST_CLAIM
        started = Attempt.objects.filter(
            submission=submission, started_at__gte=submission.claimed_at
        ).exists()
        if not started:
            return submission_outcome_write(
                submission,
                state=SubmissionState.RETRYING,
                next_attempt_at=timezone.now(),
                error=message(gettext_noop("The worker stopped before sending; sending again.")),
            )
    connection = partner_connection(submission.partner_id)
    client = KivaClient(connection) if connection else None
    return submission_outcome_unknown(
        submission=submission,
        reason=message(gettext_noop("the worker stopped while sending")),
        client=client,
    )
