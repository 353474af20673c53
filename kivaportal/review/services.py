"""The review workflow: every state change of a loan, journal or repayment report goes
through here, from every path (review pages, admin, bulk actions, intake API, pipeline).

Each service locks the record, checks the actor's role in the record's partner, applies the
transition and writes the audit entry, all in one transaction: either everything happened
and is recorded, or nothing did.
"""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from kivaportal.common.checks import errors as blocking
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.review.errors import (
    BlockingErrors,
    FourEyesViolation,
    IllegalTransition,
    NotAllowed,
    ReviewError,
)
from kivaportal.review.findings import record_findings
from kivaportal.review.models import AuditEntry
from kivaportal.review.states import RecordState as S


def audit_record(*, record, actor, action, from_state="", to_state="", comment="", data=None):
    """Append one audit entry for `record`. Call it inside the transaction of the change."""
    return AuditEntry.objects.create(
        partner_id=record.partner_id,
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        record_label=str(record)[:200],
        record_version=getattr(record, "version", 1),
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        data=data or {},
    )


def _locked(record):
    """The record re-read under a row lock, so two people cannot act on it at once."""
    return type(record).objects.select_for_update().get(pk=record.pk)


def _require(user, action, record):
    if not user_can(user, action, record.partner_id):
        raise NotAllowed(
            _("Your role in %(partner)s does not allow this (%(action)s).")
            % {"partner": record.partner, "action": action}
        )


def _transition(record, method_name, *, by, action, comment="", data=None):
    method = getattr(record, method_name)
    if not can_proceed(method):
        raise IllegalTransition(
            _("%(record)s is %(state)s; it cannot be %(action)s.")
            % {"record": record, "state": record.get_state_display().lower(), "action": action}
        )
    before = record.state
    method()
    record.state_changed_at = timezone.now()
    record.save(update_fields=["state", "version", "state_changed_at", "updated_at"])
    audit_record(
        record=record,
        actor=by,
        action=action,
        from_state=before,
        to_state=record.state,
        comment=comment,
        data=data,
    )
    return record


def record_recheck(*, record, findings=None):
    """Run the record's checks and store them on the row (for queues, filters and pages)."""
    findings = record_findings(record) if findings is None else findings
    errors = len(blocking(findings))
    record.check_errors, record.check_warnings = errors, len(findings) - errors
    record.check_findings = [f.to_dict() for f in findings]
    record.checked_at = timezone.now()
    type(record).objects.filter(pk=record.pk).update(
        check_errors=record.check_errors,
        check_warnings=record.check_warnings,
        check_findings=record.check_findings,
        checked_at=record.checked_at,
    )
    return findings


@transaction.atomic
def record_recheck_by(*, record, by):
    """A person asks for the checks to run again (after the data behind a report changed)."""
    record = _locked(record)
    _require(by, Action.VIEW, record)
    record_recheck(record=record)
    return record


def _refuse_blocking_errors(record, what):
    found = blocking(record_recheck(record=record))
    if found:
        raise BlockingErrors(
            _("%(record)s cannot be %(what)s: %(errors)s")
            % {"record": record, "what": what, "errors": "; ".join(f.message for f in found)},
            found,
        )


@transaction.atomic
def record_submit(*, record, by):
    record = _locked(record)
    _require(by, Action.SUBMIT, record)
    _refuse_blocking_errors(record, _("submitted"))
    return _transition(record, "submit", by=by, action="submitted")


def four_eyes_refusal(record, user) -> str | None:
    """Why `user` may not approve `record` under the four-eyes rule, or None."""
    if not record.partner.four_eyes:
        return None
    if user.pk == record.created_by_id:
        return _("Four eyes: you created %(record)s, so someone else must approve it.") % {
            "record": record
        }
    if user.pk == record.updated_by_id:
        return _("Four eyes: you last edited %(record)s, so someone else must approve it.") % {
            "record": record
        }
    return None


@transaction.atomic
def record_approve(*, record, by, comment=""):
    record = _locked(record)
    _require(by, Action.APPROVE, record)
    refusal = four_eyes_refusal(record, by)
    if refusal:
        raise FourEyesViolation(refusal)
    _refuse_blocking_errors(record, _("approved"))
    record = _transition(record, "approve", by=by, action="approved", comment=comment)
    # The outbox row, in this same transaction: what is approved is what will be sent.
    from integrations.kiva.outbox import submissions_create

    submissions_create(record=record, by=by)
    record.refresh_from_db()
    return record


@transaction.atomic
def record_request_changes(*, record, by, comment):
    if not comment.strip():
        raise ReviewError(_("Say what needs to change: the comment is required."))
    record = _locked(record)
    _require(by, Action.APPROVE, record)
    return _transition(
        record, "request_changes", by=by, action="changes_requested", comment=comment
    )


@transaction.atomic
def record_withdraw(*, record, by, comment=""):
    record = _locked(record)
    _require(by, Action.EDIT, record)
    return _transition(record, "withdraw", by=by, action="withdrawn", comment=comment)


@transaction.atomic
def record_start_new_version(*, record, by, comment=""):
    """A sent (or refused) record is corrected as a new version, reviewed from draft again."""
    record = _locked(record)
    _require(by, Action.EDIT, record)
    return _transition(record, "start_new_version", by=by, action="new_version", comment=comment)


@transaction.atomic
def record_edited(*, record, by, changed_fields=()):
    """Note a content edit: who made it, and back to draft if it was under review.

    Call after saving the edit, in the same transaction. The editor becomes `updated_by`, so
    under four eyes they cannot approve it either.
    """
    record = _locked(record)
    _require(by, Action.EDIT, record)
    return _note_edit(record, by=by, changed_fields=changed_fields)


def _note_edit(record, *, by, changed_fields, data=None):
    if not record.is_editable:
        raise IllegalTransition(
            _("%(record)s is %(state)s and read-only; start a new version to correct it.")
            % {"record": record, "state": record.get_state_display().lower()}
        )
    type(record).objects.filter(pk=record.pk).update(updated_by=by)
    record.updated_by = by
    record_recheck(record=record)
    data = {**(data or {}), **({"fields": sorted(changed_fields)} if changed_fields else {})}
    if can_proceed(record.reopen):
        return _transition(record, "reopen", by=by, action="returned_to_draft", data=data)
    audit_record(
        record=record,
        actor=by,
        action="edited",
        from_state=record.state,
        to_state=record.state,
        data=data,
    )
    return record


@dataclass
class BulkResult:
    approved: list = field(default_factory=list)
    submitted: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # (record, reason)


def records_bulk_submit(*, records, by) -> BulkResult:
    """Submit each record on its own, like `records_bulk_approve`: one refusal (blocking
    errors, a role without submit, a state that moved on) does not undo the rest."""
    result = BulkResult()
    for record in records:
        try:
            result.submitted.append(record_submit(record=record, by=by))
        except ReviewError as refusal:
            result.refused.append((record, refusal.message))
    return result


def records_bulk_approve(*, records, by) -> BulkResult:
    """Approve each record on its own (one transaction and one audit entry per record), so
    one refusal (blocking errors, four eyes, a state that moved on) does not undo the rest."""
    result = BulkResult()
    for record in records:
        try:
            result.approved.append(
                record_approve(record=record, by=by, comment=_("Approved in bulk."))
            )
        except ReviewError as refusal:
            result.refused.append((record, refusal.message))
    return result


def records_recheck(*, model, partner=None) -> int:
    """Refresh the stored check counts of every record of `model` (optionally one partner's).
    For after bulk loads and reference-data changes; returns how many were checked."""
    from kivaportal.lending.models import Loan
    from kivaportal.lending.selectors import loans_with_details

    records = model.objects.all() if partner is None else model.objects.filter(partner=partner)
    if model is Loan:
        records = loans_with_details(records)
    count = 0
    for record in records.iterator(chunk_size=500):
        record_recheck(record=record)
        count += 1
    return count


PIPELINE_MOVES = {
    S.QUEUED: "queue",
    S.SENDING: "start_sending",
    S.SENT: "mark_sent",
    S.REJECTED: "mark_rejected",
    S.NEEDS_ATTENTION: "mark_needs_attention",
    S.FAILED: "mark_failed",
    S.DRAFT: "cancel_sending",
}


@transaction.atomic
def record_follow_pipeline(*, record, target, by=None, data=None):
    """Move a record to follow its submissions to Kiva (the pipeline's only way to change a
    record's state). `by` is None when the portal itself acted."""
    return record_follow_pipeline_locked(record=_locked(record), target=target, by=by, data=data)


def record_follow_pipeline_locked(*, record, target, by=None, data=None):
    """`record_follow_pipeline` for a caller that has read `record` under its row lock, in
    the transaction it is still in (the pipeline, once per send: no second read)."""
    if record.state == target:
        return record
    return _transition(record, PIPELINE_MOVES[target], by=by, action=f"kiva.{target}", data=data)


# Intake from an MIS through the JSON API: no person acted, so the actor is None and the audit
# entry names the API key. Records the API creates or edits keep `created_by`/`updated_by`
# empty, so under four eyes any reviewer of the partner may approve them.


@transaction.atomic
def record_submit_from_intake(*, record, api_key_label):
    record = _locked(record)
    _refuse_blocking_errors(record, _("submitted"))
    return _transition(
        record, "submit", by=None, action="submitted", data={"api_key": api_key_label}
    )


@transaction.atomic
def record_start_new_version_from_intake(*, record, api_key_label):
    record = _locked(record)
    return _transition(
        record, "start_new_version", by=None, action="new_version", data={"api_key": api_key_label}
    )


@transaction.atomic
def record_edited_from_intake(*, record, api_key_label, changed_fields=()):
    record = _locked(record)
    return _note_edit(
        record, by=None, changed_fields=changed_fields, data={"api_key": api_key_label}
    )


def audit_records_created(*, records, actor, data=None):
    """One "created" entry per new record, written in bulk: an import creates thousands.

    Call it inside the transaction that created them.
    """
    entries = [
        AuditEntry(
            partner_id=record.partner_id,
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            record_label=str(record)[:200],
            record_version=getattr(record, "version", 1),
            actor=actor,
            action="created",
            to_state=getattr(record, "state", ""),
            data=data or {},
        )
        for record in records
    ]
    AuditEntry.objects.bulk_create(entries, batch_size=1000)


@transaction.atomic
def record_data_changed(*, record, by=None, reason, data=None):
    """Data a record is computed from changed (a month's repayments, for its report): what a
    reviewer saw no longer holds. Under review, it returns to draft; sent or on its way, it
    stays, with an audit entry saying so (a correction is a new version). Checks run again.
    The caller has checked the actor's right to change that data."""
    record = _locked(record)
    data = {**(data or {}), "reason": reason}
    if can_proceed(record.reopen):
        _transition(record, "reopen", by=by, action="returned_to_draft", data=data)
    elif record.state != S.DRAFT:
        audit_record(
            record=record,
            actor=by,
            action="data_changed",
            from_state=record.state,
            to_state=record.state,
            data=data,
        )
    record_recheck(record=record)
    return record
