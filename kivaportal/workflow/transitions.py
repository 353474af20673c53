"""The primitives every state change is made of, shared by the review services and the
pipeline: lock the record, apply a transition of the table on `Reviewable`, append the audit
entry, keep the stored check results fresh. Callers (`kivaportal.review.services`,
`kivaportal.pipeline`) check roles and four eyes first; these never do.
"""

import json

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from kivaportal.common.checks import errors as blocking
from kivaportal.common.messages import message_fields
from kivaportal.common.rows import row_insert, row_update
from kivaportal.workflow.audit import AuditAction, action_label
from kivaportal.workflow.errors import IllegalTransition
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.signals import record_checked
from kivaportal.workflow.states import RecordState


def audit_entry(
    *, record, actor, action, from_state="", to_state="", comment="", data=None, label=None
) -> AuditEntry:
    """One audit entry for `record`, not saved yet (`audit_record` saves one; a bulk move
    saves many in one statement). `label`: the record's name when the caller has it (else
    `str(record)`)."""
    # A partner's own settings are audited under that partner (it has no `partner_id`).
    partner_id = record.pk if getattr(record, "partner_path", None) == "" else record.partner_id
    return AuditEntry(
        partner_id=partner_id,
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        record_label=(str(record) if label is None else label)[:200],
        record_version=getattr(record, "version", 1),
        actor=actor,
        action=AuditAction(action),
        from_state=from_state,
        to_state=to_state,
        # A person's text, or a message of the portal's (kivaportal/common/messages.py).
        **message_fields("comment", comment),
        data=data or {},
    )


def audit_record(**kwargs) -> AuditEntry:
    """Append one audit entry for `record` (the arguments of `audit_entry`). Call it inside
    the transaction of the change."""
    # One INSERT built once (the send's hot path writes one per outcome); no signals listen.
    return row_insert(audit_entry(**kwargs))


def audit_records_created(*, records, actor, action=AuditAction.IMPORTED, data=None):
    """One entry per new record, written in bulk (an import creates thousands). Call it inside
    the transaction that created them."""
    entries = [
        AuditEntry(
            partner_id=record.partner_id,
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            record_label=str(record)[:200],
            record_version=getattr(record, "version", 1),
            actor=actor,
            action=AuditAction(action),
            to_state=getattr(record, "state", ""),
            data=data or {},
        )
        for record in records
    ]
    AuditEntry.objects.bulk_create(entries, batch_size=1000)


def record_lock(record):
    """The record re-read under a row lock, so two people (or workers) cannot act at once."""
    return type(record).objects.select_for_update().get(pk=record.pk)


def illegal_transition(record, action) -> IllegalTransition:
    return IllegalTransition(
        _("%(record)s is %(state)s, so it cannot be “%(action)s” now.")
        % {
            "record": record,
            "state": record.get_state_display().lower(),
            "action": action_label(action),
        }
    )


def record_transition(record, method_name, *, by, action, comment="", data=None, label=None):
    """Apply one transition of the table on `Reviewable` to a locked record, and audit it.
    Reads and writes only the workflow's fields (state, version) and `partner_id`, so a record
    locked with just those (`.only()`, as the pipeline does) loads nothing more; `label`
    names it in the audit entry then."""
    method = getattr(record, method_name)
    if not can_proceed(method):
        raise illegal_transition(record, action)
    before = record.state
    method()
    record.state_changed_at = record.updated_at = timezone.now()
    # One UPDATE of the workflow's own fields. No history row: history keeps content changes,
    # the audit entry below is the record of a move (docs/architecture.md, "History and audit").
    row_update(
        type(record),
        pk=record.pk,
        fields={
            "state": record.state,
            "version": record.version,
            "state_changed_at": record.state_changed_at,
            "updated_at": record.updated_at,
        },
    )
    audit_record(
        record=record,
        actor=by,
        action=action,
        from_state=before,
        to_state=record.state,
        comment=comment,
        data=data,
        label=label,
    )
    return record


def records_transition(moves, *, by, now=None):
    """`record_transition` for many locked records at once: `moves` is a list of (record,
    method name, action, comment, data). Each move is a transition of the table on `Reviewable`
    (IllegalTransition if one is not allowed from the record's state: check `can_proceed`
    first); the records are written with one UPDATE per resulting state, and the audit
    entries with one INSERT. A record may move more than once (approved, then queued)."""
    now = now or timezone.now()
    entries, final = [], {}
    for record, method_name, action, comment, data in moves:
        method = getattr(record, method_name)
        if not can_proceed(method):
            raise illegal_transition(record, action)
        before = record.state
        method()
        record.state_changed_at = record.updated_at = now
        final[record.pk] = record
        entries.append(
            audit_entry(
                record=record,
                actor=by,
                action=action,
                from_state=before,
                to_state=record.state,
                comment=comment,
                data=data,
            )
        )
    by_state = {}
    for record in final.values():
        by_state.setdefault((type(record), record.state, record.version), []).append(record.pk)
    for (model, state, version), ids in by_state.items():
        model.objects.filter(pk__in=ids).update(
            state=state, version=version, state_changed_at=now, updated_at=now
        )
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
    return list(final.values())


def _set_checks(record, findings):
    errors = len(blocking(findings))
    record.check_errors, record.check_warnings = errors, len(findings) - errors
    record.check_findings = [f.to_dict() for f in findings]
    record.checked_at = timezone.now()


def records_recheck_bulk(*, records, findings_of=None) -> int:
    """`record_recheck` for many records of one model (an import's new records, a bulk
    approval's): the same checks, stored with one UPDATE per distinct result (records of one
    file mostly share theirs; a CASE per row, as `bulk_update` writes, is several times
    slower). Load them with their kind's details. `findings_of` (pk -> findings): checks the
    caller already ran."""
    groups: dict[str, list] = {}
    model = None
    for record in records:
        model = type(record)
        found = (findings_of or {}).get(record.pk)
        _set_checks(record, record.findings() if found is None else found)
        groups.setdefault(json.dumps(record.check_findings, sort_keys=True), []).append(record)
    now = timezone.now()
    for found in groups.values():
        first = found[0]
        model.objects.filter(pk__in=[r.pk for r in found]).update(
            check_errors=first.check_errors,
            check_warnings=first.check_warnings,
            check_findings=first.check_findings,
            checked_at=now,
        )
    if model is not None:
        record_checked.send(sender=model, pks=[r.pk for found in groups.values() for r in found])
    return sum(len(found) for found in groups.values())


def record_recheck(*, record, findings=None):
    """Run the record's checks and store them on the row (for queues, filters and pages)."""
    findings = record.findings() if findings is None else findings
    _set_checks(record, findings)
    type(record).objects.filter(pk=record.pk).update(
        check_errors=record.check_errors,
        check_warnings=record.check_warnings,
        check_findings=record.check_findings,
        checked_at=record.checked_at,
    )
    record_checked.send(sender=type(record), pks=[record.pk])
    return findings


@transaction.atomic
def record_data_changed(*, record, by=None, reason, data=None):
    """Data a record is computed from changed (a month's repayments, for its report): what a
    reviewer saw no longer holds. Under review, it returns to draft; sent or on its way, it
    stays, with an audit entry saying so (a correction is a new version). Checks run again.
    The caller has checked the actor's right to change that data."""
    record = record_lock(record)
    data = {**(data or {}), "reason": reason}
    if can_proceed(record.reopen):
        record_transition(record, "reopen", by=by, action=AuditAction.RETURNED_TO_DRAFT, data=data)
    elif record.state not in (RecordState.DRAFT, RecordState.CHANGES_REQUESTED):
        audit_record(
            record=record,
            actor=by,
            action=AuditAction.DATA_CHANGED,
            from_state=record.state,
            to_state=record.state,
            data=data,
        )
    record_recheck(record=record)
    return record
