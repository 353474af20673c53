"""Reads of the outbox for the review pages."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch

from kivaportal.pipeline.models import Attempt, Reconciliation, Submission, SubmissionState


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


def record_send_progress(record) -> dict:
    """How far the sending of a record's current version is: chunks in all, sent, still on
    their way, and stopped (failed, rejected, needs attention). One query."""
    from django.db.models import Count, Q

    on_the_way = (SubmissionState.PENDING, SubmissionState.SENDING, SubmissionState.RETRYING)
    stopped = (
        SubmissionState.FAILED,
        SubmissionState.REJECTED,
        SubmissionState.NEEDS_ATTENTION,
    )
    counts = (
        Submission.objects.filter(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            record_version=record.version,
        )
        .exclude(state=SubmissionState.CANCELLED)
        .aggregate(
            chunks=Count("id"),
            sent=Count("id", filter=Q(state=SubmissionState.SENT)),
            waiting=Count("id", filter=Q(state__in=on_the_way)),
            stopped=Count("id", filter=Q(state__in=stopped)),
        )
    )
    return {
        "state": record.state,
        "version": record.version,
        **counts,
        "done": counts["chunks"] > 0 and counts["waiting"] == 0,
    }


def partner_last_reconciliation(partner):
    """The partner's latest reconciliation with Kiva (pipeline.reconcile), or None."""
    return Reconciliation.objects.filter(partner=partner).order_by("-started_at", "-id").first()


def version_problems(submissions, version) -> list[tuple[int, dict]]:
    """(chunk, problem) for every problem Kiva reported on the sent submissions of one version
    of a record, across all its chunks: one table for staff."""
    return [
        (s.chunk, problem)
        for s in sorted(submissions, key=lambda s: s.chunk)
        if s.record_version == version and s.state == SubmissionState.SENT
        for problem in s.problems
        if isinstance(problem, dict)
    ]


def sent_with_problems_counts(partner) -> dict[str, int]:
    """Per kind of submission, how many records' current version was sent with problems
    reported by Kiva (one query per kind that has any)."""
    rows = (
        Submission.objects.filter(partner=partner, state=SubmissionState.SENT)
        .exclude(problems=[])
        .values_list("content_type_id", "kind", "object_id", "record_version")
        .distinct()
    )
    by_type: dict[int, list] = {}
    for content_type_id, kind, object_id, version in rows:
        by_type.setdefault(content_type_id, []).append((kind, object_id, version))
    counts: dict[str, int] = {}
    for content_type_id, found in by_type.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        current = dict(
            model.objects.filter(pk__in={o for _k, o, _v in found}).values_list("pk", "version")
        )
        for kind, object_id, version in {(k, o, v) for k, o, v in found}:
            if current.get(object_id) == version:
                counts[kind] = counts.get(kind, 0) + 1
    return counts
