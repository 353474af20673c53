"""Big bulk approvals run as jobs, with a page that shows their progress (docs/pipeline.md,
section 1). A selection of up to `INLINE_MAX` records (a queue's page) is approved in the
request; more (the admin's action, which can select thousands) become a `BulkApproval` that a
Celery task runs after the request commits (in-process without a broker,
CELERY_TASK_ALWAYS_EAGER, as import jobs do).

The job runs as the user who asked, through `records_bulk_approve`, so every rule of the
single approval holds in it exactly as in the request: the records are scoped to the user's
partners again when the job runs (a membership removed since is a refusal), the role is
read per partner at run time, four eyes, blocking errors and the transition table are
checked per record, and each approved record gets its own audit entries and submissions.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from kivaportal.common.checks import Finding, Severity
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.review.models import (
    BulkApproval,
    BulkApprovalOutcome,
    BulkApprovalRow,
    BulkApprovalStatus,
)
from kivaportal.review.services import records_bulk_approve
from kivaportal.workflow.errors import NotAllowed

logger = logging.getLogger(__name__)

# Up to this many records, a bulk approval runs in the request (under a second even on a
# loaded machine; a queue's page is 50); more run as a job.
INLINE_MAX = 50
# Records approved per transaction of a job: its progress moves after each.
BATCH = 100
# A running job whose progress has not moved for this long has stopped (its worker died).
STALLED_AFTER = timedelta(minutes=5)


def bulk_approval_inline(count: int) -> bool:
    """Whether a selection of `count` records is approved in the request."""
    return count <= INLINE_MAX


def bulk_approval_start(*, model, ids, by) -> BulkApproval:
    """A job approving the records `ids` of `model` (already scoped to `by`'s partners by the
    caller: scoped again when it runs), started once the caller's transaction commits."""
    if not user_can(by, Action.APPROVE):
        raise NotAllowed(_("Your role does not allow approving."))
    ids = sorted({int(pk) for pk in ids})
    job = BulkApproval.objects.create(
        created_by=by,
        content_type=ContentType.objects.get_for_model(model),
        record_ids=ids,
        total=len(ids),
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


# The job's task, by its name: the task calls this module, so this module does not import it
# (registered by kivaportal.review.tasks, imported when the app is ready).
RUN_TASK = "review.bulk_approval_run"


def _enqueue(job_id):
    try:
        current_app.tasks[RUN_TASK].delay(job_id)
    except OperationalError:
        # The broker is down: approve in this process rather than leave the job waiting.
        logger.warning("could not enqueue bulk approval %s; running it here", job_id)
        bulk_approval_run(job_id=job_id)


def bulk_approval_run(*, job_id):
    """Run a job once (a second delivery finds it no longer pending and does nothing)."""
    now = timezone.now()
    taken = BulkApproval.objects.filter(pk=job_id, status=BulkApprovalStatus.PENDING).update(
        status=BulkApprovalStatus.RUNNING, updated_at=now
    )
    if not taken:
        return
    job = BulkApproval.objects.select_related("created_by", "content_type").get(pk=job_id)
    with translation.override(job.language):
        try:
            _run(job)
        except Exception:
            # Each batch committed whole or not at all: the rows say what was done.
            logger.exception("bulk approval %s failed", job.pk)
            _finish(job, BulkApprovalStatus.FAILED, failure=_("An unexpected error stopped it."))
            return
    _finish(job, BulkApprovalStatus.DONE)


def _finish(job, status, failure=""):
    now = timezone.now()
    BulkApproval.objects.filter(pk=job.pk).update(
        status=status, failure=failure, finished_at=now, updated_at=now
    )


def _run(job):
    model, user = job.content_type.model_class(), job.created_by
    for start in range(0, len(job.record_ids), BATCH):
        ids = job.record_ids[start : start + BATCH]
        with transaction.atomic():
            # Scoped again: what the user may see now, not when they asked.
            records = list(model.objects.for_user(user).filter(pk__in=ids).order_by("pk"))
            result = records_bulk_approve(records=records, by=user)
            rows = _rows(job, ids, result)
            BulkApprovalRow.objects.bulk_create(rows)
            BulkApproval.objects.filter(pk=job.pk).update(
                done=F("done") + len(ids),
                approved=F("approved") + len(result.approved),
                refused=F("refused") + len(ids) - len(result.approved),
                updated_at=timezone.now(),
            )


def _rows(job, ids, result):
    rows, seen = [], set()
    for record in result.approved:
        found = [f for f in record.check_findings if f["severity"] == Severity.WARNING]
        rows.append(_row(job, record, BulkApprovalOutcome.APPROVED, findings=found))
        seen.add(record.pk)
    for record, reason in result.refused:
        rows.append(_row(job, record, BulkApprovalOutcome.REFUSED, reason=reason))
        seen.add(record.pk)
    missing = _("Not found among your partners' records (deleted, or no longer yours).")
    for pk in ids:
        if pk not in seen:
            rows.append(
                BulkApprovalRow(
                    job=job, object_id=pk, outcome=BulkApprovalOutcome.REFUSED, reason=missing
                )
            )
    return rows


def _row(job, record, outcome, *, reason="", findings=()):
    return BulkApprovalRow(
        job=job,
        object_id=record.pk,
        partner_id=record.partner_id,
        label=str(record)[:255],
        outcome=outcome,
        reason=reason,
        warnings=len(findings),
        findings=list(findings),
    )


def bulk_approval_stalled(job) -> bool:
    return job.is_running and timezone.now() - job.updated_at > STALLED_AFTER


def bulk_approval_progress(job) -> dict:
    """What the job's page shows of its progress (and polls while it runs)."""
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "running": job.is_running and not bulk_approval_stalled(job),
        "stalled": bulk_approval_stalled(job),
        "total": job.total,
        "done": job.done,
        "approved": job.approved,
        "refused": job.refused,
        "percent": int(100 * job.done / job.total) if job.total else 100,
    }


def bulk_approval_row_warnings(row) -> list[str]:
    """An approved row's warnings, in the reader's language."""
    return [Finding.from_dict(found).message for found in row.findings]
