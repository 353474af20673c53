"""A worker's hold on a submission: taking it, checking it still holds it, and writing an
outcome only while it does (docs/pipeline.md, section 2).

The send's hot path is written in as few statements as keep those guarantees (docs/pipeline.md,
section 9): the claim also reads the row and the partner's connection (one UPDATE ... RETURNING),
and the attempt row is inserted from the submission's row locked and re-checked in the same
statement (INSERT ... SELECT ... FOR UPDATE).
"""

import time
from functools import cache

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.kiva.connection_models import KivaConnection
from kivaportal.common.messages import message_fields
from kivaportal.common.rows import row_update
from kivaportal.pipeline.follow import record_follow_submission
from kivaportal.pipeline.models import (
    DUE_STATES,
    Attempt,
    ClaimResult,
    Submission,
    SubmissionState,
)
from kivaportal.pipeline.resend import report_chunk_taken

DUE = [str(state) for state in DUE_STATES]


@cache
def _claim_sql() -> tuple[str, list, list]:
    """The claim's statement, and the fields it reads of the submission and the connection."""
    submission, kiva = Submission._meta, KivaConnection._meta
    own, theirs = list(submission.concrete_fields), list(kiva.concrete_fields)
    columns = ", ".join(
        [f'claimed."{f.column}"' for f in own] + [f'c."{f.column}"' for f in theirs]
    )
    # Names from the models, values as parameters.
    sql = (
        f'WITH claimed AS (UPDATE "{submission.db_table}" SET state = %s, claimed_at = %s, '  # noqa: S608
        "claimed_by = %s, attempts = attempts + 1, updated_at = %s "
        "WHERE id = %s AND state = ANY(%s) "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= %s) RETURNING *) "
        f'SELECT {columns} FROM claimed LEFT JOIN "{kiva.db_table}" c '
        "ON c.partner_id = claimed.partner_id"
    )
    return sql, own, theirs


def _from_row(model, fields, values):
    """A model instance from raw column values, through each field's converters (JSON)."""
    db = connection.alias
    for i, field in enumerate(fields):
        for converter in field.get_db_converters(connection):
            values[i] = converter(values[i], field, connection)
    return model.from_db(db, [f.attname for f in fields], values)


def submission_claim(*, submission_id, worker) -> Submission | None:
    """Atomically take a due submission for sending; None if another worker has it, it is not
    due, or it is finished. The claimed row comes back with its partner's Kiva connection
    (`submission.kiva_connection`, None without one), read by the same statement."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        return _claim_portable(submission_id, worker, now)
    sql, own, theirs = _claim_sql()
    params = [SubmissionState.SENDING, now, worker[:120], now, submission_id, DUE, now]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    submission = _from_row(Submission, own, list(row[: len(own)]))
    rest = list(row[len(own) :])
    found = rest[theirs.index(KivaConnection._meta.pk)] is not None
    submission.kiva_connection = _from_row(KivaConnection, theirs, rest) if found else None
    return submission


def _claim_portable(submission_id, worker, now):
    """The claim in two statements (SQLite: the development database)."""
    claimed = Submission.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=submission_id,
        state__in=DUE_STATES,
    ).update(
        state=SubmissionState.SENDING,
        claimed_at=now,
        claimed_by=worker[:120],
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not claimed:
        return None
    submission = Submission.objects.get(pk=submission_id)
    submission.kiva_connection = KivaConnection.objects.filter(
        partner_id=submission.partner_id
    ).first()
    return submission


def submission_claim_held(submission) -> bool:
    """Lock the submission's row (inside a transaction) if it is still as this claim left it."""
    return (
        Submission.objects.select_for_update()
        .filter(pk=submission.pk, state=SubmissionState.SENDING, claimed_at=submission.claimed_at)
        .exists()
    )


@cache
def _attempt_sql() -> str:
    # Names from the models, values as parameters.
    return (
        f'INSERT INTO "{Attempt._meta.db_table}" (submission_id, number, method, endpoint, url, '  # noqa: S608
        "started_at, outcome, error_class, error_message, response_body, worker) "
        "SELECT id, attempts, %s, %s, %s, %s, '', '', '', '', %s "
        f'FROM "{Submission._meta.db_table}" WHERE id = %s AND state = %s AND claimed_at = %s '
        "FOR UPDATE RETURNING id"
    )


def submission_attempt_start(submission, *, endpoint, worker, url, method="POST") -> Attempt | None:
    """The attempt row of this claim, written (and committed) before the request: under the
    submission's row lock and only while the claim is still this worker's, in one statement
    (the sweeper settles a stale claim under the same lock). None: the claim is gone, send
    nothing."""
    started_at = timezone.now()
    values = {
        "number": submission.attempts,  # the claim's count
        "method": method,
        "endpoint": endpoint,
        "url": url[:500],
        "started_at": started_at,
        "worker": worker[:120],
    }
    if connection.vendor != "postgresql":  # SQLite: the check and the insert in a transaction
        with transaction.atomic():
            if not submission_claim_held(submission):
                return None
            attempt = Attempt.objects.create(submission=submission, **values)
        attempt.started = time.monotonic()
        return attempt
    with connection.cursor() as cursor:
        cursor.execute(
            _attempt_sql(),
            [
                method,
                endpoint,
                values["url"],
                started_at,
                values["worker"],
                submission.pk,
                SubmissionState.SENDING,
                submission.claimed_at,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    attempt = Attempt(id=row[0], submission=submission, **values)
    attempt._state.adding = False
    attempt.started = time.monotonic()
    return attempt


@transaction.atomic(savepoint=False)
def submission_outcome_write(submission, **fields):
    """Write an outcome, only if the submission is still the one this worker claimed, and
    move its record to follow, in one transaction (the caller's, if it has one: no
    savepoint). Returns the new state, or LOST_CLAIM. `error`: a message (`message(...)`,
    read in each reader's language) or plain text (evidence); both its fields are written."""
    if "error" in fields:
        fields.update(message_fields("error", fields["error"]))
    fields["updated_at"] = timezone.now()
    changed = row_update(
        Submission,
        pk=submission.pk,
        fields=fields,
        where={"state": SubmissionState.SENDING, "claimed_at": submission.claimed_at},
    )
    if not changed:
        return ClaimResult.LOST_CLAIM
    for name, value in fields.items():
        setattr(submission, name, value)
    if submission.state == SubmissionState.SENT:
        report_chunk_taken(submission)
    record_follow_submission(submission)
    return submission.state
