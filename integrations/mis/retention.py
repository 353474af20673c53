"""Retention of uploaded MIS files: they hold borrowers' personal data, and once an import is
over (imported, refused, failed, or a preview nobody committed) the portal no longer needs
them: the records and the job's results stay, the files go after INTAKE_FILE_RETENTION_DAYS."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from integrations.mis.models import ImportJob, ImportStatus
from kivaportal.common.messages import message

FILE_FIELDS = ("file", "members_file", "schedule_file", "photos_file")
# A preview nobody committed within the retention period cannot be committed afterwards.
OVER = (ImportStatus.IMPORTED, ImportStatus.INVALID, ImportStatus.FAILED, ImportStatus.CHECKED)


def import_files_purge(*, days: int | None = None, now=None) -> int:
    """Delete the files of imports over for more than `days` (default: the setting); returns
    how many jobs lost their files. 0 days means keep them."""
    days = settings.INTAKE_FILE_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    due = (
        ImportJob.objects.filter(status__in=OVER)
        .filter(Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, updated_at__lt=cutoff))
        .exclude(file="")
    )
    purged = 0
    for job in due.iterator():
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job.pk)
            if job.status not in OVER:
                continue  # started again meanwhile
            for name in FILE_FIELDS:
                stored = getattr(job, name)
                if stored:
                    stored.storage.delete(stored.name)
            results = {**job.results, "files_purged_at": timezone.now().isoformat()}
            fields = dict.fromkeys(FILE_FIELDS, "")
            if job.status == ImportStatus.CHECKED:
                fields["status"] = ImportStatus.FAILED
                results["failure"] = message(
                    gettext_noop(
                        "The uploaded files were deleted after %(days)d days without an "
                        "import; upload them again."
                    ),
                    days=days,
                )
            ImportJob.objects.filter(pk=job.pk).update(results=results, **fields)
            purged += 1
    return purged
