"""Settling with Kiva's own list what the portal cannot know from Kiva's answers.

1. A loan draft whose answer was lost: GET loans shows whether it was created
   (`loan_draft_lookup`; docs/pipeline.md, section 3, "Outcome unknown").
2. Reconciliation, what Kiva did with each loan after it was sent: `reconcile_partner` pages
   through GET loans (300 a page) for one partner connection and records each page on the
   partner's loans (`lending.services.loans_at_kiva_apply`: Kiva id, status with its history,
   funded amount, delinquency, last seen). It is idempotent (a second reading changes nothing
   but "last seen"); each page is committed with the run's next offset, so a stopped run is
   resumed where it stopped; once the whole list was read, loans Kiva listed before but not
   now are flagged (a draft deleted in PA2), never guessed. A loan draft that *needs
   attention* is settled when Kiva lists a draft of that loan that no sent submission
   accounts for: marked sent with that uuid, audited "found at Kiva". It runs on a beat
   schedule (KIVA_RECONCILE_HOURS), from `manage.py kiva_reconcile` and from a partner
   admin's button; docs/kiva.md.
"""

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.kiva.client import MAX_PAGE_SIZE, KivaClient, KivaError
from kivaportal.lending.models import Loan, known_in_q
from kivaportal.lending.services import loans_at_kiva_apply, loans_at_kiva_flag_missing
from kivaportal.pipeline.attempts import BODY_LIMIT, attempt_finish, attempt_start
from kivaportal.pipeline.follow import record_follow_submissions
from kivaportal.pipeline.models import (
    AttemptOutcome,
    Reconciliation,
    ReconciliationState,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.transitions import audit_record


def loan_draft_lookup(submission, client) -> str:
    """The uuid of the draft this submission created, if GET loans shows it; "" otherwise
    (not listed, or the look-up itself failed: nothing is decided then).

    GETs are safe to repeat: the client retries each page on connection errors, timeouts, 429
    and any 5xx (KIVA_GET_ATTEMPTS) before the look-up counts as failed. The attempt row keeps
    the evidence for staff: the full URL, the retries, and what Kiva listed (or the error)."""
    body = json.loads(submission.payload)
    ids = {e.get("loan_id") for e in body.get("entreps", [])} | {body.get("internal_loan_id")}
    ids.discard(None)
    known = set(
        Submission.objects.filter(
            content_type_id=submission.content_type_id,
            object_id=submission.object_id,
            kind=SubmissionKind.LOAN_DRAFT,
            state=SubmissionState.SENT,
            environment__in=_same_environment(submission),
        ).values_list("kiva_reference", flat=True)
    )
    for mis_id in sorted(ids):
        attempt = attempt_start(
            submission,
            method="GET",
            endpoint=f"loans?query={mis_id}",
            url=client.loans_url(query=mis_id),
        )
        retried = len(client.retries)
        try:
            loans = client.all_loans(query=mis_id)
        except Exception as exc:  # noqa: BLE001 - the look-up failing decides nothing
            attempt_finish(attempt, outcome=AttemptOutcome.LOOKUP_FAILED, exc=exc)
            _note_retries(attempt, client.retries[retried:])
            return ""
        found = ""
        for item in loans:
            uuid = str(item.get("uuid") or item.get("loan_draft_uuid") or "")
            if item.get("internal_loan_id") in ids and uuid and uuid not in known:
                found = uuid
                break
        attempt_finish(attempt, outcome=AttemptOutcome.LOOKUP)
        attempt.http_status = 200
        attempt.response_body = json.dumps(
            {
                "listed": [
                    {
                        k: item.get(k)
                        for k in ("uuid", "loan_draft_uuid", "id", "internal_loan_id", "status")
                        if item.get(k) is not None
                    }
                    for item in loans[:50]
                ],
                "already_accounted_for": sorted(known & {str(i.get("uuid")) for i in loans}),
                "found": found,
            }
        )[:BODY_LIMIT]
        _note_retries(attempt, client.retries[retried:])
        attempt.save(update_fields=["http_status", "response_body", "error_message"])
        if found:
            return found
    return ""


def _note_retries(attempt, retries):
    if retries:
        attempt.error_message = (
            f"GET retried {len(retries)} time(s) after: {', '.join(r for _p, r in retries)}. "
            + attempt.error_message
        ).strip()[:2000]
        attempt.save(update_fields=["error_message"])


def _same_environment(submission) -> list[str]:
    """The environments whose sends count with `submission`'s: its own (and "", a send from
    before environments were recorded). A draft that exists only on stage is not production's."""
    return [submission.environment, ""] if submission.environment else [""]


logger = logging.getLogger(__name__)

# A run still "running" with no page recorded for this long lost its worker: taken over.
STALE_AFTER = timedelta(minutes=15)
# A stopped run is resumed by the next one within this time; after it a new reading starts.
RESUME_WITHIN = timedelta(hours=24)


def reconcile_partner(
    *, connection, by=None, client=None, page_size: int = MAX_PAGE_SIZE
) -> Reconciliation | None:
    """Read the partner's whole loan list at Kiva and record it; resumes a stopped run.
    Returns the run, or None when another run of the partner is in progress."""
    run = _start_or_resume(connection, by)
    if run is None:
        return None
    client = client or KivaClient(connection)
    try:
        for offset, page in _pages_read_ahead(client, run.next_offset, page_size):
            _record_page(run, offset, page)
    except KivaError as exc:
        logger.warning(
            "kiva reconcile partner %s stopped at %s: %s", run.partner_id, run.next_offset, exc
        )
        Reconciliation.objects.filter(pk=run.pk).update(
            state=ReconciliationState.FAILED, error=str(exc)[:2000], updated_at=timezone.now()
        )
        run.refresh_from_db()
        return run
    now = timezone.now()
    flagged = loans_at_kiva_flag_missing(
        partner=run.partner, seen_before=run.started_at, now=now, environment=run.environment
    )
    Reconciliation.objects.filter(pk=run.pk).update(
        state=ReconciliationState.DONE, finished_at=now, flagged=flagged, error="", updated_at=now
    )
    run.refresh_from_db()
    logger.info(
        "kiva reconcile partner %s: %s loans read, %s matched, %s changed, %s flagged",
        run.partner_id,
        run.seen,
        run.matched,
        run.changed,
        run.flagged,
    )
    return run


def _pages_read_ahead(client, offset, page_size):
    """(offset, page) from `offset` to the end, the next page asked for while this one is
    recorded: the wall time is about the GET calls' rather than their sum with our work.
    Only HTTP happens in the reading thread; every database write stays in the caller's."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiva-reconcile") as reader:
        ahead = reader.submit(client.loan_page, offset=offset, limit=page_size)
        while True:
            page = ahead.result()  # a KivaError raised while reading surfaces here
            following = offset + page.received
            # Without a total, a short page is the last one.
            last = not page.received or (
                page.received < page_size if page.total is None else following >= page.total
            )
            if not last:
                ahead = reader.submit(client.loan_page, offset=following, limit=page_size)
            yield offset, page
            if last:
                return
            offset = following


def _start_or_resume(connection, by) -> Reconciliation | None:
    partner = connection.partner
    now = timezone.now()
    with transaction.atomic():
        last = (
            Reconciliation.objects.select_for_update()
            .filter(partner=partner)
            .order_by("-started_at", "-id")
            .first()
        )
        if last is not None and last.state == ReconciliationState.RUNNING:
            if now - last.updated_at < STALE_AFTER:
                return None
            last.state = ReconciliationState.FAILED  # its worker died; resumed below
        if (
            last is not None
            and last.state == ReconciliationState.FAILED
            and now - last.started_at < RESUME_WITHIN
            and last.environment == connection.environment
        ):
            last.state = ReconciliationState.RUNNING
            last.error = ""
            last.save(update_fields=["state", "error", "updated_at"])
            return last
        if last is not None and last.state == ReconciliationState.FAILED:
            last.save(update_fields=["state", "updated_at"])
    try:
        with transaction.atomic():
            return Reconciliation.objects.create(
                partner=partner, environment=connection.environment, started_at=now, started_by=by
            )
    except IntegrityError:  # another process started one meanwhile
        return None


@transaction.atomic
def _record_page(run, offset, page):
    seen_at = timezone.now()
    outcome = loans_at_kiva_apply(
        partner=run.partner, items=page.loans, seen_at=seen_at, environment=run.environment
    )
    settled = _settle_needs_attention(run, outcome)
    run.next_offset = offset + page.received
    run.total = page.total
    run.pages += 1
    run.seen += len(page.loans)
    run.matched += outcome.matched
    run.changed += outcome.changed
    run.unknown += outcome.unknown
    run.unreadable += page.unreadable
    run.settled += settled
    run.save()


def _settle_needs_attention(run, outcome) -> int:
    """Mark sent the page's loans' drafts that need attention when Kiva lists a draft of the
    loan that no sent submission accounts for. Two queries a page, plus one per settled draft."""
    items = {}
    for loan_id, item in outcome.items_by_loan.items():
        items.setdefault(loan_id, []).append(item)
    for item, loan_id in outcome.other_drafts:
        items.setdefault(loan_id, []).append(item)
    if not items:
        return 0
    loan_type = ContentType.objects.get_for_model(Loan)
    waiting = list(
        Submission.objects.select_for_update()
        .filter(
            content_type=loan_type,
            object_id__in=items,
            kind=SubmissionKind.LOAN_DRAFT,
            state=SubmissionState.NEEDS_ATTENTION,
        )
        .filter(known_in_q(run.environment))
        .order_by("id")
    )
    if not waiting:
        return 0
    accounted = set(
        Submission.objects.filter(
            content_type=loan_type,
            object_id__in=[s.object_id for s in waiting],
            kind=SubmissionKind.LOAN_DRAFT,
            state=SubmissionState.SENT,
        )
        .filter(known_in_q(run.environment))
        .values_list("kiva_reference", flat=True)
    )
    settled = 0
    for submission in waiting:
        found = next(
            (i for i in items[submission.object_id] if i.uuid and i.uuid not in accounted), None
        )
        if found is None:
            continue
        accounted.add(found.uuid)
        submission.state = SubmissionState.SENT
        submission.kiva_reference = found.uuid
        submission.sent_at = timezone.now()
        submission.save(update_fields=["state", "kiva_reference", "sent_at", "updated_at"])
        record = submission.record
        audit_record(
            record=record,
            actor=None,
            action=AuditAction.FOUND_AT_KIVA,
            from_state=record.state,
            to_state=record.state,
            data={
                "submission": submission.pk,
                "reference": found.uuid,
                "kiva_status": found.status,
                "reconciliation": run.pk,
            },
        )
        record_follow_submissions(record=record)
        settled += 1
    return settled


def reconcile_partner_by_id(*, partner_id: int, user_id: int | None = None):
    """`reconcile_partner` for a task: the partner's connection and the user from their ids."""
    from django.contrib.auth import get_user_model

    from integrations.kiva.models import KivaConnection

    connection = KivaConnection.objects.select_related("partner").get(partner_id=partner_id)
    by = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return reconcile_partner(connection=connection, by=by)


def reconcile_all() -> dict[int, str]:
    """Every active connection's partner, one after the other (the beat task)."""
    from integrations.kiva.models import KivaConnection

    results = {}
    for connection in KivaConnection.objects.filter(is_active=True).select_related("partner"):
        try:
            run = reconcile_partner(connection=connection)
        except Exception as exc:  # noqa: BLE001 - one partner's failure must not stop the rest
            logger.exception("kiva reconcile partner %s failed", connection.partner_id)
            results[connection.partner_id] = f"error: {exc}"
            continue
        results[connection.partner_id] = run.state if run else "already running"
    return results
