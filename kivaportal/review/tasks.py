"""Celery tasks of the review: thin, an id in, a service call, the outcome in our tables."""

from celery import shared_task

from kivaportal.review.bulk_jobs import RUN_TASK, bulk_approval_run


# A job of thousands of records takes longer than the portal's default task limits.
@shared_task(name=RUN_TASK, ignore_result=True, soft_time_limit=3600, time_limit=3900)
def review_bulk_approval_run(job_id):
    bulk_approval_run(job_id=job_id)
