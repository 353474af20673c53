"""The outbox's writes: submissions frozen at approval, telling the workers, and what staff
do with a submission (retry now, cancel, mark as sent, send again). The rules they keep:
docs/pipeline.md.
"""

import hashlib
from dataclasses import dataclass, field
from uuid import UUID

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from integrations.kiva import payloads
from integrations.kiva.connection_models import KivaConnection
from integrations.kiva.selectors import partner_connection
from kivaportal.common.messages import message, message_fields
from kivaportal.kinds import kind_of
from kivaportal.lending.services import loan_at_kiva_draft_sent
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.pipeline.follow import record_follow_submissions
from kivaportal.pipeline.models import Submission, SubmissionKind, SubmissionState
from kivaportal.pipeline.queue import submissions_enqueue, submissions_enqueue_many
from kivaportal.pipeline.resend import report_chunk_taken
from kivaportal.pipeline.selectors import needs_attention_cases
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import IllegalTransition, NotAllowed, ReviewError
from kivaportal.workflow.transitions import audit_record


def earlier_drafts(model, records, environment_of) -> dict:
    """For each loan among `records`: the uuid of a draft Kiva already holds, in the
    environment its partner's connection sends to (`environment_of`: pk -> environment), for
    an earlier version of it, if any; one query for any number of loans. A draft that exists
    only on stage never holds back production."""
    content_type = ContentType.objects.get_for_model(model)
    versions = {record.pk: record.version for record in records if record.version > 1}
    if not versions:
        return {}
    found = {}
    rows = (
        Submission.objects.filter(
            content_type=content_type,
            object_id__in=list(versions),
            kind=SubmissionKind.LOAN_DRAFT,
            state=SubmissionState.SENT,
        )
        .order_by("object_id", "-record_version")
        .values_list("object_id", "record_version", "environment", "kiva_reference")
    )
    for object_id, version, environment, reference in rows:
        if object_id in found or version >= versions[object_id]:
            continue
        if environment in ("", environment_of.get(object_id, "")):
            found[object_id] = reference
    return found


def submissions_build(*, record, by, connection, earlier=None, now=None) -> list[Submission]:
    """What will go to Kiva for an approved record, frozen (not saved): one submission per
    API call. ReviewError when nothing may be sent (no active connection, no lines).
    `earlier`: the uuid of a draft Kiva holds of an earlier version (`earlier_drafts`)."""
    if connection is None:
        raise ReviewError(
            _("%(partner)s has no active Kiva connection: a partner admin sets it up first.")
            % {"partner": record.partner}
        )
    refusal = connection.production_refusal()
    if refusal:
        raise ReviewError(refusal)
    adapter = kind_of(record).kiva
    kind, endpoint = adapter.kind, adapter.endpoint
    bodies = adapter.bodies(record, connection)
    if not bodies:
        raise ReviewError(_("Nothing to send: the report has no lines."))
    content_type = ContentType.objects.get_for_model(record)
    now = now or timezone.now()
    earlier = earlier if kind == SubmissionKind.LOAN_DRAFT else None
    submissions = []
    for chunk, body in enumerate(bodies, start=1):
        data = payloads.to_json(body)
        submission = Submission(
            partner_id=record.partner_id,
            content_type=content_type,
            object_id=record.pk,
            record_version=record.version,
            record_label=str(record)[:200],
            kind=kind,
            chunk=chunk,
            chunks=len(bodies),
            idempotency_key=f"{kind}:{content_type.pk}:{record.pk}:v{record.version}:{chunk}",
            endpoint=endpoint,
            payload=data.decode("utf-8"),
            payload_sha256=hashlib.sha256(data).hexdigest(),
            created_by=by,
            next_attempt_at=now,
            # Where it goes: the connection's, as approved (each attempt keeps its full URL).
            environment=connection.environment,
            api_base_url=connection.api_base_url,
        )
        if earlier:
            # Kiva has no update for drafts: posting again would make a second draft.
            submission.state = SubmissionState.NEEDS_ATTENTION
            fields = message_fields(
                "error",
                message(
                    gettext_noop(
                        "Kiva already holds draft %(uuid)s of an earlier version of this loan. "
                        "Posting again makes a second draft: delete the old one in PA2, then "
                        "choose Send again; or, if you corrected the draft in PA2 itself, Mark "
                        "as sent."
                    ),
                    uuid=earlier,
                ),
            )
            for name, value in fields.items():
                setattr(submission, name, value)
        submissions.append(submission)
    return submissions


def submissions_save(submissions) -> None:
    """Save frozen submissions (of any number of records) in one statement per 500; the
    workers are told of the due ones after the commit."""
    Submission.objects.bulk_create(submissions, batch_size=500)
    due = [s.pk for s in submissions if s.state == SubmissionState.PENDING]
    if None in due:  # a database that does not return the new ids
        keys = [s.idempotency_key for s in submissions if s.state == SubmissionState.PENDING]
        due = list(Submission.objects.filter(idempotency_key__in=keys).values_list("pk", flat=True))
    transaction.on_commit(lambda: submissions_enqueue_many(submission_ids=due))


def submissions_create(*, record, by) -> list[Submission]:
    """Freeze what will go to Kiva for an approved record; call inside the approval's
    transaction. The record moves to queued; the workers are told after the commit."""
    connection = partner_connection(record.partner_id, active_only=True)
    environment = {record.pk: connection.environment} if connection else {}
    earlier = earlier_drafts(type(record), [record], environment).get(record.pk)
    submissions = submissions_build(record=record, by=by, connection=connection, earlier=earlier)
    submissions_save(submissions)
    record_follow_submissions(record=record, by=by)
    return submissions


def active_connections(partner_ids) -> dict:
    """Each partner's active Kiva connection (absent: none, or switched off)."""
    connections = KivaConnection.objects.filter(partner_id__in=set(partner_ids), is_active=True)
    return {connection.partner_id: connection for connection in connections}


def _require(user, submission):
    if not user_can(user, Action.APPROVE, submission.partner_id):
        raise NotAllowed(_("Only reviewers and partner admins act on submissions."))


def _locked(submission):
    return Submission.objects.select_for_update().get(pk=submission.pk)


@transaction.atomic
def submission_retry_now(*, submission, by):
    """Staff: send again now something that waits to retry or failed (never reached Kiva)."""
    submission = _locked(submission)
    _require(by, submission)
    if submission.state not in (SubmissionState.RETRYING, SubmissionState.FAILED):
        raise IllegalTransition(_("Only a submission waiting to retry or failed can be retried."))
    return _requeue(submission, by, AuditAction.RETRY_NOW)


@transaction.atomic
def submission_cancel(*, submission, by, comment=""):
    """Staff: stop sending a record (all its unsent chunks); it goes back to draft."""
    submission = _locked(submission)
    _require(by, submission)
    siblings = Submission.objects.select_for_update().filter(
        content_type_id=submission.content_type_id,
        object_id=submission.object_id,
        record_version=submission.record_version,
    )
    if any(
        s.state in (SubmissionState.SENT, SubmissionState.SENDING, SubmissionState.NEEDS_ATTENTION)
        for s in siblings
    ):
        raise IllegalTransition(
            _(
                "Part of this record is sent, being sent, or of unknown outcome: it cannot be "
                "cancelled."
            )
        )
    siblings.exclude(state=SubmissionState.CANCELLED).update(
        state=SubmissionState.CANCELLED, next_attempt_at=None
    )
    record = submission.record
    audit_record(
        record=record,
        actor=by,
        action=AuditAction.CANCELLED,
        from_state=record.state,
        to_state=record.state,
        comment=comment,
        data={"submission": submission.pk},
    )
    record_follow_submissions(record=record, by=by)
    return submission


@transaction.atomic
def submission_resolve(*, submission, by, decision, kiva_reference="", comment=""):
    """Staff decide a submission of unknown outcome: "sent" (Kiva has it; for a loan draft,
    with the draft's uuid from PA2) or "send_again" (it is certain Kiva does not have it)."""
    submission = _locked(submission)
    _require(by, submission)
    if submission.state != SubmissionState.NEEDS_ATTENTION:
        raise IllegalTransition(_("Only a submission that needs attention can be resolved."))
    if decision == "sent":
        reference = kiva_reference.strip()
        if submission.kind == SubmissionKind.LOAN_DRAFT and not _is_uuid(reference):
            raise ReviewError(_("Give the draft's uuid from PA2 to mark the loan as sent."))
        return _mark_sent(submission, by, reference, comment)
    if decision == "send_again":
        return _requeue(submission, by, AuditAction.SEND_AGAIN, comment)
    raise ReviewError(_("Choose “sent” or “send again”."))


def _is_uuid(text) -> bool:
    try:
        UUID(text)
    except (TypeError, ValueError):
        return False
    return True


def _mark_sent(submission, by, reference, comment, **data):
    """A person marks a submission of unknown outcome sent (Kiva has it, as `reference`):
    what a worker's "sent" writes, the loan's Kiva side and the report's loans included."""
    submission.state = SubmissionState.SENT
    submission.kiva_reference = reference
    submission.sent_at = timezone.now()
    submission.save(update_fields=["state", "kiva_reference", "sent_at", "updated_at"])
    if submission.kind == SubmissionKind.LOAN_DRAFT:
        loan_at_kiva_draft_sent(
            loan_id=submission.object_id, draft_uuid=reference, environment=submission.environment
        )
    report_chunk_taken(submission)
    _audit(submission, by, AuditAction.MARKED_SENT, comment, reference=reference, **data)
    record_follow_submissions(record=submission.record, by=by)
    return submission


def _requeue(submission, by, action, comment="", **data):
    submission.state = SubmissionState.PENDING
    submission.attempts = 0
    submission.next_attempt_at = timezone.now()
    submission.error, submission.error_message = "", None
    submission.save(
        update_fields=[
            "state",
            "attempts",
            "next_attempt_at",
            "error",
            "error_message",
            "updated_at",
        ]
    )
    _audit(submission, by, action, comment, **data)
    record_follow_submissions(record=submission.record, by=by)
    transaction.on_commit(lambda: submissions_enqueue(submission_ids=[submission.pk]))
    return submission


def _audit(submission, by, action, comment="", **data):
    record = submission.record
    audit_record(
        record=record,
        actor=by,
        action=action,
        from_state=record.state,
        to_state=record.state,
        comment=comment,
        data={"submission": submission.pk, "chunk": submission.chunk, **data},
    )


@dataclass
class BulkOutcome:
    done: list = field(default_factory=list)  # submissions
    refused: list = field(default_factory=list)  # (label, reason)


def submissions_bulk_resolve(*, submissions, by, action, confirmed=False) -> BulkOutcome:
    """Staff settle submissions that need attention in bulk, each in its own transaction
    under its row lock, with the evidence read again under that lock:
    - "mark_found": mark a loan draft sent with the draft uuid Kiva lists for it (found by the
      look-up or by reconciliation); refused where none was found;
    - "send_again": only where Kiva is known not to hold it (nothing found, an earlier
      version's draft gone from Kiva, Kiva's list read since a lost answer) and the person
      confirmed they checked PA2 (`confirmed`).
    `submissions` is already scoped to the user and the partner: an id outside it is not
    there to act on. Each is audited with the evidence it was decided on."""
    if action not in ("mark_found", "send_again"):
        raise ReviewError(_("Choose “mark as sent with the draft found” or “send again”."))
    if action == "send_again" and not confirmed:
        raise ReviewError(
            _(
                "Tick “I checked in PA2 that Kiva holds none of the selected” to send them "
                "again: Kiva may not list drafts that are not published."
            )
        )
    result = BulkOutcome()
    for submission in submissions:
        try:
            result.done.append(_bulk_one(submission, by, action))
        except ReviewError as refusal:
            result.refused.append((str(submission), refusal.message))
    return result


@transaction.atomic
def _bulk_one(submission, by, action):
    submission = _locked(submission)
    _require(by, submission)
    if submission.state != SubmissionState.NEEDS_ATTENTION:
        raise IllegalTransition(_("It no longer needs attention."))
    [case] = needs_attention_cases(Submission.objects.filter(pk=submission.pk))
    submission = case.submission
    if action == "mark_found":
        refusal = case.refusal_to_mark_found()
        if refusal:
            raise ReviewError(refusal)
        return _mark_sent(
            submission,
            by,
            case.found_uuid,
            message(gettext_noop("Marked as sent in bulk with the draft found at Kiva.")),
            found_by=case.found_by,
            bulk=True,
        )
    refusal = case.refusal_to_send_again()
    if refusal:
        raise ReviewError(refusal)
    return _requeue(
        submission,
        by,
        AuditAction.SEND_AGAIN,
        message(gettext_noop("Sent again in bulk: checked in PA2 that Kiva does not hold it.")),
        bulk=True,
        checked_since=case.checked_since,
        earlier_draft_gone=case.earlier_draft or None,
    )
