"""Big file imports run here, out of the request: an id in, the service, the outcome in the
ImportJob row."""

from celery import shared_task
from django.utils import translation

from integrations.mis.import_jobs import import_job_run


@shared_task(soft_time_limit=3600, time_limit=3900)
def run_import_job(job_id: int, commit: bool, user_id: int | None, language: str | None = None):
    # A big import legitimately takes longer than the portal's default task limits.
    with translation.override(language):
        import_job_run(job_id=job_id, commit=commit, user_id=user_id)


@shared_task
def purge_intake_files():
    from integrations.mis.retention import import_files_purge

    import_files_purge()
