"""Sending one submission to Kiva: claim it, record the attempt, post it once, write what
happened. Which outcome follows which answer, and why: docs/pipeline.md (section 3)."""

import json
import logging
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from integrations.kiva.adapters import ADAPTERS
from integrations.kiva.client import (
    KivaAmbiguousError,
    KivaAuthError,
    KivaClient,
    KivaNotSentError,
    KivaPermanentError,
    KivaRetryableError,
)
from integrations.kiva.connection_models import Environment
from kivaportal.common.messages import label_message, message
from kivaportal.lending.services import loan_at_kiva_draft_sent
from kivaportal.pipeline.attempts import attempt_finish, worker_name
from kivaportal.pipeline.claims import (
    submission_attempt_start,
    submission_claim,
    submission_outcome_write,
)
from kivaportal.pipeline.models import (
    AttemptOutcome,
    ClaimResult,
    SubmissionKind,
    SubmissionState,
)
from kivaportal.pipeline.queue import submissions_enqueue
from kivaportal.pipeline.reconcile import loan_draft_lookup
from kivaportal.pipeline.timing import timing

logger = logging.getLogger(__name__)


def submission_send(*, submission_id, worker=None, client=None) -> str:
    """Claim and send one submission; returns its state afterwards, or a `ClaimResult`."""
    worker = worker or worker_name()
    # The claim reads the row and the partner's connection in the same statement.
    submission = submission_claim(submission_id=submission_id, worker=worker)
    if submission is None:
        return ClaimResult.NOT_CLAIMED
    # The record stays queued while this is in flight: it follows its submissions once, with
    # the outcome (docs/pipeline.md, section 5).
    connection = submission.kiva_connection  # read by the claim
    moved = _moved_elsewhere(submission, connection)
    if moved:
        # Approved for another environment (stage, before the switch to production): its
        # body was built for that one. Nothing is sent; production gets it through review.
        return _failed(submission, moved)
    client = client or KivaClient(connection)
    adapter = ADAPTERS[submission.kind]
    # Written (and committed) before the request, under the submission's row lock and only
    # while the claim is still this worker's (docs/pipeline.md, section 2).
    attempt = submission_attempt_start(
        submission,
        endpoint=submission.endpoint,
        worker=worker,
        url=client.endpoint_url(submission.endpoint),
    )
    if attempt is None:
        return ClaimResult.LOST_CLAIM
    try:
        response = adapter.post(client, submission.payload.encode("utf-8"))
    except KivaAuthError as exc:
        attempt_finish(attempt, outcome=AttemptOutcome.FAILED, exc=exc)
        return _failed(
            submission,
            message(
                gettext_noop(
                    "Kiva refused the portal's credentials: %(error)s. Fix the "
                    "Kiva connection, then retry."
                ),
                error=exc.message,
            ),
        )
    except KivaNotSentError as exc:
        attempt_finish(attempt, outcome=AttemptOutcome.NOT_SENT, exc=exc)
        return _failed(
            submission,
            message(
                gettext_noop("Nothing was sent to Kiva: %(error)s Fix it, then retry."),
                error=exc.message,
            ),
        )
    except KivaPermanentError as exc:
        attempt_finish(attempt, outcome=AttemptOutcome.REJECTED, exc=exc)
        return _rejected(submission, exc)
    except KivaRetryableError as exc:
        attempt_finish(attempt, outcome=AttemptOutcome.RETRYABLE, exc=exc)
        return _retry_or_fail(submission, exc)
    except KivaAmbiguousError as exc:
        attempt_finish(attempt, outcome=AttemptOutcome.AMBIGUOUS, exc=exc)
        return submission_outcome_unknown(submission=submission, reason=exc.message, client=client)
    except Exception as exc:  # noqa: BLE001 - a time limit or a bug mid-request: outcome unknown
        attempt_finish(attempt, outcome=AttemptOutcome.AMBIGUOUS, exc=exc)
        logger.exception("unexpected error sending submission %s", submission.pk)
        return submission_outcome_unknown(submission=submission, reason=repr(exc), client=client)
    data = response.data if isinstance(response.data, dict | list) else {}
    answer = adapter.read_answer(data)  # never raises: an unknown shape is `readable=False`
    if not answer.readable and adapter.lookup:
        # Kiva took the draft but its answer carries no uuid we can read: as good as lost.
        attempt_finish(attempt, outcome=AttemptOutcome.AMBIGUOUS, response=response)
        return submission_outcome_unknown(
            submission=submission,
            reason=message(
                gettext_noop(
                    "Kiva accepted it, but its answer has no draft uuid the portal can read"
                )
            ),
            client=client,
        )
    problems = list(answer.problems)
    if not answer.readable:
        problems.append(
            {
                "loan_id": "",
                "code": UNREADABLE_ANSWER,
                "severity": "warning",
                "details": _("Kiva's answer could not be read; it is kept as received."),
                "index": None,
            }
        )
    outcome = AttemptOutcome.SENT_WITH_PROBLEMS if problems else AttemptOutcome.SENT
    # The attempt's end, the outcome, the record's move and the loan's Kiva side commit
    # together, the outcome only while the claim holds.
    with transaction.atomic():
        attempt_finish(attempt, outcome=outcome, response=response)
        return _sent(submission, data, answer.reference, answer.confirm_url, problems)


def _moved_elsewhere(submission, connection) -> dict | None:
    """Why `submission` may not go through `connection` as it is now (a message), or None."""
    if connection is None:
        return message(
            gettext_noop("The partner has no Kiva connection any more: nothing was sent.")
        )
    if submission.environment and submission.environment != connection.environment:
        return message(
            gettext_noop(
                "Approved for Kiva %(then)s, but the connection is now %(now)s: nothing was "
                "sent. Correct it as a new version to send it through review to %(now)s."
            ),
            then=label_message(Environment(submission.environment).label),
            now=label_message(Environment(connection.environment).label),
        )
    return connection.production_refusal_message()


# The code of the problem that stands for an answer the portal could not read.
UNREADABLE_ANSWER = "portal.unreadable_answer"


def _sent(submission, data, reference, confirm_url, problems):
    state = submission_outcome_write(
        submission,
        state=SubmissionState.SENT,
        sent_at=timezone.now(),
        kiva_reference=reference,
        confirm_url=confirm_url,
        problems=problems,
        response=data or None,
        error="",
        next_attempt_at=None,
    )
    if state == SubmissionState.SENT and submission.kind == SubmissionKind.LOAN_DRAFT:
        # Reconciliation matches Kiva's list by this uuid first (in the outcome's transaction
        # when the caller has one).
        loan_at_kiva_draft_sent(
            loan_id=submission.object_id,
            draft_uuid=reference,
            environment=submission.environment,
        )
    return state


def _rejected(submission, exc):
    try:
        answer = json.loads(exc.body) if exc.body else None
    except ValueError:
        answer = None
    problems = answer.get("problems", []) if isinstance(answer, dict) else []
    return submission_outcome_write(
        submission,
        state=SubmissionState.REJECTED,
        error=str(exc),
        response=answer,
        problems=problems,
        next_attempt_at=None,
    )


def _failed(submission, message):
    return submission_outcome_write(
        submission, state=SubmissionState.FAILED, error=message, next_attempt_at=None
    )


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """The wait before the next try after `attempts` tries: its step of the retry schedule
    with jitter (half to all of the step), Kiva's Retry-After as a floor."""
    steps = timing().retry_steps
    step = steps[min(attempts, len(steps)) - 1]
    delay = random.uniform(step / 2, step)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0)


def _retry_or_fail(submission, exc):
    schedule = timing()
    if submission.attempts >= schedule.max_attempts:
        return _failed(
            submission,
            message(
                gettext_noop("Gave up after %(n)s attempts: %(error)s"),
                n=submission.attempts,
                error=exc,
            ),
        )
    delay = retry_delay(submission.attempts, exc.retry_after)
    state = submission_outcome_write(
        submission,
        state=SubmissionState.RETRYING,
        error=str(exc),
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    if state == SubmissionState.RETRYING and delay <= schedule.broker_countdown_max:
        submissions_enqueue(submission_ids=[submission.pk], countdown=delay)
    return state


def submission_outcome_unknown(*, submission, reason, client=None):
    """The request may have reached Kiva. What can be looked up at Kiva (a loan draft, with
    GET loans) is; whatever cannot be decided that way waits for a person."""
    # Only the environment it was sent to can say whether it arrived (a stage send is never
    # looked up in production after the connection moved).
    same_place = client is not None and submission.environment in (
        "",
        client.connection.environment,
    )
    if ADAPTERS[submission.kind].lookup and same_place:
        found = loan_draft_lookup(submission, client)
        if found:
            loan_at_kiva_draft_sent(
                loan_id=submission.object_id,
                draft_uuid=found,
                environment=submission.environment,
            )
            return submission_outcome_write(
                submission,
                state=SubmissionState.SENT,
                sent_at=timezone.now(),
                kiva_reference=found,
                next_attempt_at=None,
                error=message(
                    gettext_noop(
                        "Kiva's answer was lost (%(reason)s); GET loans shows the "
                        "draft, so it was created once."
                    ),
                    reason=reason,
                ),
            )
    return submission_outcome_write(
        submission,
        state=SubmissionState.NEEDS_ATTENTION,
        next_attempt_at=None,
        error=message(
            gettext_noop(
                "The outcome is unknown (%(reason)s): Kiva may or may not have it. Check PA2, "
                "then mark it as sent or send it again."
            ),
            reason=reason,
        ),
    )
