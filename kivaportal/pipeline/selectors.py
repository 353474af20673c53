"""Reads of the outbox for the review pages."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch

from kivaportal.pipeline.models import Attempt, Submission


def record_submissions(record, limit=50):
    """A record's submissions, newest version first, each with its attempts (two queries)."""
    return list(
        Submission.objects.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=record.pk
        )
        .select_related("created_by")
        .prefetch_related(Prefetch("attempt_rows", Attempt.objects.order_by("number", "id")))
        .order_by("-record_version", "chunk")[:limit]
    )
