"""Sending one submission to Kiva: claim it, send it once, record what happened.

The claim is a conditional UPDATE (pending/retrying and due -> sending): of any number of
workers given the same id, exactly one gets it. The HTTP exchange runs outside any database
transaction. Its outcome decides what comes next (docs/pipeline.md):
- Kiva accepted it: sent, with Kiva's reference;
- Kiva refused the content (4xx): rejected, with Kiva's message, for staff to correct;
- nothing reached Kiva, or Kiva refused for a transient reason (429, 503, connect errors):
  retried later with backoff and jitter, Retry-After honoured; failed after the maximum;
- the request may have reached Kiva (timeout after sending, reset, 5xx after a POST): never
  sent again automatically. A loan draft is looked up with GET loans; if that cannot decide,
  a person does.
"""

import json
import logging
import os
import random
import socket
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.kiva.client import (
    KivaAmbiguousError,
    KivaAuthError,
    KivaClient,
    KivaPermanentError,
    KivaRetryableError,
)
from integrations.kiva.models import DUE_STATES, Attempt, KivaConnection, Submission
from integrations.kiva.models import SubmissionKind as K
from integrations.kiva.models import SubmissionState as St
from integrations.kiva.record_state import record_follow_submission

logger = logging.getLogger(__name__)
BODY_LIMIT = 10_000


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def submission_claim(*, submission_id, worker) -> bool:
    """Atomically take a due submission for sending; False if another worker has it, it is
    not due, or it is finished."""
    now = timezone.now()
    claimed = Submission.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=submission_id,
        state__in=DUE_STATES,
    ).update(
        state=St.SENDING,
        claimed_at=now,
        claimed_by=worker[:120],
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    return claimed == 1


def submission_send(*, submission_id, worker=None, client=None) -> str:
    """Claim and send one submission; returns its state afterwards (or "not_claimed")."""
    worker = worker or worker_name()
    if not submission_claim(submission_id=submission_id, worker=worker):
        return "not_claimed"
    submission = Submission.objects.select_related("partner__kiva_connection").get(pk=submission_id)
    record_follow_submission(submission)
    client = client or KivaClient(submission.partner.kiva_connection)
    # Written (and committed) before the request: a dead worker without this row certainly
    # sent nothing. Written under the submission's row lock, and only while the claim is still
    # this worker's: the sweeper settles a stale claim under the same lock, so a worker that
    # stalled past KIVA_STALE_SENDING_SECONDS (no hard time limit in its pool) finds its claim
    # gone and sends nothing, instead of sending what the sweeper has made due again.
    with transaction.atomic():
        if not _still_claimed(submission):
            return "lost_claim"
        attempt = Attempt.objects.create(
            submission=submission,
            number=Attempt.objects.filter(submission=submission).count() + 1,
            endpoint=submission.endpoint,
            started_at=timezone.now(),
            worker=worker[:120],
        )
    started = time.monotonic()
    try:
        response = _post(client, submission)
    except KivaAuthError as exc:
        _finish(attempt, started, exc, "failed")
        return _failed(
            submission,
            _(
                "Kiva refused the portal's credentials: %(error)s. Fix the "
                "Kiva connection, then retry."
            )
            % {"error": exc.message},
        )
    except KivaPermanentError as exc:
        _finish(attempt, started, exc, "rejected")
        return _rejected(submission, exc)
    except KivaRetryableError as exc:
        _finish(attempt, started, exc, "retryable")
        return _retry_or_fail(submission, exc)
    except KivaAmbiguousError as exc:
        _finish(attempt, started, exc, "ambiguous")
        return submission_outcome_unknown(submission=submission, reason=exc.message, client=client)
    except Exception as exc:  # noqa: BLE001 - a time limit or a bug mid-request: outcome unknown
        _finish(attempt, started, exc, "ambiguous")
        logger.exception("unexpected error sending submission %s", submission.pk)
        return submission_outcome_unknown(submission=submission, reason=repr(exc), client=client)
    _finish(attempt, started, None, "sent", response)
    return _sent(submission, response)


def _still_claimed(submission) -> bool:
    """Lock the submission's row (inside a transaction) if it is still as this claim left it."""
    return (
        Submission.objects.select_for_update()
        .filter(pk=submission.pk, state=St.SENDING, claimed_at=submission.claimed_at)
        .exists()
    )


def _post(client, submission):
    body = submission.payload.encode("utf-8")
    if submission.kind == K.LOAN_DRAFT:
        return client.create_loan_draft(body)
    if submission.kind == K.REPAYMENTS:
        return client.post_repayments(body)
    return client.post_journals(body)


def _finish(attempt, started, exc, outcome, response=None):
    attempt.finished_at = timezone.now()
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    attempt.outcome = outcome
    if response is not None:
        attempt.http_status = response.status
        attempt.response_body = response.text[:BODY_LIMIT]
    if exc is not None:
        attempt.http_status = getattr(exc, "status", None)
        attempt.error_class = type(exc).__name__
        attempt.error_message = getattr(exc, "message", str(exc))[:2000]
        attempt.response_body = (getattr(exc, "body", "") or "")[:BODY_LIMIT]
    attempt.save()


def _update(submission, **fields):
    """Write an outcome, only if the submission is still the one this worker claimed."""
    fields["updated_at"] = timezone.now()
    with transaction.atomic():
        changed = Submission.objects.filter(
            pk=submission.pk, state=St.SENDING, claimed_at=submission.claimed_at
        ).update(**fields)
        if changed:
            for name, value in fields.items():
                setattr(submission, name, value)
            record_follow_submission(submission)
    return submission.state if changed else "lost_claim"


def _sent(submission, response, note=""):
    data = response.data if isinstance(response.data, dict | list) else {}
    reference, confirm, problems = "", "", []
    if submission.kind == K.LOAN_DRAFT:
        reference = str(data.get("loan_draft_uuid", ""))
    elif submission.kind == K.REPAYMENTS:
        reference = str(data.get("upload_id", ""))
        problems = data.get("problems") or []
    else:
        items = data.get("journals", []) if isinstance(data, dict) else data
        confirm = next((i.get("confirm_url", "") for i in items if isinstance(i, dict)), "")
        reference = confirm
    return _update(
        submission,
        state=St.SENT,
        sent_at=timezone.now(),
        kiva_reference=reference,
        confirm_url=confirm,
        problems=problems,
        response=data or None,
        error=note,
        next_attempt_at=None,
    )


def _rejected(submission, exc):
    try:
        answer = json.loads(exc.body) if exc.body else None
    except ValueError:
        answer = None
    problems = answer.get("problems", []) if isinstance(answer, dict) else []
    return _update(
        submission,
        state=St.REJECTED,
        error=str(exc),
        response=answer,
        problems=problems,
        next_attempt_at=None,
    )


def _failed(submission, message):
    return _update(submission, state=St.FAILED, error=message, next_attempt_at=None)


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (half to full of the step), Retry-After as a floor."""
    step = min(
        settings.KIVA_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.KIVA_RETRY_MAX_SECONDS
    )
    delay = random.uniform(step / 2, step)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0)


def _retry_or_fail(submission, exc):
    if submission.attempts >= settings.KIVA_MAX_ATTEMPTS:
        return _failed(
            submission,
            _("Gave up after %(n)s attempts: %(error)s") % {"n": submission.attempts, "error": exc},
        )
    delay = retry_delay(submission.attempts, exc.retry_after)
    state = _update(
        submission,
        state=St.RETRYING,
        error=str(exc),
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    if state == St.RETRYING and delay <= settings.KIVA_RETRY_COUNTDOWN_MAX:
        # A short wait rides on the broker; a long one stays in the database for the sweeper.
        from integrations.kiva.outbox import submissions_enqueue

        submissions_enqueue(submission_ids=[submission.pk], countdown=delay)
    return state


def submission_outcome_unknown(*, submission, reason, client=None):
    """The request may have reached Kiva. A loan draft is looked up with GET loans; whatever
    cannot be decided that way waits for a person."""
    if submission.kind == K.LOAN_DRAFT and client is not None:
        found = _find_draft(submission, client)
        if found:
            return _update(
                submission,
                state=St.SENT,
                sent_at=timezone.now(),
                kiva_reference=found,
                next_attempt_at=None,
                error=_(
                    "Kiva's answer was lost (%(reason)s); GET loans shows the "
                    "draft, so it was created once."
                )
                % {"reason": reason},
            )
    return _update(
        submission,
        state=St.NEEDS_ATTENTION,
        next_attempt_at=None,
        error=_(
            "The outcome is unknown (%(reason)s): Kiva may or may not have it. Check PA2, "
            "then mark it as sent or send it again."
        )
        % {"reason": reason},
    )


def _find_draft(submission, client) -> str:
    """The uuid of the draft this submission created, if GET loans shows it."""
    body = json.loads(submission.payload)
    ids = {e.get("loan_id") for e in body.get("entreps", [])} | {body.get("internal_loan_id")}
    ids.discard(None)
    known = set(
        Submission.objects.filter(
            content_type_id=submission.content_type_id,
            object_id=submission.object_id,
            kind=K.LOAN_DRAFT,
            state=St.SENT,
        ).values_list("kiva_reference", flat=True)
    )
    for mis_id in sorted(ids):
        attempt = Attempt.objects.create(
            submission=submission,
            method="GET",
            endpoint=f"loans?query={mis_id}",
            number=Attempt.objects.filter(submission=submission).count() + 1,
            started_at=timezone.now(),
            worker=worker_name()[:120],
        )
        started = time.monotonic()
        try:
            loans = client.all_loans(query=mis_id)
        except Exception as exc:  # noqa: BLE001 - the look-up failing decides nothing
            _finish(attempt, started, exc, "lookup_failed")
            return ""
        _finish(attempt, started, None, "lookup")
        for item in loans:
            uuid = str(item.get("uuid") or item.get("loan_draft_uuid") or "")
            if item.get("internal_loan_id") in ids and uuid and uuid not in known:
                return uuid
    return ""


def submissions_sweep() -> dict:
    """What the periodic sweeper does: enqueue what is due and not on the queue (a missed
    enqueue, a broker outage, a retry whose time has come), and settle submissions whose
    worker died mid-send."""
    from integrations.kiva.outbox import submissions_enqueue

    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.KIVA_STALE_SENDING_SECONDS)
    stale = list(Submission.objects.filter(state=St.SENDING, claimed_at__lt=stale_before))
    for submission in stale:
        submission_settle_stale(submission=submission)
    now = timezone.now()  # the settled ones are due from now
    requeue_before = now - timedelta(seconds=settings.KIVA_REQUEUE_AFTER_SECONDS)
    due = list(
        Submission.objects.filter(state__in=DUE_STATES)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(
            Q(enqueued_at__isnull=True)
            | Q(enqueued_at__lt=requeue_before)
            | Q(enqueued_at__lt=F("next_attempt_at"))
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[: settings.KIVA_SWEEP_BATCH]
    )
    submissions_enqueue(submission_ids=due)
    return {"enqueued": len(due), "stale": len(stale)}


def submission_settle_stale(*, submission):
    """A worker claimed this and died (its time limit is far behind). Without an attempt of
    that claim nothing was sent: it is due again. With one, the outcome is unknown."""
    with transaction.atomic():
        # Under the lock a worker takes to write its attempt: either that attempt is here
        # (its request may be out) or the worker will find its claim gone and send nothing.
        if not _still_claimed(submission):
            return "lost_claim"
        started = Attempt.objects.filter(
            submission=submission, started_at__gte=submission.claimed_at
        ).exists()
        if not started:
            return _update(
                submission,
                state=St.RETRYING,
                next_attempt_at=timezone.now(),
                error=_("The worker stopped before sending; sending again."),
            )
    connection = KivaConnection.objects.filter(partner_id=submission.partner_id).first()
    client = KivaClient(connection) if connection else None
    return submission_outcome_unknown(
        submission=submission, reason=_("the worker stopped while sending"), client=client
    )
