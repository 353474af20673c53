"""The outbox's writes: submissions created at approval, and what staff do with them.

Exactly-once is built here and in `sending.py` (see docs/pipeline.md):
- a submission is written in the approval's transaction, with the exact bytes to send and a
  key unique per record version and chunk, so nothing approved is lost and nothing is queued
  twice;
- a worker sends only a submission it has claimed by a conditional UPDATE;
- nothing that may have reached Kiva is sent again without a person deciding it.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.kiva import payloads
from integrations.kiva.models import KivaConnection, Submission, SubmissionKind
from integrations.kiva.models import SubmissionState as St
from integrations.kiva.record_state import record_follow_submissions
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan
from kivaportal.lending.selectors import loans_with_details
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.repayments.models import RepaymentReport
from kivaportal.review.errors import IllegalTransition, NotAllowed, ReviewError
from kivaportal.review.services import audit_record

logger = logging.getLogger(__name__)


def _bodies(record, connection):
    """(kind, endpoint, [bodies]) for a record, from the payload builders."""
    if isinstance(record, Loan):
        loan = loans_with_details(Loan.objects.all()).get(pk=record.pk)
        body = payloads.loan_draft(loan, connection=connection)
        return SubmissionKind.LOAN_DRAFT, "loan_draft", [body]
    if isinstance(record, RepaymentReport):
        batches = payloads.report_batches(record, connection=connection)
        return SubmissionKind.REPAYMENTS, "repayments", batches
    if isinstance(record, Journal):
        item = payloads.journal_item(record, partner=record.partner)
        return (
            SubmissionKind.JOURNAL,
            "journals",
            [payloads.journals_body([item], connection=connection)],
        )
    raise TypeError(type(record).__name__)


def _earlier_draft(record, content_type):
    """The uuid of a draft Kiva already holds for an earlier version of this loan, if any."""
    return (
        Submission.objects.filter(
            content_type=content_type,
            object_id=record.pk,
            kind=SubmissionKind.LOAN_DRAFT,
            state=St.SENT,
            record_version__lt=record.version,
        )
        .order_by("-record_version")
        .values_list("kiva_reference", flat=True)
        .first()
    )


def submissions_create(*, record, by) -> list[Submission]:
    """Freeze what will go to Kiva for an approved record; call inside the approval's
    transaction. The record moves to queued; the workers are told after the commit."""
    connection = KivaConnection.objects.filter(partner_id=record.partner_id, is_active=True).first()
    if connection is None:
        raise ReviewError(
            _("%(partner)s has no active Kiva connection: a partner admin sets it up first.")
            % {"partner": record.partner}
        )
    kind, endpoint, bodies = _bodies(record, connection)
    if not bodies:
        raise ReviewError(_("Nothing to send: the report has no lines."))
    content_type = ContentType.objects.get_for_model(record)
    now = timezone.now()
    earlier = _earlier_draft(record, content_type) if kind == SubmissionKind.LOAN_DRAFT else None
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
        )
        if earlier:
            # Kiva has no update for drafts: posting again would make a second draft.
            submission.state = St.NEEDS_ATTENTION
            submission.error = _(
                "Kiva already holds draft %(uuid)s of an earlier version of this loan. Posting "
                "again makes a second draft: delete the old one in PA2, then choose Send again; "
                "or, if you corrected the draft in PA2 itself, Mark as sent."
            ) % {"uuid": earlier}
        submissions.append(submission)
    Submission.objects.bulk_create(submissions)
    record_follow_submissions(record=record, by=by)
    due = [
        s.pk
        for s in Submission.objects.filter(
            content_type=content_type,
            object_id=record.pk,
            record_version=record.version,
            state=St.PENDING,
        )
    ]
    transaction.on_commit(lambda: submissions_enqueue(submission_ids=due))
    return submissions


def submissions_enqueue(*, submission_ids, countdown=None):
    """Tell the workers. A broker that is down loses nothing: the rows are in the database
    and the sweeper enqueues them again (docs/pipeline.md)."""
    from integrations.kiva.tasks import kiva_send_submission

    for submission_id in submission_ids:
        try:
            kiva_send_submission.apply_async(
                args=[submission_id], countdown=countdown, queue=settings.KIVA_QUEUE
            )
        except Exception:  # noqa: BLE001 - any broker failure: the sweeper will retry
            logger.warning(
                "could not enqueue submission %s; the sweeper will", submission_id, exc_info=True
            )
            continue
        Submission.objects.filter(pk=submission_id).update(enqueued_at=timezone.now())


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
    if submission.state not in (St.RETRYING, St.FAILED):
        raise IllegalTransition(_("Only a submission waiting to retry or failed can be retried."))
    return _requeue(submission, by, "kiva.retry_now")


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
    if any(s.state in (St.SENT, St.SENDING, St.NEEDS_ATTENTION) for s in siblings):
        raise IllegalTransition(
            _(
                "Part of this record is sent, being sent, or of unknown outcome: it cannot be "
                "cancelled."
            )
        )
    siblings.exclude(state=St.CANCELLED).update(state=St.CANCELLED, next_attempt_at=None)
    record = submission.record
    audit_record(
        record=record,
        actor=by,
        action="kiva.cancelled",
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
    if submission.state != St.NEEDS_ATTENTION:
        raise IllegalTransition(_("Only a submission that needs attention can be resolved."))
    if decision == "sent":
        if submission.kind == SubmissionKind.LOAN_DRAFT and not kiva_reference.strip():
            raise ReviewError(_("Give the draft's uuid from PA2 to mark the loan as sent."))
        submission.state = St.SENT
        submission.kiva_reference = kiva_reference.strip()
        submission.sent_at = timezone.now()
        submission.save(update_fields=["state", "kiva_reference", "sent_at", "updated_at"])
        _audit(submission, by, "kiva.marked_sent", comment, reference=submission.kiva_reference)
        record_follow_submissions(record=submission.record, by=by)
        return submission
    if decision == "send_again":
        return _requeue(submission, by, "kiva.send_again", comment)
    raise ReviewError(_("Choose “sent” or “send again”."))


def _requeue(submission, by, action, comment=""):
    submission.state = St.PENDING
    submission.attempts = 0
    submission.next_attempt_at = timezone.now()
    submission.error = ""
    submission.save(update_fields=["state", "attempts", "next_attempt_at", "error", "updated_at"])
    _audit(submission, by, action, comment)
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
