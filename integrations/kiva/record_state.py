"""A record's state follows its submissions (a repayment report has one per chunk)."""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from integrations.kiva.models import Submission
from integrations.kiva.models import SubmissionState as St
from kivaportal.review.services import record_follow_pipeline_locked
from kivaportal.review.states import RecordState as S


def state_of(states: list[str]) -> str:
    """The record's state for its submissions' states, the most urgent first."""
    if St.NEEDS_ATTENTION in states:
        return S.NEEDS_ATTENTION
    if St.REJECTED in states:
        return S.REJECTED
    if St.FAILED in states:
        return S.FAILED
    if all(s == St.CANCELLED for s in states):
        return S.DRAFT
    if all(s in (St.SENT, St.CANCELLED) for s in states):
        return S.SENT
    if St.SENDING in states:
        return S.SENDING
    return S.QUEUED


# No savepoint: inside a caller's transaction (the outcome written with it) a failure here
# fails that whole transaction, as it should.
@transaction.atomic(savepoint=False)
def record_follow_submissions(*, record, by=None):
    """Bring the record's state up to date with its submissions'.

    The record is locked *before* the submissions are read: two workers finishing chunks of
    one report at once each see the other's outcome once it is committed. Read first, then
    lock, and the second would decide from a state read before the first committed, leaving
    the report "sending" with every chunk sent.
    """
    return _follow(type(record), record.pk, by)


@transaction.atomic(savepoint=False)
def record_follow_submission(submission, by=None):
    """`record_follow_submissions` for the record of `submission`, read once, under its lock."""
    model = ContentType.objects.get_for_id(submission.content_type_id).model_class()
    return _follow(model, submission.object_id, by)


def _follow(model, pk, by):
    record = model.objects.select_for_update().get(pk=pk)
    rows = list(
        Submission.objects.filter(
            content_type=ContentType.objects.get_for_model(model),
            object_id=pk,
            record_version=record.version,
        ).values_list("state", "kiva_reference")
    )
    if not rows:
        return record
    target = state_of([state for state, _reference in rows])
    if record.state == target:
        return record
    sent = [reference for state, reference in rows if state == St.SENT]
    data = {"chunks": len(rows), "sent": len(sent)}
    if len(rows) == 1 and sent:
        data["kiva_reference"] = sent[0]
    return record_follow_pipeline_locked(record=record, target=target, by=by, data=data)
