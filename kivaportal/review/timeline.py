"""A record's timeline: content edits (from django-simple-history) and workflow events (from
the audit trail), newest first, in a fixed number of queries."""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kivaportal.review.selectors import record_audit_entries
from kivaportal.workflow.states import state_label

# Bookkeeping fields that change with every save and say nothing to a reviewer.
QUIET_FIELDS = {
    "updated_at",
    "updated_by",
    "state",
    "state_changed_at",
    "version",
}
HISTORY_TYPES = {
    "+": gettext_noop("created"),
    "~": gettext_noop("changed"),
    "-": gettext_noop("deleted"),
}


@dataclass
class Event:
    at: datetime
    actor: object
    kind: str  # "edit" or "workflow"
    title: str
    changes: list = field(default_factory=list)  # (field label, old, new)
    comment: str = ""
    data: dict = field(default_factory=dict)


def _edit_events(history_rows, title_of):
    events = []
    previous = {}
    for row in history_rows:  # oldest first
        key = row.id
        before = previous.get(key)
        changes = []
        if before is not None and row.history_type == "~":
            delta = row.diff_against(before, excluded_fields=QUIET_FIELDS)
            changes = [
                (str(row.instance._meta.get_field(c.field).verbose_name), c.old, c.new)
                for c in delta.changes
            ]
            if not changes:
                previous[key] = row
                continue
        previous[key] = row
        events.append(
            Event(
                at=row.history_date,
                actor=row.history_user,
                kind="edit",
                title=title_of(row),
                changes=changes,
            )
        )
    return events


def record_timeline(record, related=(), limit=200) -> list[Event]:
    """`related`: (historical queryset, describe) pairs for child rows whose changes belong on
    the parent's timeline (a loan's borrowers and schedule lines); `describe(row)` must not
    query (select_related what it shows)."""
    name = record._meta.verbose_name

    def own_title(row):
        return _("%(what)s %(how)s") % {"what": name, "how": _(HISTORY_TYPES[row.history_type])}

    rows = list(
        record.history.select_related("history_user").order_by("history_date", "history_id")
    )
    events = _edit_events(rows[-limit:], own_title)
    for queryset, describe in related:
        child_rows = list(queryset.order_by("history_date", "history_id"))

        def child_title(row, describe=describe):
            return f"{describe(row)} ({_(HISTORY_TYPES[row.history_type])})"

        events += _edit_events(child_rows[-limit:], child_title)
    for entry in record_audit_entries(record, limit=limit):
        events.append(
            Event(
                at=entry.created_at,
                actor=entry.actor,
                kind="workflow",
                title=entry.get_action_display(),
                changes=[(_("state"), state_label(entry.from_state), state_label(entry.to_state))]
                if entry.from_state != entry.to_state
                else [],
                comment=entry.comment_text,
                data=entry.data,
            )
        )
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]
