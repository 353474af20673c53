"""Attempt rows: one per HTTP exchange with Kiva, started before the request goes out and
finished after (docs/pipeline.md, section 2)."""

import os
import socket
import time

from django.utils import timezone

from kivaportal.common.rows import row_update
from kivaportal.pipeline.models import Attempt

BODY_LIMIT = 10_000
# What finishing an attempt writes: the rest was written before the request.
FINISH_FIELDS = (
    "finished_at",
    "duration_ms",
    "outcome",
    "http_status",
    "response_body",
    "error_class",
    "error_message",
)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def attempt_start(submission, *, endpoint, method="POST", worker=None, url="") -> Attempt:
    attempt = Attempt.objects.create(
        submission=submission,
        # The claim's count: look-ups that settle a try carry that try's number.
        number=submission.attempts,
        method=method,
        endpoint=endpoint,
        url=url[:500],
        started_at=timezone.now(),
        worker=(worker or worker_name())[:120],
    )
    attempt.started = time.monotonic()
    return attempt


def attempt_finish(attempt, *, outcome, exc=None, response=None):
    attempt.finished_at = timezone.now()
    attempt.duration_ms = int((time.monotonic() - attempt.started) * 1000)
    attempt.outcome = outcome
    if response is not None:
        attempt.http_status = response.status
        attempt.response_body = response.text[:BODY_LIMIT]
    if exc is not None:
        attempt.http_status = getattr(exc, "status", None)
        attempt.error_class = type(exc).__name__
        attempt.error_message = getattr(exc, "message", str(exc))[:2000]
        attempt.response_body = (getattr(exc, "body", "") or "")[:BODY_LIMIT]
    fields = {name: getattr(attempt, name) for name in FINISH_FIELDS}
    row_update(Attempt, pk=attempt.pk, fields=fields)
