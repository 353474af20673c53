"""The Celery application. Tasks are thin: an id in, a service call, the outcome in our tables."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kivaportal.settings")

app = Celery("kivaportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
