"""Celery tasks of the Kiva connection: thin, a service call, the outcome in our tables."""

from celery import shared_task


@shared_task(name="kiva.reference_sync_all", ignore_result=True)
def kiva_reference_sync_all():
    """Periodic (CELERY_BEAT_SCHEDULE): refresh every partner's reference lists from Kiva.
    Outcomes are kept on each connection (last_synced_at, last_sync_report)."""
    from integrations.kiva.services import reference_sync_all

    reference_sync_all()


@shared_task(name="kiva.reference_sync_connection", ignore_result=True)
def kiva_reference_sync_connection(connection_id):
    """A partner admin's "Sync reference data now" (kivaportal.review.team)."""
    from integrations.kiva.services import reference_sync_connection

    reference_sync_connection(connection_id=connection_id)
