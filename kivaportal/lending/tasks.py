"""Celery tasks for reconciliation with Kiva: thin, an id in, a service call, the outcome in
our tables (the Reconciliation row)."""

from celery import shared_task


@shared_task(name="kiva.reconcile_all", ignore_result=True)
def kiva_reconcile_all():
    """Periodic (CELERY_BEAT_SCHEDULE, every KIVA_RECONCILE_HOURS): every partner's loans."""
    from kivaportal.lending.reconciliation import reconcile_all

    reconcile_all()


@shared_task(name="kiva.reconcile_partner", ignore_result=True)
def kiva_reconcile_partner(partner_id, user_id=None):
    """A partner admin's "Reconcile with Kiva now"."""
    from django.contrib.auth import get_user_model

    from integrations.kiva.models import KivaConnection
    from kivaportal.lending.reconciliation import reconcile_partner

    connection = KivaConnection.objects.select_related("partner").get(partner_id=partner_id)
    by = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    reconcile_partner(connection=connection, by=by)
