"""A record's state follows its submissions (a repayment report has one per chunk)."""

from django.contrib.contenttypes.models import ContentType

from integrations.kiva.models import Submission
from integrations.kiva.models import SubmissionState as St
from kivaportal.review.services import record_follow_pipeline
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


def record_follow_submissions(*, record, by=None):
    submissions = Submission.objects.filter(
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        record_version=record.version,
    )
    states = list(submissions.values_list("state", flat=True))
    if not states:
        return record
    sent = submissions.filter(state=St.SENT).values_list("chunk", "kiva_reference")
    data = {"chunks": len(states), "sent": len(sent)}
    if len(states) == 1 and sent:
        data["kiva_reference"] = sent[0][1]
    return record_follow_pipeline(record=record, target=state_of(states), by=by, data=data)
