"""Telling the workers: a submission's id on the Kiva queue. A broker that is down loses
nothing: the rows are in the database and the sweeper puts them on the queue again
(docs/pipeline.md, section 1)."""

import logging

from celery import current_app
from django.conf import settings
from django.utils import timezone

from kivaportal.pipeline.models import Submission

logger = logging.getLogger(__name__)

# The send task, by its name: the task calls the services, so the services do not import it
# (registered by kivaportal.pipeline.tasks, imported when the app is ready).
SEND_TASK = "kiva.submission_send"


def submissions_enqueue(*, submission_ids, countdown=None):
    task = current_app.tasks[SEND_TASK]
    published = []
    for submission_id in submission_ids:
        try:
            task.apply_async(args=[submission_id], countdown=countdown, queue=settings.KIVA_QUEUE)
        except Exception:  # noqa: BLE001 - any broker failure: the sweeper will retry
            logger.warning(
                "could not enqueue submission %s; the sweeper will", submission_id, exc_info=True
            )
            continue
        published.append(submission_id)
    if published:
        Submission.objects.filter(pk__in=published).update(enqueued_at=timezone.now())
