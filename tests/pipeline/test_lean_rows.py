"""The send's hot path writes and reads the outbox's rows with its own SQL on PostgreSQL
(claims.py, rows.py: docs/pipeline.md, section 9). These tests hold it to the models: what it
reads and writes must be, field for field, what the ORM reads and writes, so a column added to
`Submission` or `Attempt` (or renamed) that the statements do not follow fails here. On SQLite
they check the portable path the same way."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from kivaportal.common.rows import row_update
from kivaportal.pipeline import claims
from kivaportal.pipeline.models import Attempt, Submission, SubmissionKind, SubmissionState
from tests.factories import KivaConnectionFactory, LoanFactory

pytestmark = pytest.mark.django_db


def values(instance, exclude=()):
    """Every column's value, by attribute name."""
    return {
        f.attname: getattr(instance, f.attname)
        for f in type(instance)._meta.concrete_fields
        if f.attname not in exclude
    }


@pytest.fixture
def submission():
    connection = KivaConnectionFactory()
    loan = LoanFactory(partner=connection.partner)
    return Submission.objects.create(
        partner=connection.partner,
        content_type=ContentType.objects.get_for_model(loan),
        object_id=loan.pk,
        record_version=1,
        record_label=loan.mis_loan_id,
        kind=SubmissionKind.LOAN_DRAFT,
        idempotency_key=f"loan:{loan.pk}:1",
        endpoint="loan_draft",
        environment="stage",
        api_base_url=connection.api_base_url,
        payload='{"a": 1}',
        payload_sha256="0" * 64,
        problems=[{"loan_id": "L1", "message": "é"}],
        response={"uuid": "x"},
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )


def test_the_claim_reads_every_column_of_the_submission_and_its_connection(submission):
    claimed = claims.submission_claim(submission_id=submission.pk, worker="w1")
    assert claimed is not None
    stored = Submission.objects.get(pk=submission.pk)
    assert values(claimed) == values(stored)
    assert (stored.state, stored.attempts, stored.claimed_by) == (SubmissionState.SENDING, 1, "w1")
    connection = type(claimed.kiva_connection).objects.get(partner=submission.partner)
    assert values(claimed.kiva_connection) == values(connection)


def test_the_attempt_row_is_what_the_orm_would_write_with_the_models_defaults(submission):
    claimed = claims.submission_claim(submission_id=submission.pk, worker="w1")
    attempt = claims.submission_attempt_start(
        claimed, endpoint="loan_draft", worker="w1", url="https://api.kiva.test/loan_draft"
    )
    assert attempt is not None
    stored = Attempt.objects.get(pk=attempt.pk)
    # The ORM's row for the same values: every other column takes its model default.
    expected = Attempt(
        submission=claimed,
        number=1,
        method="POST",
        endpoint="loan_draft",
        url="https://api.kiva.test/loan_draft",
        started_at=attempt.started_at,
        worker="w1",
    )
    assert values(stored, exclude={"id"}) == values(expected, exclude={"id"})
    # And the instance the worker goes on with is the row.
    assert values(attempt) == values(stored)


def test_an_outcome_written_by_row_update_reads_back_as_the_orm_would_write_it(submission):
    now = timezone.now()
    fields = {
        "state": SubmissionState.SENT,
        "sent_at": now,
        "kiva_reference": "3f1c",
        "problems": [{"loan_id": "L2", "message": "ñ"}],
        "response": {"uuid": "3f1c", "n": [1, 2]},
        "error": "",
        "next_attempt_at": None,
    }
    assert row_update(Submission, pk=submission.pk, fields=fields) == 1
    written = Submission.objects.get(pk=submission.pk)
    for name, value in fields.items():
        setattr(submission, name, value)
    assert values(written, exclude={"updated_at"}) == values(submission, exclude={"updated_at"})
    # The condition is on the columns: a row no longer in that state is left alone.
    assert (
        row_update(
            Submission,
            pk=submission.pk,
            fields={"error": "late"},
            where={"state": SubmissionState.SENDING},
        )
        == 0
    )
