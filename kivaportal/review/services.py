"""The review workflow: every review move of a loan, journal or repayment report goes through
here, from every path (review pages, admin, bulk actions, intake API). Each service locks the
record, checks the actor's role in the record's partner (and four eyes), applies the
transition and writes the audit entry, all in one transaction. The primitives are in
`kivaportal.workflow.transitions`; the push states are the pipeline's (kivaportal.pipeline).
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_fsm import can_proceed

from kivaportal.common.checks import errors as blocking
from kivaportal.common.messages import message
from kivaportal.kinds import kind_of
from kivaportal.lending.models import Loan
from kivaportal.lending.services import loan_data_changed
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.pipeline.follow import follow_move
from kivaportal.pipeline.services import (
    active_connections,
    earlier_drafts,
    submissions_build,
    submissions_create,
    submissions_save,
)
from kivaportal.review.review_time import review_round, review_time_store, review_times_store
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import (
    BlockingErrors,
    FourEyesViolation,
    IllegalTransition,
    NotAllowed,
    ReviewError,
)
from kivaportal.workflow.models import WORKFLOW_FIELDS
from kivaportal.workflow.selectors import (
    changed_since_last_approval,
    changed_since_last_approval_of,
)
from kivaportal.workflow.states import RecordState
from kivaportal.workflow.transitions import (
    audit_record,
    illegal_transition,
    record_lock,
    record_recheck,
    record_transition,
    records_recheck_bulk,
    records_transition,
)


def _require(user, action, record):
    if not user_can(user, action, record.partner_id):
        raise NotAllowed(
            _("Your role in %(partner)s does not allow this (%(action)s).")
            % {"partner": record.partner, "action": action}
        )


@transaction.atomic
def record_recheck_by(*, record, by):
    """A person asks for the checks to run again (after the data behind a report changed)."""
    record = record_lock(record)
    _require(by, Action.VIEW, record)
    record_recheck(record=record)
    return record


def _refuse_blocking_errors(record, what, findings=None):
    """Raise BlockingErrors if the record's checks find errors; `findings`: already run and
    stored (bulk approval), else they run and are stored here."""
    found = blocking(record_recheck(record=record) if findings is None else findings)
    if found:
        raise BlockingErrors(
            _("%(record)s cannot be %(what)s: %(errors)s")
            % {"record": record, "what": what, "errors": "; ".join(f.message for f in found)},
            found,
        )


@transaction.atomic
def record_submit(*, record, by):
    record = record_lock(record)
    _require(by, Action.SUBMIT, record)
    _refuse_blocking_errors(record, _("submitted"))
    return record_transition(record, "submit", by=by, action=AuditAction.SUBMITTED)


def four_eyes_refusal(record, user, changed=None) -> str | None:
    """Why `user` may not approve `record` under the four-eyes rule, or None. The rule, on
    every path: nobody approves a record they created, or whose content or parts they changed
    since it was last approved (docs/security.md). `changed`: whether they did, when the
    caller read it for many records at once (`changed_since_last_approval_of`)."""
    if not record.partner.four_eyes:
        return None
    if user.pk == record.created_by_id:
        return _("Four eyes: you created %(record)s, so someone else must approve it.") % {
            "record": record
        }
    if changed is None:
        changed = changed_since_last_approval(record, user)
    if user.pk == record.updated_by_id or changed:
        return _(
            "Four eyes: you changed %(record)s (or a part of it) since it was last approved, "
            "so someone else must approve it."
        ) % {"record": record}
    return None


@transaction.atomic
def record_approve(*, record, by, comment=""):
    record = record_lock(record)
    _require(by, Action.APPROVE, record)
    refusal = four_eyes_refusal(record, by)
    if refusal:
        raise FourEyesViolation(refusal)
    _refuse_blocking_errors(record, _("approved"))
    submitted_at = review_round(record)
    record = record_transition(
        record, "approve", by=by, action=AuditAction.APPROVED, comment=comment
    )
    review_time_store(record=record, by=by, submitted_at=submitted_at)
    # The outbox row, in this same transaction: what is approved is what will be sent.
    submissions_create(record=record, by=by)
    record.refresh_from_db()
    return record


@transaction.atomic
def record_request_changes(*, record, by, comment):
    if not comment.strip():
        raise ReviewError(_("Say what needs to change: the comment is required."))
    record = record_lock(record)
    _require(by, Action.APPROVE, record)
    return record_transition(
        record, "request_changes", by=by, action=AuditAction.CHANGES_REQUESTED, comment=comment
    )


@transaction.atomic
def record_withdraw(*, record, by, comment=""):
    record = record_lock(record)
    _require(by, Action.EDIT, record)
    return record_transition(
        record, "withdraw", by=by, action=AuditAction.WITHDRAWN, comment=comment
    )


@transaction.atomic
def record_start_new_version(*, record, by, comment=""):
    """A sent (or refused) record is corrected as a new version, reviewed from draft again."""
    record = record_lock(record)
    _require(by, Action.EDIT, record)
    return record_transition(
        record, "start_new_version", by=by, action=AuditAction.NEW_VERSION, comment=comment
    )


@transaction.atomic
def record_edited(*, record, by, changed_fields=()):
    """Note a content edit: who made it, and back to draft if it was under review.

    Call after saving the edit, in the same transaction. The editor becomes `updated_by`, so
    under four eyes they cannot approve it either.
    """
    record = record_lock(record)
    _require(by, Action.EDIT, record)
    return _note_edit(record, by=by, changed_fields=changed_fields)


def _read_only(record) -> IllegalTransition:
    return IllegalTransition(
        _("%(record)s is %(state)s and read-only; start a new version to correct it.")
        % {"record": record, "state": record.get_state_display().lower()}
    )


def record_lock_for_edit(record):
    """Before an edit's content is saved: the record locked (a worker's move waits for the
    edit's transaction) and refused if it is no longer editable, however long ago the form was
    opened. Its workflow fields are copied onto `record` from the row, so the save writes what
    is stored, never a state the form read earlier."""
    locked = record_lock(record)
    if not locked.is_editable:
        raise _read_only(locked)
    for name in WORKFLOW_FIELDS:
        setattr(record, name, getattr(locked, name))
    return record


def _note_edit(record, *, by, changed_fields, data=None):
    if not record.is_editable:
        raise _read_only(record)
    type(record).objects.filter(pk=record.pk).update(updated_by=by)
    record.updated_by = by
    record_recheck(record=record)
    if isinstance(record, Loan):  # its ids or borrowers: what its report lines show
        loan_data_changed(partner_id=record.partner_id, fields=changed_fields)
    data = {**(data or {}), **({"fields": sorted(changed_fields)} if changed_fields else {})}
    if can_proceed(record.reopen):
        return record_transition(
            record, "reopen", by=by, action=AuditAction.RETURNED_TO_DRAFT, data=data
        )
    audit_record(
        record=record,
        actor=by,
        action=AuditAction.EDITED,
        from_state=record.state,
        to_state=record.state,
        data=data,
    )
    return record


def _resend_line_locked(line, by):
    report = record_lock(line.report)
    _require(by, Action.EDIT, report)
    if line.version != report.version:
        raise IllegalTransition(_("This line belongs to an earlier version of the report."))
    return report


@transaction.atomic
def report_resend_line_edit(*, line, by, mis_loan_id, client_id, amount):
    """Correct a line a report's new version sends again (Kiva refused it): its loan id,
    client id or amount. A content edit like any other (the editor cannot approve it)."""
    from decimal import Decimal, InvalidOperation

    from kivaportal.common.money import has_currency_precision

    report = _resend_line_locked(line, by)
    mis_loan_id, client_id = (mis_loan_id or "").strip(), (client_id or "").strip()
    if not mis_loan_id or len(mis_loan_id) > 64:
        raise ReviewError(
            _("Line %(loan)s: the loan id is required (at most 64 characters).")
            % {"loan": line.mis_loan_id}
        )
    if len(client_id) > 64:
        raise ReviewError(
            _("Line %(loan)s: the client id has more than 64 characters.")
            % {"loan": line.mis_loan_id}
        )
    currency = line.loan.currency if line.loan_id else report.partner.default_currency
    try:
        value = Decimal(str(amount).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite() or value < 0 or value >= Decimal("1e13"):
        raise ReviewError(
            _("Line %(loan)s: the amount must be a number of 0 or more.")
            % {"loan": line.mis_loan_id}
        )
    if not has_currency_precision(value, currency):
        raise ReviewError(
            _("Line %(loan)s: the amount has more decimals than %(currency)s allows.")
            % {"loan": line.mis_loan_id, "currency": currency}
        )
    changed = [
        name
        for name, new in (("loan id", mis_loan_id), ("client id", client_id), ("amount", value))
        if getattr(line, {"loan id": "mis_loan_id", "client id": "client_id"}.get(name, name))
        != new
    ]
    if not changed:
        return report
    was = line.mis_loan_id
    line.mis_loan_id, line.client_id, line.amount = mis_loan_id, client_id, value
    line.save(update_fields=["mis_loan_id", "client_id", "amount"])
    # A read-only report refuses the edit here, and the transaction undoes the save.
    return _note_edit(
        report, by=by, changed_fields=changed, data={"part": "resend_line", "line": was}
    )


@transaction.atomic
def report_resend_line_remove(*, line, by):
    """Leave a line out of the lines a report's new version sends again (never the last: a
    version made to send refused lines never turns into the whole month's report)."""
    report = _resend_line_locked(line, by)
    if type(line).objects.filter(report=report, version=report.version).count() <= 1:
        raise ReviewError(
            _("Line %(loan)s is the last one to send again: it cannot be left out.")
            % {"loan": line.mis_loan_id}
        )
    line.delete()
    return _note_edit(
        report,
        by=by,
        changed_fields=["removed"],
        data={"part": "resend_line", "line": line.mis_loan_id},
    )


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


def records_bulk_approve(*, records, by, comment=None) -> BulkResult:
    """Approve many records at batch speed, each under the same rules as `record_approve`
    (role, four eyes, blocking errors, the transition table, something to send) and with its
    own audit entries; one refusal does not stop the rest. Per kind of record, in one
    transaction: the records locked with one query, four eyes read with one, their checks run
    on what that read (stored in batches), the moves, audit entries and submissions written
    in bulk (docs/pipeline.md, section 1)."""
    comment = message(gettext_noop("Approved in bulk.")) if comment is None else comment
    result = BulkResult()
    by_model = {}
    for record in records:
        by_model.setdefault(type(record), []).append(record.pk)
    for model, ids in by_model.items():
        _approve_batch(model, ids, by=by, comment=comment, result=result)
    return result


@transaction.atomic
def _approve_batch(model, ids, *, by, comment, result):
    kind = kind_of(model)
    locked = model.objects.filter(pk__in=ids).select_for_update(of=("self",)).order_by("pk")
    # With what their checks and payloads read (kind.load), in a fixed number of queries.
    records = list(kind.load(locked.select_related("partner")))
    four_eyes = [r.pk for r in records if r.partner.four_eyes]
    changed = changed_since_last_approval_of(model, four_eyes, by) if four_eyes else set()
    connections = active_connections(r.partner_id for r in records)
    environment_of = {
        r.pk: connections[r.partner_id].environment for r in records if r.partner_id in connections
    }
    earlier = earlier_drafts(model, records, environment_of)
    allowed, findings_of, approved, submissions = {}, {}, [], []
    rounds = {record.pk: review_round(record) for record in records}  # before the moves
    now = timezone.now()
    for record in records:
        try:
            if record.partner_id not in allowed:
                allowed[record.partner_id] = user_can(by, Action.APPROVE, record.partner_id)
            if not allowed[record.partner_id]:
                _require(by, Action.APPROVE, record)
            refusal = four_eyes_refusal(record, by, changed=record.pk in changed)
            if refusal:
                raise FourEyesViolation(refusal)
            findings_of[record.pk] = record.findings()
            _refuse_blocking_errors(record, _("approved"), findings=findings_of[record.pk])
            if not can_proceed(record.approve):
                raise illegal_transition(record, AuditAction.APPROVED)
            built = submissions_build(
                record=record,
                by=by,
                connection=connections.get(record.partner_id),
                earlier=earlier.get(record.pk),
                now=now,
            )
        except ReviewError as refusal:
            result.refused.append((record, refusal.message))
            continue
        approved.append((record, built))
        submissions += built
    checked = [r for r in records if r.pk in findings_of]
    if checked:
        records_recheck_bulk(records=checked, findings_of=findings_of)
    moves = []
    for record, built in approved:
        moves.append((record, "approve", AuditAction.APPROVED, comment, None))
        # Then queued (or needs attention), as the record follows its new submissions.
        after = follow_move(RecordState.APPROVED, [(s.state, s.kiva_reference) for s in built])
        if after is not None:
            moves.append((record, after[0], after[1], "", after[2]))
    records_transition(moves, by=by, now=now)
    review_times_store(
        records=[record for record, _built in approved], by=by, submitted_at_of=rounds
    )
    submissions_save(submissions)
    result.approved += [record for record, _built in approved]


def records_recheck(*, model, partner=None) -> int:
    """Refresh the stored check counts of every record of `model` (optionally one partner's).
    For after bulk loads and reference-data changes; returns how many were checked."""
    records = model.objects.all() if partner is None else model.objects.filter(partner=partner)
    records = kind_of(model).with_details(records)
    count = 0
    for record in records.iterator(chunk_size=500):
        record_recheck(record=record)
        count += 1
    return count


def records_recheck_by_pk(*, model, pks) -> int:
    """Store the checks of these records (an import's new ones), as the record page runs
    them, so queues count the same errors and warnings as the page."""
    pks = list(pks)
    count = 0
    for start in range(0, len(pks), 500):
        records = kind_of(model).load(model.objects.filter(pk__in=pks[start : start + 500]))
        count += records_recheck_bulk(records=records)
    return count


# Intake from an MIS (files, or the JSON API): `by` is the uploader, or the owner of the API
# key or MIS client (the person accountable for what it posts, so under four eyes someone else
# approves); `data` names the import job, key or client in the audit entry.


@transaction.atomic
def record_submit_from_intake(*, record, by, data):
    record = record_lock(record)
    _require(by, Action.SUBMIT, record)
    _refuse_blocking_errors(record, _("submitted"))
    return record_transition(record, "submit", by=by, action=AuditAction.SUBMITTED, data=data)


@transaction.atomic
def record_start_new_version_from_intake(*, record, by, data):
    record = record_lock(record)
    _require(by, Action.EDIT, record)
    return record_transition(
        record, "start_new_version", by=by, action=AuditAction.NEW_VERSION, data=data
    )


@transaction.atomic
def record_edited_from_intake(*, record, by, data, changed_fields=()):
    record = record_lock(record)
    _require(by, Action.EDIT, record)
    return _note_edit(record, by=by, changed_fields=changed_fields, data=data)
