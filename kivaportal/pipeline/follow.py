"""A record's state follows its submissions' (a repayment report has one per chunk): the
pipeline's only way to move a record (docs/pipeline.md, section 5)."""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from kivaportal.common.rows import row_lock
from kivaportal.pipeline.models import Submission, SubmissionState
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.states import RecordState
from kivaportal.workflow.transitions import record_transition

# The record's state for a submission outcome: the transition of `Reviewable` that gets it
# there, and the audit action that records it.
MOVES = {
    RecordState.QUEUED: ("queue", AuditAction.QUEUED),
    RecordState.SENDING: ("start_sending", AuditAction.SENDING),
    RecordState.SENT: ("mark_sent", AuditAction.SENT),
    RecordState.REJECTED: ("mark_rejected", AuditAction.REJECTED),
    RecordState.NEEDS_ATTENTION: ("mark_needs_attention", AuditAction.NEEDS_ATTENTION),
    RecordState.FAILED: ("mark_failed", AuditAction.FAILED),
    RecordState.DRAFT: ("cancel_sending", AuditAction.SENDING_CANCELLED),
}


def state_of(states: list[str]) -> str:
    """The record's state for its submissions' states, the most urgent first."""
    if SubmissionState.NEEDS_ATTENTION in states:
        return RecordState.NEEDS_ATTENTION
    if SubmissionState.REJECTED in states:
        return RecordState.REJECTED
    if SubmissionState.FAILED in states:
        return RecordState.FAILED
    if all(s == SubmissionState.CANCELLED for s in states):
        return RecordState.DRAFT
    if all(s in (SubmissionState.SENT, SubmissionState.CANCELLED) for s in states):
        return RecordState.SENT
    if SubmissionState.SENDING in states:
        return RecordState.SENDING
    return RecordState.QUEUED


# No savepoint: inside a caller's transaction (the outcome written with it) a failure here
# fails that whole transaction, as it should.
@transaction.atomic(savepoint=False)
def record_follow_submissions(*, record, by=None):
    """Bring the record's state up to date with its submissions'. `by` is None when the
    portal itself acted.

    The record is locked *before* the submissions are read: two workers finishing chunks of
    one report at once each see the other's outcome once it is committed. Read first, then
    lock, and the second would decide from a state read before the first committed, leaving
    the report "sending" with every chunk sent.
    """
    return _follow(type(record), record.pk, by)


@transaction.atomic(savepoint=False)
def record_follow_submission(submission, by=None):
    """`record_follow_submissions` for the record of `submission`, read once, under its lock,
    with only its workflow fields (the submission names it). A record sent in one call has no
    other submission of its version to read."""
    model = ContentType.objects.get_for_id(submission.content_type_id).model_class()
    return _follow(model, submission.object_id, by, submission=submission)


# What following a submission reads of its record: the workflow's fields.
FOLLOW_FIELDS = ("id", "partner_id", "state", "version")


def _follow(model, pk, by, submission=None):
    if submission is None:
        record = model.objects.select_for_update().get(pk=pk)
    else:
        record = row_lock(model, pk, FOLLOW_FIELDS)
    current = submission is not None and submission.record_version == record.version
    # The record's name as approved; a newer version's is read from the record itself.
    label = submission.record_label if current else None
    if current and submission.chunks == 1:
        rows = [(submission.state, submission.kiva_reference)]
    else:
        rows = list(
            Submission.objects.filter(
                content_type=ContentType.objects.get_for_model(model),
                object_id=pk,
                record_version=record.version,
            ).values_list("state", "kiva_reference")
        )
    move = follow_move(record.state, rows)
    if move is None:
        return record
    method, action, data = move
    return record_transition(record, method, by=by, action=action, data=data, label=label)


def follow_move(record_state, rows):
    """The move that brings a record in `record_state` up to date with its current version's
    submissions, given as (state, kiva_reference) rows: (transition, audit action, audit
    data), or None when it is up to date (or has none)."""
    if not rows:
        return None
    target = state_of([state for state, _reference in rows])
    if record_state == target:
        return None
    sent = [reference for state, reference in rows if state == SubmissionState.SENT]
    data = {"chunks": len(rows), "sent": len(sent)}
    if len(rows) == 1 and sent:
        data["kiva_reference"] = sent[0]
    method, action = MOVES[target]
    return method, action, data
