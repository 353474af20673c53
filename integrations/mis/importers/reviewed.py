"""How intake changes a reviewed record (loan, journal) that already exists.

One row per MIS id, never a duplicate. A record still in review (the editable states) is
updated in place and goes back to draft (one whose changes were requested stays so, as a
draft stays a draft, until it is resubmitted); one in a state the state machine lets open a new
version (sent, refused by Kiva) becomes a new version; in any other state (the pipeline holds
it, or it was withdrawn) intake refuses the change as a conflict.
"""

from django.utils.translation import gettext as _

from kivaportal.review import services
from kivaportal.workflow.models import NEW_VERSION_STATES  # read from the transition table
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
    """Before new content is saved: open a new version if the record was already sent;
    otherwise lock and re-read it (`record_lock_for_edit`, as the admin does), since a worker
    may have taken it for Kiva since the file was checked: IllegalTransition then, and the
    import is refused as a conflict with nothing written."""
    if record.state not in NEW_VERSION_STATES:
        return services.record_lock_for_edit(record)
    return services.record_start_new_version_from_intake(
        record=record, by=importer.actor, data=importer.audit_data
    )


def end_change(record, importer, changed_fields):
    """After new content is saved: audit the edit (and return a reviewed record to draft)."""
    return services.record_edited_from_intake(
        record=record, by=importer.actor, changed_fields=changed_fields, data=importer.audit_data
    )


def recheck_created(model, pks):
    """New records' checks stored as the record page runs them (an edited record's are
    stored by `end_change`), so the queue's counts equal the page's from the start."""
    return services.records_recheck_by_pk(model=model, pks=pks)
