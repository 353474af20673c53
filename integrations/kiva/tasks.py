"""Celery tasks for Kiva: thin, the work is in services."""

from celery import shared_task

from integrations.kiva.services import reference_sync_all


@shared_task(name="integrations.kiva.tasks.kiva_reference_sync_all", ignore_result=True)
def kiva_reference_sync_all():
    """Periodic (CELERY_BEAT_SCHEDULE): refresh every partner's reference lists from Kiva.

    Outcomes are kept on each connection (last_synced_at, last_sync_report).
    """
    reference_sync_all()
