"""Reads for the review pages. Every function runs a fixed number of queries, whatever the
number of records, and reads only the partner it is given (callers scope the partner)."""

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count

from kivaportal.kinds import KINDS
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState

ATTENTION_STATES = (RecordState.REJECTED, RecordState.NEEDS_ATTENTION, RecordState.FAILED)


@dataclass
class KindSummary:
    slug: str
    label: str
    counts: dict[str, int]
    total: int
    oldest_waiting: object | None
    attention: list


def dashboard_summary(partner) -> list[KindSummary]:
    """Counts per state and kind, the oldest record waiting for review, and what Kiva
    rejected or needs a person's decision. Three queries per kind."""
    summaries = []
    for kind in KINDS.values():
        records = kind.model.objects.filter(partner=partner)
        counts = dict(
            records.values_list("state")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("state", "n")
        )
        oldest = (
            records.filter(state=RecordState.SUBMITTED)
            .select_related(*kind.select_related)
            .order_by("state_changed_at", "id")
            .first()
        )
        attention = list(
            records.filter(state__in=ATTENTION_STATES)
            .select_related(*kind.select_related)
            .order_by("-state_changed_at", "-id")[:10]
        )
        summaries.append(
            KindSummary(
                slug=kind.slug,
                label=kind.label,
                counts={state: counts.get(state, 0) for state in RecordState.values},
                total=sum(counts.values()),
                oldest_waiting=oldest,
                attention=attention,
            )
        )
    return summaries


def queue_queryset(
    kind, partner, *, state=None, preparer=None, since=None, until=None, warnings=None, errors=None
):
    records = kind.model.objects.filter(partner=partner).select_related(*kind.select_related)
    if state:
        records = records.filter(state=state)
    if preparer:
        records = records.filter(created_by_id=preparer)
    if since:
        records = records.filter(created_at__date__gte=since)
    if until:
        records = records.filter(created_at__date__lte=until)
    if warnings is not None:
        records = (
            records.filter(check_warnings__gt=0) if warnings else records.filter(check_warnings=0)
        )
    if errors is not None:
        records = records.filter(check_errors__gt=0) if errors else records.filter(check_errors=0)
    # Oldest waiting first: what has waited longest is reviewed first.
    return records.order_by("state_changed_at", "created_at", "id")


def next_in_queue(record):
    """The next record of the same kind waiting for review, oldest first, or None."""
    return (
        type(record)
        .objects.filter(partner_id=record.partner_id, state=RecordState.SUBMITTED)
        .exclude(pk=record.pk)
        .order_by("state_changed_at", "created_at", "id")
        .only("pk")
        .first()
    )


def record_audit_entries(record, limit=200):
    return list(
        AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=record.pk
        )
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
