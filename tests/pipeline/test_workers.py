"""The pipeline on real parts: PostgreSQL, a Redis server of the test's own, the Kiva sandbox as
its own server process, and real `celery worker` processes (prefork, --concurrency 1).

Each test approves records in this process (the approval commits the outbox rows and enqueues
to Redis), lets the workers send, and judges the outcome from both sides: the portal's
submissions and records, and what the sandbox received (its request log and its tables).
The sweeper runs here, called every second, as Celery beat would call it.

Only on PostgreSQL (several processes share the test database, which pytest-django made and
which `transactional_db` commits to); CI runs them. Marked `workers`: `-m "not workers"` skips
them locally.
"""

import json
import logging
import time
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.db import connection

from integrations.kiva.sandbox.models import (
    SandboxJournal,
    SandboxLoan,
    SandboxRequest,
    SandboxUpload,
)
from kivaportal.pipeline import sweep
from kivaportal.pipeline.models import Attempt, Submission, SubmissionKind
from kivaportal.pipeline.models import SubmissionState as St
from kivaportal.pipeline.reconcile import reconcile_partner
from kivaportal.workflow.states import RecordState as S
from tests.pipeline import workload
from tests.pipeline.realparts import NotReady, Parts, RedisServer, database_url, wait_until

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]

logger = logging.getLogger(__name__)
FINISHED = (St.SENT, St.REJECTED, St.FAILED, St.NEEDS_ATTENTION, St.CANCELLED)
# Settings every worker gets: retries come within seconds, not minutes.
FAST = {"KIVA_PIPELINE_TIMING": json.dumps({"retry_steps": [0.5, 1, 2, 4, 4, 4, 4]})}


@pytest.fixture
def parts(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the tests on real parts need PostgreSQL (DATABASE_URL=postgres://...)")
    if not RedisServer.available():
        if __import__("os").environ.get("CI"):
            pytest.fail("redis-server is not installed: CI must run the tests on real parts")
        pytest.skip("redis-server is not installed")
    parts = Parts(tmp_path, database_url=database_url(django_settings.DATABASES["default"]))
    try:
        parts.start_redis()
        parts.use_broker()
        yield parts
    except NotReady:
        _dump(parts)
        raise
    finally:
        parts.close()


def _dump(parts):
    for process in [parts.sandbox, *parts.workers.values()]:
        if process is not None:
            print(f"---- {process.name} ----\n{process.output()}")


def until_finished(parts, submissions, *, timeout, sweep_every=1.0):
    """Wait until every submission has an outcome, sweeping as beat would."""
    ids = [s.pk for s in submissions] if submissions else None
    last_sweep = [0.0]

    def unfinished():
        qs = Submission.objects.exclude(state__in=FINISHED)
        return qs.filter(pk__in=ids).count() if ids is not None else qs.count()

    def tick():
        if time.monotonic() - last_sweep[0] >= sweep_every:
            last_sweep[0] = time.monotonic()
            sweep.submissions_sweep()

    try:
        wait_until(
            lambda: unfinished() == 0,
            timeout=timeout,
            interval=0.3,
            tick=tick,
            what="every submission to finish",
        )
    except NotReady:
        states = Counter(Submission.objects.values_list("state", flat=True))
        _dump(parts)
        raise NotReady(f"unfinished after {timeout}s: {dict(states)}") from None


def duplicates() -> dict:
    """What the sandbox received twice and processed: a body in two successful POSTs, a loan
    with two drafts, a journal or a repayment upload twice."""
    bodies = Counter(
        SandboxRequest.objects.filter(method="POST", status__lt=300)
        .exclude(path__endswith="oauth/token")
        .values_list("body", flat=True)
    )
    drafts = Counter(
        SandboxLoan.objects.filter(payload__isnull=False)
        .exclude(payload={})
        .values_list("internal_loan_id", flat=True)
    )
    journals = Counter(SandboxJournal.objects.values_list("subject", flat=True))
    uploads = Counter(
        tuple(line["loan_id"] for line in lines)
        for lines in SandboxUpload.objects.values_list("lines", flat=True)
    )
    return {
        name: {key: n for key, n in counts.items() if n > 1}
        for name, counts in {
            "bodies": bodies,
            "drafts": drafts,
            "journals": journals,
            "uploads": uploads,
        }.items()
        if any(n > 1 for n in counts.values())
    }


def summary(load) -> dict:
    states = Counter(Submission.objects.values_list("state", flat=True))
    return {"submissions": dict(states), "duplicates": duplicates()}


def test_everything_approved_is_sent_exactly_once_with_its_result_on_the_record(parts):
    url = parts.start_sandbox()
    load = workload.build(url, loans=300, lines=2000, journals=100, batch_size=200)
    parts.start_worker("w1")
    parts.start_worker("w2")

    started = time.monotonic()
    load.approve_all()
    submissions = list(Submission.objects.all())
    assert len(submissions) == 300 + 10 + 100
    until_finished(parts, submissions, timeout=240)
    elapsed = time.monotonic() - started
    print(f"scenario 1: {summary(load)} in {elapsed:.1f}s")

    assert Counter(Submission.objects.values_list("state", flat=True)) == {St.SENT: 410}
    assert duplicates() == {}
    # Exactly one request each reached the sandbox, and it is the frozen payload.
    received = Counter(
        SandboxRequest.objects.filter(method="POST")
        .exclude(path__endswith="oauth/token")
        .values_list("body", flat=True)
    )
    assert received == Counter(s.payload for s in submissions)
    assert Attempt.objects.count() == 410
    # Both workers did part of it.
    assert len({s.claimed_by for s in Submission.objects.all()}) == 2

    # Every result is on its record.
    drafts = dict(SandboxLoan.objects.values_list("internal_loan_id", "uuid"))
    for loan in load.loans:
        loan.refresh_from_db()
        submission = Submission.objects.get(kind=SubmissionKind.LOAN_DRAFT, object_id=loan.pk)
        assert loan.state == S.SENT
        assert submission.kiva_reference == str(drafts[loan.mis_loan_id])
    load.report.refresh_from_db()
    chunks = Submission.objects.filter(kind=SubmissionKind.REPAYMENTS).order_by("chunk")
    assert load.report.state == S.SENT
    assert [(c.chunk, c.chunks, c.state) for c in chunks] == [
        (n, 10, St.SENT) for n in range(1, 11)
    ]
    assert {c.kiva_reference for c in chunks} == {
        str(u) for u in SandboxUpload.objects.values_list("upload_id", flat=True)
    }
    assert sum(len(u) for u in SandboxUpload.objects.values_list("lines", flat=True)) == 2000
    for journal in load.journals:
        journal.refresh_from_db()
        submission = Submission.objects.get(kind=SubmissionKind.JOURNAL, object_id=journal.pk)
        assert journal.state == S.SENT
        assert "/kiva-sandbox/" in submission.confirm_url


def sent_once_each(load):
    """Every sent submission's record is at the sandbox once, with the reference we kept."""
    drafts = dict(SandboxLoan.objects.values_list("internal_loan_id", "uuid"))
    uploads = {str(u) for u in SandboxUpload.objects.values_list("upload_id", flat=True)}
    by_pk = {loan.pk: loan for loan in load.loans}
    for submission in Submission.objects.filter(state=St.SENT):
        if submission.kind == SubmissionKind.LOAN_DRAFT:
            mis_id = by_pk[submission.object_id].mis_loan_id
            assert submission.kiva_reference == str(drafts[mis_id]), submission
        elif submission.kind == SubmissionKind.REPAYMENTS:
            assert submission.kiva_reference in uploads, submission
        else:
            assert "/kiva-sandbox/" in submission.confirm_url, submission


def records_follow_their_submissions(load):
    from kivaportal.pipeline.follow import state_of

    for record in load.records:
        record.refresh_from_db()
        states = list(
            Submission.objects.filter(
                object_id=record.pk, content_type__model=record._meta.model_name
            ).values_list("state", flat=True)
        )
        assert record.state == state_of(states), (record, states)


def test_faults_lose_nothing_and_duplicate_nothing(parts, settings):
    url = parts.start_sandbox()
    load = workload.build(url, loans=60, lines=400, journals=20, batch_size=50, read_timeout=1.0)
    load.faults(
        error_share=0.22,
        error_statuses="500 502 503",
        rate_limit_share=0.1,
        retry_after=1,
        hang_share=0.06,
        hang_seconds=2.5,
        token_valid_seconds=2,  # tokens die long before the expiry Kiva announced
    )
    parts.start_worker("w1", **FAST)
    parts.start_worker("w2", **FAST)

    started = time.monotonic()
    load.approve_all()
    submissions = list(Submission.objects.all())
    assert len(submissions) == 60 + 8 + 20
    until_finished(parts, submissions, timeout=180)
    elapsed = time.monotonic() - started
    states = Counter(Submission.objects.values_list("state", flat=True))
    faults = Counter(SandboxRequest.objects.exclude(fault="").values_list("fault", flat=True))
    looked_up = Submission.objects.filter(state=St.SENT, error__contains="GET loans").count()
    print(
        f"scenario 2: {dict(states)} in {elapsed:.1f}s ({looked_up} loans settled by GET "
        f"loans); faults {dict(faults)}"
    )

    # Nothing lost: each ends sent, or waits for a person with the reason.
    assert set(states) <= {St.SENT, St.NEEDS_ATTENTION}
    for submission in Submission.objects.filter(state=St.NEEDS_ATTENTION):
        assert "outcome is unknown" in submission.error
    # Nothing duplicated, and every result is the sandbox's.
    assert duplicates() == {}
    sent_once_each(load)
    records_follow_their_submissions(load)
    # The faults really happened, the early token expiry included.
    assert SandboxRequest.objects.filter(status__gte=500).exists()
    assert SandboxRequest.objects.filter(status=429).exists()
    assert SandboxRequest.objects.filter(status=401).exists()
    assert SandboxRequest.objects.filter(path__endswith="oauth/token").count() > 1
    # Every loan draft of unknown outcome was looked up with GET loans before anything else.
    ambiguous = Attempt.objects.filter(
        outcome="ambiguous", submission__kind=SubmissionKind.LOAN_DRAFT
    )
    assert ambiguous.exists()
    for attempt in ambiguous:
        assert Attempt.objects.filter(
            submission=attempt.submission, method="GET", id__gt=attempt.id
        ).exists()

    # Reconciliation, with the faults still on (a stopped reading is resumed by the next, as
    # the beat's would be): every loan draft Kiva holds is then *sent*; none that Kiva lists is
    # left needing attention.
    before = attention_share()
    for _run in range(5):
        run = reconcile_partner(connection=load.connection)
        if run is not None and run.state == "done":
            break
    assert run.state == "done", run.error
    after = attention_share()
    report = (
        f"needs attention: {before[0]} of {before[1]} submissions ({before[2]:.1%}) before "
        f"reconciliation, {after[0]} of {after[1]} ({after[2]:.1%}) after; loan drafts "
        f"{before[3]} -> {after[3]}; settled by reconciliation {run.settled}"
    )
    print(report)
    logger.warning("scenario 2: %s", report)
    held = {
        str(uuid): loan_id
        for uuid, loan_id in SandboxLoan.objects.exclude(payload={}).values_list(
            "uuid", "internal_loan_id"
        )
    }
    drafts = Submission.objects.filter(kind=SubmissionKind.LOAN_DRAFT)
    for waiting in drafts.filter(state=St.NEEDS_ATTENTION):
        body = json.loads(waiting.payload)
        ids = {e.get("loan_id") for e in body.get("entreps", [])} | {body.get("internal_loan_id")}
        assert not ids & set(held.values()), f"Kiva lists a draft of {waiting} (needs attention)"
    sent_uuids = set(drafts.filter(state=St.SENT).values_list("kiva_reference", flat=True))
    assert set(held) <= sent_uuids, set(held) - sent_uuids
    assert duplicates() == {}
    records_follow_their_submissions(load)


def attention_share() -> tuple[int, int, float, int]:
    """(needs attention, all, share, loan drafts needing attention) over every submission."""
    total = Submission.objects.count()
    waiting = Submission.objects.filter(state=St.NEEDS_ATTENTION)
    n = waiting.count()
    return n, total, n / total if total else 0.0, waiting.filter(kind="loan_draft").count()


def test_a_worker_killed_while_sending_sends_nothing_twice(parts, settings):
    import socket

    timing = {"retry_steps": [0.5, 1, 2, 4, 4, 4, 4], "stale_sending_after": 5, "requeue_after": 5}
    settings.KIVA_PIPELINE_TIMING = timing
    url = parts.start_sandbox()
    load = workload.build(url, loans=40, lines=0, journals=0)
    load.faults(latency_ms=400)  # every send is in flight for 0.4 s
    env = {
        "KIVA_PIPELINE_TIMING": json.dumps(timing),
        "KIVA_SEND_SOFT_TIME_LIMIT": 3,
        "KIVA_SEND_TIME_LIMIT": 4,
    }
    victim = parts.start_worker("w1", **env)
    parts.start_worker("w2", **env)
    pool = {f"{socket.gethostname()}:{pid}" for pid in parts.worker_children(victim)}
    assert pool

    load.approve_all()

    def in_flight():
        from datetime import timedelta

        from django.utils import timezone

        return (
            Attempt.objects.filter(
                worker__in=pool,
                finished_at__isnull=True,
                started_at__lte=timezone.now() - timedelta(seconds=0.1),
            )
            .values_list("submission_id", flat=True)
            .first()
        )

    killed = wait_until(in_flight, timeout=30, interval=0.02, what="a send in flight on w1")
    victim.kill()
    assert not victim.alive()
    parts.start_worker("w3", **env)

    until_finished(parts, Submission.objects.all(), timeout=120)
    states = Counter(Submission.objects.values_list("state", flat=True))
    cut = Submission.objects.get(pk=killed)
    print(f"scenario 3: {dict(states)}; the one cut off: {cut.state} ({cut.error})")

    assert set(states) <= {St.SENT, St.NEEDS_ATTENTION}
    assert cut.state in (St.SENT, St.NEEDS_ATTENTION)
    assert "worker stopped while sending" in cut.error
    assert duplicates() == {}
    sent_once_each(load)
    records_follow_their_submissions(load)


def test_approvals_go_on_while_redis_is_down_and_the_sweeper_sends_them_later(parts, caplog):
    url = parts.start_sandbox()
    load = workload.build(url, loans=20, lines=30, journals=5)
    parts.start_worker("w1", **FAST)
    parts.start_worker("w2", **FAST)
    parts.redis.stop()

    durations = []
    with caplog.at_level(logging.WARNING, logger="kivaportal.pipeline.services"):
        for record in load.records:
            started = time.monotonic()
            load.approve_all([record])
            durations.append(time.monotonic() - started)
    print(f"scenario 4: approvals with Redis down took up to {max(durations):.2f}s each")

    # Each approval committed its outbox rows; the enqueue failure was logged, not raised.
    submissions = list(Submission.objects.all())
    assert len(submissions) == 20 + 1 + 5
    assert {(s.state, s.enqueued_at) for s in submissions} == {(St.PENDING, None)}
    for record in load.records:
        record.refresh_from_db()
        assert record.state == S.QUEUED
    assert sum("could not enqueue" in r.getMessage() for r in caplog.records) == 26
    assert max(durations) < 5

    parts.redis.start()  # the same port, empty: what was queued before is gone anyway
    until_finished(parts, submissions, timeout=120)
    states = Counter(Submission.objects.values_list("state", flat=True))
    print(f"scenario 4: {dict(states)} once Redis is back")
    assert states == {St.SENT: 26}
    assert duplicates() == {}
    sent_once_each(load)
    records_follow_their_submissions(load)
