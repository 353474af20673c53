"""File imports: an uploaded file becomes an ImportJob, is checked (the preview), then imported
all or nothing. The request only stores the files: every check and import, whatever the file's
size, runs in a Celery task (in-process right after the upload's transaction commits when
there is no broker, CELERY_TASK_ALWAYS_EAGER); the page polls the job's progress."""

import logging

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from integrations.mis.fields import NumberFormat
from integrations.mis.formats import FileSource, count_rows, has_sheet
from integrations.mis.importers.base import intake_lock
from integrations.mis.importers.borrowers import BorrowerImporter
from integrations.mis.importers.journals import JournalImporter
from integrations.mis.importers.loan_people import PeopleSource, has_person_columns
from integrations.mis.importers.loans import LoanImporter
from integrations.mis.importers.repayments import RepaymentImporter
from integrations.mis.models import ImportJob, ImportKind, ImportStatus, IntakeFormat
from integrations.mis.photo_archive import PhotoArchive
from kivaportal.common.checks import Severity
from kivaportal.common.messages import message
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.review.services import records_bulk_submit
from kivaportal.workflow.errors import IllegalTransition
from kivaportal.workflow.models import SUBMIT_STATES, AuditEntry

log = logging.getLogger(__name__)

IMPORTERS = {
    ImportKind.BORROWERS: BorrowerImporter,
    ImportKind.LOANS: LoanImporter,
    ImportKind.REPAYMENTS: RepaymentImporter,
    ImportKind.JOURNALS: JournalImporter,
}
# The kinds whose records are reviewed, each on its own page.
REVIEWED = {ImportKind.LOANS: Loan, ImportKind.JOURNALS: Journal}
# The sheets of a loans workbook, and the inputs they feed.
LOAN_SHEETS = {"main": "loans", "members": "borrowers", "schedule": "schedule"}


def number_format(partner) -> NumberFormat:
    found = IntakeFormat.for_partner(partner)
    return NumberFormat(decimal_separator=found.decimal_separator, date_format=found.date_format)


def _opener_for(field):
    # Storage files are reopened for each pass; `with` closes them after.
    def open_file():
        return field.storage.open(field.name, "rb")

    return open_file


def job_sources(job: ImportJob) -> dict:
    main = _opener_for(job.file)
    encoding = job.encoding
    if job.kind != ImportKind.LOANS:
        return {"main": FileSource(main, name=job.original_name, encoding=encoding)}
    first = FileSource(main, name=job.original_name, encoding=encoding)
    if first.xlsx:
        return {
            key: FileSource(main, name=sheet, sheet=sheet)
            for key, sheet in LOAN_SHEETS.items()
            if key == "main" or has_sheet(main, sheet)
        }
    sources = {"main": first}
    for key, field in (("members", job.members_file), ("schedule", job.schedule_file)):
        if field:
            sources[key] = FileSource(
                _opener_for(field), name=field.name.rsplit("/", 1)[-1], encoding=encoding
            )
    return sources


def import_job_create(
    *,
    partner,
    kind,
    file,
    by,
    members_file=None,
    schedule_file=None,
    photos_file=None,
    encoding="auto",
):
    if not user_can(by, Action.EDIT, partner.pk):
        raise PermissionDenied(_("Your role in this partner does not allow importing."))
    if encoding == "auto":
        encoding = IntakeFormat.for_partner(partner).encoding
    job = ImportJob(
        partner=partner,
        kind=kind,
        original_name=(file.name or "upload")[:255],
        encoding=encoding,
        created_by=by,
        updated_by=by,
    )
    job.file.save(file.name or "upload", file, save=False)
    if members_file:
        job.members_file.save(members_file.name, members_file, save=False)
    if schedule_file:
        job.schedule_file.save(schedule_file.name, schedule_file, save=False)
    if photos_file:
        job.photos_file.save(photos_file.name, photos_file, save=False)
    job.save()  # rows_total is counted by the task: nothing is read in the request
    return job


def import_job_start(*, job: ImportJob, commit: bool, by, now: bool = False):
    """Queue the check (commit=False) or the import in the import task, for any file. `now`
    runs it here instead, in the caller's transaction, and returns the job as it ends: for a
    caller whose whole work is one transaction (the demo's loader), which a task would only
    see after it commits."""
    if not user_can(by, Action.EDIT, job.partner_id):
        raise PermissionDenied(_("Your role in this partner does not allow importing."))
    if commit and job.status != ImportStatus.CHECKED:
        raise PermissionDenied(_("Only a checked file without errors can be imported."))
    status = ImportStatus.IMPORTING if commit else ImportStatus.CHECKING
    job.updated_by = by
    job.mark(status, rows_done=0, updated_by=by)
    if now:
        return import_job_run(job_id=job.pk, commit=commit, user_id=by.pk)
    # Never parsed in the request, whatever its size: the task reads it (in-process right after
    # this transaction commits when there is no broker, CELERY_TASK_ALWAYS_EAGER).
    from integrations.mis.tasks import run_import_job

    # The results keep the problems as text: in the language of the person who asked.
    language = translation.get_language()
    transaction.on_commit(lambda: run_import_job.delay(job.pk, commit, by.pk, language))
    return job


def progress_key(job_id) -> str:
    return f"mis:import:{job_id}:progress"


def import_job_progress(job: ImportJob) -> dict:
    done = job.rows_done
    if job.is_running:
        done = cache.get(progress_key(job.pk), done)
    # Both the check (a rehearsal) and the import read the rows, then write them again.
    total = job.rows_total * 2
    percent = 100 if not job.is_running else min(99, int(100 * done / total) if total else 0)
    return {"status": job.status, "status_label": job.get_status_display(), "percent": percent}


def import_job_records(job: ImportJob):
    """The reviewed records (loans, journals) the job created or changed, found by the audit
    entries that name it; None for kinds without review pages (borrowers, repayments)."""
    model = REVIEWED.get(job.kind)
    if model is None:
        return None
    entries = AuditEntry.objects.filter(
        partner_id=job.partner_id,
        content_type=ContentType.objects.get_for_model(model),
        data__import_job=job.pk,
    ).values("object_id")
    return model.objects.filter(partner_id=job.partner_id, pk__in=entries)


def _record_key(record) -> str:
    """The key the preview lists a record under (the importers' `note`)."""
    if isinstance(record, Journal):
        return f"{record.loan.mis_loan_id}: {record.subject}"
    return record.mis_loan_id


def _checks_of_written(job: ImportJob, outcome: dict):
    """After a write, the stored checks of the records it wrote, as their pages run them: per
    preview row its findings and whether it is ready, and the counts over the whole file (in
    the database: a big file's findings are not all read into memory)."""
    records = import_job_records(job)
    if records is None:
        return
    outcome["checks"] = records.aggregate(
        ready=Count("pk", filter=Q(check_errors=0)),
        blocked=Count("pk", filter=Q(check_errors__gt=0)),
        with_warnings=Count("pk", filter=Q(check_warnings__gt=0)),
    )
    keys = {row["key"] for row in outcome["preview"]}
    if job.kind == ImportKind.JOURNALS:
        shown = records.select_related("loan").filter(
            loan__mis_loan_id__in={key.split(": ", 1)[0] for key in keys}
        )
    else:
        shown = records.filter(mis_loan_id__in=keys)
    findings = {_record_key(r): r.check_findings for r in shown}
    for row in outcome["preview"]:
        found = findings.get(row["key"])
        if found is not None:
            row["findings"] = found
            row["ready"] = not any(f["severity"] == Severity.ERROR for f in found)


def _remove_files(importer, storage):
    for name in getattr(importer, "stored_files", ()):
        if name:
            storage.delete(name)


def _results(outcome, people) -> dict:
    """The job's results: the main importer's, with the borrowers a loans file named."""
    results = outcome.as_dict()
    if people is None:
        return results
    found = people.outcome.as_dict()
    results["borrowers"] = {k: found[k] for k in ("created", "updated", "unchanged")}
    results["errors"] = found["errors"] + results["errors"]  # the borrowers', then the loans'
    results["error_count"] += found["error_count"]
    return results


def import_job_run(*, job_id: int, commit: bool, user_id: int | None):
    """The check (commit=False) or the import of a job. The check is a rehearsal: when the
    file has no errors, it is written inside a transaction that is then rolled back, so the
    preview shows each record's checks exactly as its review page will (blocking errors and
    warnings), before anything is imported."""
    from django.contrib.auth import get_user_model

    job = ImportJob.objects.select_related("partner", "created_by").get(pk=job_id)
    # The records are by who uploaded the file (its content), whoever pressed "Import now":
    # under four eyes the uploader never approves them.
    actor = job.created_by or get_user_model().objects.filter(pk=user_id).first()
    if not job.rows_total:  # counted here, not in the request: the progress bar's 100 %
        files = (job.file, job.members_file, job.schedule_file)
        job.rows_total = sum(count_rows(_opener_for(f)) for f in files if f)
        job.save(update_fields=["rows_total"])
    done = [0]

    def progress(phase, n):
        # Inside the import's transaction the job row cannot be seen by others: use the cache.
        done[0] += n
        cache.set(progress_key(job.pk), done[0], timeout=3600)

    kwargs = {
        "partner": job.partner,
        "fmt": number_format(job.partner),
        "actor": actor,
        "job_id": job.pk,
        "progress": progress,
    }
    sources = job_sources(job)
    if job.kind == ImportKind.LOANS:
        archive = PhotoArchive(_opener_for(job.photos_file)) if job.photos_file else None
        importer = LoanImporter(sources=sources, photo_archive=archive, **kwargs)
    else:
        importer = IMPORTERS[job.kind](sources=sources, **kwargs)
    # A loans file whose borrowers sheet names the borrowers: they are created or updated
    # first, by the borrower importer, in the same transaction (docs/intake.md).
    people = named = None
    try:
        members = sources.get("members") if job.kind == ImportKind.LOANS else None
        if members is not None and has_person_columns(members):
            named = PeopleSource(members)
            people = BorrowerImporter(sources={"main": named}, **kwargs)
        with transaction.atomic():
            intake_lock(partner=job.partner)
            # Check and write with each row parsed once (docs/performance.md, "Intake"): the
            # borrowers first, so that the loans find them; if they have a problem, the loans
            # are only checked, taking the borrowers the sheet describes as existing.
            if people is not None and not people.commit().ok:
                importer.pending_clients |= named.clients
                outcome = importer.check()
            elif commit or job.kind in REVIEWED:
                outcome = importer.commit()
            else:
                # Borrowers and repayments have no checks of their own to show: their preview
                # is the check alone, without the rehearsal's writes.
                outcome = importer.check()
            ok = outcome.ok and (people is None or people.outcome.ok)
            results = _results(outcome, people)
            if ok:
                _checks_of_written(job, results)
            if not commit or not ok:
                transaction.set_rollback(True)  # the rehearsal, or a problem: nothing stays
    except IllegalTransition as refusal:
        # A record moved on (a worker took it for Kiva) between the check and the write.
        _remove_files(importer, job.file.storage)
        job.mark(ImportStatus.FAILED, results={"failure": refusal.message})
        return job
    except Exception:
        # Whatever went wrong, the transaction was rolled back; the page must say so.
        log.exception("Import job %s failed", job.pk)
        _remove_files(importer, job.file.storage)
        failure = message(gettext_noop("The import failed unexpectedly."))
        job.mark(ImportStatus.FAILED, results={"failure": failure})
        return job
    if not commit:
        _remove_files(importer, job.file.storage)  # the rehearsal's photos: nothing stays
    if results["error_count"]:
        status = ImportStatus.INVALID
    else:
        status = ImportStatus.IMPORTED if commit else ImportStatus.CHECKED
    job.mark(status, results=results, rows_done=done[0])
    cache.delete(progress_key(job.pk))
    return job


def import_job_submit_all(*, job: ImportJob, by):
    """Submit for review every record the job imported that may be submitted and has no
    blocking error, each through the review service (role, checks run afresh, audit), as the
    queue's bulk submit does."""
    if job.status != ImportStatus.IMPORTED:
        raise PermissionDenied(_("Only an imported file's records can be submitted."))
    records = import_job_records(job)
    if records is None:
        raise PermissionDenied(_("These records are not reviewed: there is nothing to submit."))
    # Drafts, and records whose changes were requested (the sources of `submit`).
    ready = records.filter(state__in=SUBMIT_STATES, check_errors=0).order_by("pk")
    return records_bulk_submit(records=ready, by=by)
