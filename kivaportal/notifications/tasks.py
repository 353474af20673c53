"""Thin tasks for the Celery beat (kivaportal/settings.py, CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from kivaportal.notifications.services import notifications_send_all, notifications_send_digest


@shared_task(name="review.notifications_send", ignore_result=True)
def notifications_send_task():
    notifications_send_all()


@shared_task(name="review.notifications_digest", ignore_result=True)
def notifications_digest_task():
    notifications_send_digest()
