"""Celery tasks for Kiva: thin, an id in, a service call, the outcome in our tables."""

from celery import shared_task

from integrations.kiva.sending import submission_send, submissions_sweep
from integrations.kiva.services import reference_sync_all


@shared_task(name="integrations.kiva.tasks.kiva_reference_sync_all", ignore_result=True)
def kiva_reference_sync_all():
    """Periodic (CELERY_BEAT_SCHEDULE): refresh every partner's reference lists from Kiva.

    Outcomes are kept on each connection (last_synced_at, last_sync_report).
    """
    reference_sync_all()


# acks_late is safe here because the claim is: a message delivered again (its worker died)
# finds the submission no longer due and does nothing; the sweeper settles it.
@shared_task(name="kiva.send_submission", ignore_result=True, acks_late=True)
def kiva_send_submission(submission_id):
    submission_send(submission_id=submission_id)


@shared_task(name="kiva.sweep_submissions", ignore_result=True)
def kiva_sweep_submissions():
    submissions_sweep()
