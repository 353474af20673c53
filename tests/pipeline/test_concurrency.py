"""Two workers finishing chunks of the same record at the same moment (PostgreSQL: real row
locks between two connections; SQLite serialises writers and cannot show it)."""

import threading
from datetime import date

import pytest
from django.db import connection, connections
from django.utils import timezone

from kivaportal.pipeline import claims, follow
from kivaportal.pipeline.models import Submission, SubmissionKind
from kivaportal.pipeline.models import SubmissionState as St
from kivaportal.workflow.states import RecordState as S
from tests.factories import RepaymentReportFactory


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row locks between two connections need PostgreSQL")


def report_in_two_chunks_being_sent(setup):
    setup.connection.repayment_batch_size = 1
    setup.connection.save()
    loans = [setup.first, setup.loan(state=S.SENT)]
    for loan in loans:
        setup.repayment(loan)
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=2)
    report = setup.approve(
        RepaymentReportFactory(partner=setup.partner, month=date(2026, 2, 1), state=S.SUBMITTED)
    )
    Submission.objects.filter(kind=SubmissionKind.REPAYMENTS).update(
        state=St.SENDING, claimed_at=timezone.now()
    )
    follow.record_follow_submissions(record=report)
    report.refresh_from_db()
    assert report.state == S.SENDING
    return report, list(Submission.objects.filter(kind=SubmissionKind.REPAYMENTS))


def test_two_chunks_sent_at_once_leave_the_report_sent(setup, postgres, monkeypatch):
    """Each worker writes its chunk's outcome and then brings the report up to date. If one
    read the chunks' states before the other's outcome committed, and then waited for the
    other's lock on the report, it would leave the report "sending" with every chunk sent."""
    report, chunks = report_in_two_chunks_being_sent(setup)
    arrived = [threading.Event(), threading.Event()]
    transition = follow.record_transition

    def meet_then_follow(me):
        # Both workers reach the report's update with what they read, then go on.
        def wrapped(*args, **kwargs):
            arrived[me].set()
            arrived[1 - me].wait(timeout=2)
            return transition(*args, **kwargs)

        return wrapped

    local = threading.local()
    monkeypatch.setattr(
        follow,
        "record_transition",
        lambda *args, **kwargs: meet_then_follow(local.me)(*args, **kwargs),
    )
    errors = []

    def finish(me, chunk):
        local.me = me
        try:
            claims.submission_outcome_write(
                chunk, state=St.SENT, sent_at=timezone.now(), next_attempt_at=None
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=finish, args=(n, c)) for n, c in enumerate(chunks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert set(Submission.objects.values_list("state", flat=True)) == {St.SENT}
    report.refresh_from_db()
    assert report.state == S.SENT
