"""A worker's hold on a submission: taking it, checking it still holds it, and writing an
outcome only while it does (docs/pipeline.md, section 2)."""

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from kivaportal.pipeline.follow import record_follow_submission
from kivaportal.pipeline.models import DUE_STATES, ClaimResult, Submission, SubmissionState
from kivaportal.pipeline.resend import report_chunk_taken


def submission_claim(*, submission_id, worker) -> bool:
    """Atomically take a due submission for sending; False if another worker has it, it is
    not due, or it is finished."""
    now = timezone.now()
    claimed = Submission.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=submission_id,
        state__in=DUE_STATES,
    ).update(
        state=SubmissionState.SENDING,
        claimed_at=now,
        claimed_by=worker[:120],
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    return claimed == 1


def submission_claim_held(submission) -> bool:
    """Lock the submission's row (inside a transaction) if it is still as this claim left it."""
    return (
        Submission.objects.select_for_update()
        .filter(pk=submission.pk, state=SubmissionState.SENDING, claimed_at=submission.claimed_at)
        .exists()
    )


def submission_outcome_write(submission, **fields):
    """Write an outcome, only if the submission is still the one this worker claimed, and
    move its record to follow, in one transaction. Returns the new state, or LOST_CLAIM."""
    fields["updated_at"] = timezone.now()
    with transaction.atomic():
        changed = Submission.objects.filter(
            pk=submission.pk, state=SubmissionState.SENDING, claimed_at=submission.claimed_at
        ).update(**fields)
        if changed:
            for name, value in fields.items():
                setattr(submission, name, value)
            if submission.state == SubmissionState.SENT:
                report_chunk_taken(submission)
            record_follow_submission(submission)
    return submission.state if changed else ClaimResult.LOST_CLAIM
