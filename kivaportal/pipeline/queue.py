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


# The task that puts many submissions on the queue (a bulk approval's): one message from the
# approval, the worker publishes the rest.
ENQUEUE_TASK = "kiva.submissions_enqueue"
# Up to this many, the approval publishes each itself; more go through ENQUEUE_TASK.
ENQUEUE_DIRECTLY = 20


def submissions_enqueue(*, submission_ids, countdown=None):
    """Put each submission on the Kiva queue (one message each, through one producer)."""
    app = current_app
    task = app.tasks[SEND_TASK]
    published = []
    with app.producer_or_acquire() as producer:
        for submission_id in submission_ids:
            try:
                task.apply_async(
                    args=[submission_id],
                    countdown=countdown,
                    queue=settings.KIVA_QUEUE,
                    producer=producer,
                )
            except Exception:  # noqa: BLE001 - any broker failure: the sweeper will retry
                logger.warning(
                    "could not enqueue submission %s; the sweeper will",
                    submission_id,
                    exc_info=True,
                )
                continue
            published.append(submission_id)
    if published:
        Submission.objects.filter(pk__in=published).update(enqueued_at=timezone.now())


def submissions_enqueue_many(*, submission_ids):
    """A bulk approval's submissions: a few are published here; more in one message to a
    worker that publishes them (`kiva.submissions_enqueue`), so the approval does not wait
    for a thousand publishes. A failed publish loses nothing: the sweeper finds them."""
    submission_ids = list(submission_ids)
    if len(submission_ids) <= ENQUEUE_DIRECTLY:
        submissions_enqueue(submission_ids=submission_ids)
        return
    try:
        current_app.tasks[ENQUEUE_TASK].apply_async(
            args=[submission_ids], queue=settings.KIVA_QUEUE
        )
    except Exception:  # noqa: BLE001 - any broker failure: the sweeper will enqueue them
        logger.warning(
            "could not enqueue %d submissions; the sweeper will", len(submission_ids), exc_info=True
        )
