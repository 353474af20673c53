"""Review time, per record: from the moment the approving reviewer first opened the record's
review page in the round of review that ended in the approval (a round starts when the record
is submitted) to the approval. Stored on the record (`approved_at`, `review_seconds`) by the
approval; none when the approver never opened the page in that round (approved in bulk from
a queue). The dashboard's median and time saved read it (docs/architecture.md, "Review time").
"""

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from kivaportal.review.models import ReviewOpening
from kivaportal.workflow.states import RecordState


def review_round(record):
    """When the record's current round of review began (its last submission)."""
    return record.state_changed_at or record.created_at


def review_opened(*, record, by, at=None):
    """`by` opened the page of `record`, waiting for their review: note the first time only.
    `at`: when (default now). Only the demo gives it, an invented earlier time, so that its
    review times are not all zero (kivaportal/demo/services.py); it is never later than now."""
    if record.state != RecordState.SUBMITTED:
        return
    key = {
        "content_type": ContentType.objects.get_for_model(record),
        "object_id": record.pk,
        "reviewer": by,
        "submitted_at": review_round(record),
    }
    if ReviewOpening.objects.filter(**key).exists():
        return
    now = timezone.now()
    try:
        with transaction.atomic():
            ReviewOpening.objects.create(
                partner_id=record.partner_id, opened_at=min(at or now, now), **key
            )
    except IntegrityError:
        pass  # opened in another tab at the same moment: the first one counts


def review_time_store(*, record, by, submitted_at):
    """Store the approval's review time on `record` (just approved by `by`, in this
    transaction); `submitted_at` is `review_round(record)` read before the approval."""
    review_times_store(records=[record], by=by, submitted_at_of={record.pk: submitted_at})
    return record.review_seconds


def review_times_store(*, records, by, submitted_at_of):
    """`review_time_store` for records of one model approved together (a bulk approval): the
    openings read with one query, stored with one UPDATE per distinct review time (mostly
    none: a bulk approval from a queue opens no page). `submitted_at_of`: pk -> round."""
    if not records:
        return
    model = type(records[0])
    openings = ReviewOpening.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
        object_id__in=[record.pk for record in records],
        reviewer=by,
    ).values_list("object_id", "submitted_at", "opened_at")
    opened = {(object_id, submitted_at): at for object_id, submitted_at, at in openings}
    groups = {}
    for record in records:
        approved_at = record.state_changed_at or timezone.now()
        opened_at = opened.get((record.pk, submitted_at_of[record.pk]))
        seconds = None
        if opened_at is not None:
            seconds = max(0, round((approved_at - opened_at).total_seconds()))
        record.approved_at, record.review_seconds = approved_at, seconds
        groups.setdefault((approved_at, seconds), []).append(record.pk)
    for (approved_at, seconds), ids in groups.items():
        model.objects.filter(pk__in=ids).update(approved_at=approved_at, review_seconds=seconds)
