"""Celery tasks of the pipeline: thin, an id in, a service call, the outcome in our tables.
Named `kiva.*`, so CELERY_TASK_ROUTES puts them on the KIVA_QUEUE."""

from celery import shared_task

from kivaportal.pipeline.queue import ENQUEUE_TASK, SEND_TASK, submissions_enqueue
from kivaportal.pipeline.reconcile import reconcile_all, reconcile_partner_by_id
from kivaportal.pipeline.sending import submission_send
from kivaportal.pipeline.sweep import submissions_sweep


# acks_late is safe here because the claim is: a message delivered again (its worker died)
# finds the submission no longer due and does nothing; the sweeper settles it.
@shared_task(name=SEND_TASK, ignore_result=True, acks_late=True)
def kiva_submission_send(submission_id):
    submission_send(submission_id=submission_id)


@shared_task(name=ENQUEUE_TASK, ignore_result=True)
def kiva_submissions_enqueue(submission_ids):
    """A bulk approval's submissions, put on the queue one by one here."""
    submissions_enqueue(submission_ids=submission_ids)


@shared_task(name="kiva.submissions_sweep", ignore_result=True)
def kiva_submissions_sweep():
    submissions_sweep()


@shared_task(name="kiva.reconcile_all", ignore_result=True)
def kiva_reconcile_all():
    """Periodic (CELERY_BEAT_SCHEDULE, every KIVA_RECONCILE_HOURS): every partner's loans."""
    reconcile_all()


@shared_task(name="kiva.reconcile_partner", ignore_result=True)
def kiva_reconcile_partner(partner_id, user_id=None):
    """A partner admin's "Reconcile with Kiva now"."""
    reconcile_partner_by_id(partner_id=partner_id, user_id=user_id)
