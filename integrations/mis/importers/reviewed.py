"""How intake changes a reviewed record (loan, journal) that already exists.

One row per MIS id, never a duplicate. A record still in review (draft, submitted, approved) is
updated in place and goes back to draft; one already sent, or refused by Kiva, becomes a new
version; one the pipeline holds (queued, sending, needs attention) or that was withdrawn cannot
be changed by intake.
"""

from django.utils.translation import gettext as _

from kivaportal.review import services
from kivaportal.workflow.models import NEW_VERSION_STATES
from kivaportal.workflow.states import EDITABLE_STATES, RecordState


def refusal(record_label: str, state: str) -> str | None:
    """Why intake may not change a record in `state`, or None."""
    if state in EDITABLE_STATES or state in NEW_VERSION_STATES:
        return None
    return _(
        "%(record)s is %(state)s: it cannot be changed now (conflict). Wait until it is sent, "
        "or ask a reviewer."
    ) % {"record": record_label, "state": RecordState(state).label.lower()}


def action_for(state: str) -> str:
    return "new_version" if state in NEW_VERSION_STATES else "update"


def begin_change(record, importer):
    """Before new content is saved: open a new version if the record was already sent."""
    if record.state not in NEW_VERSION_STATES:
        return record
    if importer.api_key_label:
        return services.record_start_new_version_from_intake(
            record=record, api_key_label=importer.api_key_label
        )
    return services.record_start_new_version(record=record, by=importer.actor)


def end_change(record, importer, changed_fields):
    """After new content is saved: audit the edit (and return a reviewed record to draft)."""
    if importer.api_key_label:
        return services.record_edited_from_intake(
            record=record, api_key_label=importer.api_key_label, changed_fields=changed_fields
        )
    return services.record_edited(record=record, by=importer.actor, changed_fields=changed_fields)
