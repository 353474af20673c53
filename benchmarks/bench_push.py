"""Benchmark of the push pipeline (issues 5 and 14): how fast approved records reach Kiva.

First, in this process: 1,000 loan drafts approved in one bulk action (wall time, SQL
statements; beside 100 approved one at a time), then one send's SQL statements and CPU time
(median of 200 sends). Then, with the sandbox answering each API call after 100 ms (its
`latency_ms`), approves 1,000 loan drafts, a report of 5,000 repayment lines (chunks of the
connection's 200) and 500 journals in one transaction (one bulk action), and measures the
wall time from that commit until the last submission is sent, with 1, 2, 4 and 8 worker
processes (`celery worker --concurrency 1` each, prefork). Beside it, the ideal: API calls ×
latency ÷ workers (what the sends would take if the portal's own work cost nothing), and the
ratio.

Real parts, started and stopped here: a dedicated PostgreSQL database (BENCH_PUSH_DATABASE_URL,
default kivaportal_bench_push, created if missing and emptied before each run), a Redis server
on a free port, the sandbox as its own server process. The workers keep their database
connections (DATABASE_CONN_MAX_AGE=60; BENCH_CONN_MAX_AGE=0 opens one per task). Run with
`make bench-push` (BENCH_ARGS="--workers 4" runs one configuration; `--help` shows the rest).
"""

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kivaportal_bench_push"
FINISHED = ("sent", "rejected", "failed", "needs_attention", "cancelled")


def cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(stat: str) -> float:
    """CPU seconds (user + system, with reaped children's) of one /proc/<pid>/stat line."""
    # pid (comm) state ppid pgrp session ...: comm may hold spaces, so split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def sessions_cpu(sessions: dict) -> dict:
    """CPU seconds so far of every process in each session ({name: sid}): a part started by
    `Parts` runs in its own session, with its children (a prefork worker's pool)."""
    names = {sid: name for name, sid in sessions.items()}
    found = dict.fromkeys(sessions, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        session = int(stat.rsplit(")", 1)[1].split()[3])
        if session in names:
            found[names[session]] += _cpu_of(stat)
    return found


def backends_cpu() -> dict:
    """CPU seconds so far of each PostgreSQL backend serving this database (the workers'),
    this process's own left out."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    found = {}
    for pid in pids:
        try:
            found[pid] = _cpu_of(Path(f"/proc/{pid}/stat").read_text())
        except OSError:  # gone, or another machine's
            continue
    return found


def parts_cpu(parts) -> dict:
    """CPU seconds so far of each part of the push: the workers, the sandbox, Redis and
    PostgreSQL's backends for this database (read from /proc: the other work on the machine
    is not counted, unlike its busy jiffies)."""
    sessions = {"sandbox": parts.sandbox.pid, "redis": parts.redis.process.pid}
    sessions |= {f"worker:{name}": process.pid for name, process in parts.workers.items()}
    found = sessions_cpu(sessions)
    workers = sum(v for k, v in found.items() if k.startswith("worker:"))
    return {
        "worker": workers,
        "sandbox": found["sandbox"],
        "redis": found["redis"],
        "postgres": backends_cpu(),
    }


def cpu_per_send(before, after, sends) -> dict:
    """Milliseconds of CPU per send of each part between two `parts_cpu` readings."""
    spent = {key: after[key] - before[key] for key in ("worker", "sandbox", "redis")}
    # A backend opened during the run counts from zero.
    spent["postgres"] = sum(
        cpu - before["postgres"].get(pid, 0.0) for pid, cpu in after["postgres"].items()
    )
    spent["total"] = sum(spent.values())
    return {key: value * 1000 / max(1, sends) for key, value in spent.items()}


def run(parts, *, workers, loans, lines, journals, latency_ms, concurrency_mode, worker_env):
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import transaction
    from django.db.models import Avg, Max

    from kivaportal.pipeline.models import Attempt, Submission
    from kivaportal.review import services
    from tests.pipeline import workload
    from tests.pipeline.realparts import wait_until

    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.clear_cache()
    started = time.monotonic()
    url = parts.start_sandbox()
    load = workload.build(url, loans=loans, lines=lines, journals=journals)
    load.faults(latency_ms=latency_ms)
    print(f"  data: {time.monotonic() - started:.0f}s", flush=True)
    if concurrency_mode:
        parts.start_worker("w1", concurrency=workers, **worker_env)
    else:
        for n in range(1, workers + 1):
            parts.start_worker(f"w{n}", wait=False, **worker_env)
        for process in parts.workers.values():
            parts.wait_ready(process)

    committed = {}
    started = time.monotonic()
    with transaction.atomic():
        # The first callback after the commit: the clock starts as the outbox rows commit.
        transaction.on_commit(lambda: committed.setdefault("at", time.time()))
        result = services.records_bulk_approve(records=load.records, by=load.reviewer)
        assert not result.refused, result.refused[:3]
    print(f"  approvals: {time.monotonic() - started:.0f}s", flush=True)
    calls = Submission.objects.count()
    busy_before, parts_before = cpu_busy(), parts_cpu(parts)
    wait_until(
        lambda: not Submission.objects.exclude(state__in=FINISHED).exists(),
        timeout=3600,
        interval=0.5,
        what="every submission to finish",
    )
    busy_after, parts_after = cpu_busy(), parts_cpu(parts)
    cpu = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    per_send = cpu_per_send(parts_before, parts_after, calls)
    # The whole machine's busy time per send (all cores), whoever spent it.
    machine_ms = (busy_after[0] - busy_before[0]) / TICK * 1000 / max(1, calls)
    last = Submission.objects.aggregate(last=Max("updated_at"))["last"].timestamp()
    wall = last - committed["at"]
    ideal = calls * latency_ms / 1000 / workers
    states = Counter(Submission.objects.values_list("state", flat=True))
    mean_ms = Attempt.objects.filter(method="POST").aggregate(d=Avg("duration_ms"))["d"]
    parts.close()
    return {
        "workers": workers,
        "calls": calls,
        "wall": wall,
        "ideal": ideal,
        "ratio": wall / ideal,
        "states": dict(states),
        "post_ms": mean_ms,
        "cpu": cpu,
        "per_send": per_send,
        "machine_ms": machine_ms,
    }


def cost_per_send(parts, *, loans, sends, latency_ms, one_by_one=100):
    """First the approval: `loans` loan drafts approved in one bulk action (wall time and SQL
    statements), beside `one_by_one` loans approved one at a time (`record_approve`, as the
    review page does). Then one send's own cost, in this process (no worker): SQL statements
    (BEGIN and COMMIT not counted) and CPU time, for `sends` of those loan drafts sent by
    `submission_send` in turn; the sandbox is its own process, so its work and the 100 ms
    wait are not counted."""
    import statistics

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kivaportal.pipeline.models import Submission
    from kivaportal.pipeline.sending import submission_send
    from kivaportal.review import services
    from tests.pipeline import workload

    call_command("flush", interactive=False, verbosity=0)
    url = parts.start_sandbox()
    load = workload.build(url, loans=loans + one_by_one, lines=0, journals=0)
    load.faults(latency_ms=latency_ms)
    bulk, single = load.loans[:loans], load.loans[loans:]
    started = time.monotonic()
    with CaptureQueriesContext(connection) as captured:
        result = services.records_bulk_approve(records=bulk, by=load.reviewer)
    approval = {
        "loans": len(result.approved),
        "refused": len(result.refused),
        "wall": time.monotonic() - started,
        "queries": len(captured.captured_queries),
    }
    started = time.monotonic()
    with CaptureQueriesContext(connection) as captured:
        load.approve_all(single)
    approval["single_ms"] = (time.monotonic() - started) * 1000 / max(1, len(single))
    approval["single_queries"] = len(captured.captured_queries) / max(1, len(single))
    statements, cpu_ms = [], []
    # Put on a queue no worker reads; sent here, one by one.
    for pk in Submission.objects.order_by("id").values_list("id", flat=True)[:sends]:
        started = time.process_time()
        with CaptureQueriesContext(connection) as captured:
            state = submission_send(submission_id=pk)
        cpu_ms.append((time.process_time() - started) * 1000)
        assert state == "sent", state
        words = [q["sql"].split()[0] for q in captured.captured_queries]
        statements.append(sum(1 for w in words if w not in ("BEGIN", "COMMIT")))
    parts.close()
    return approval, statistics.median(statements), statistics.median(cpu_ms), len(statements)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers", default="1,2,4,8", help="worker counts to run (default 1,2,4,8)"
    )
    parser.add_argument("--loans", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--journals", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument(
        "--approve", type=int, default=1000, help="loans approved in one bulk action (1000)"
    )
    parser.add_argument(
        "--concurrency",
        action="store_true",
        help="one worker process with --concurrency N instead of N processes",
    )
    parser.add_argument(
        "--cost-only",
        action="store_true",
        help="only the bulk approval and the statements and CPU of one send",
    )
    args = parser.parse_args()

    url = os.environ.get("BENCH_PUSH_DATABASE_URL", DEFAULT_URL)
    setup_django(url)
    from tests.pipeline.realparts import Parts

    # Workers keep their database connection between tasks, as docs/configuration.md advises.
    conn_max_age = os.environ.get("BENCH_CONN_MAX_AGE", "60")
    worker_env = {"DATABASE_CONN_MAX_AGE": conn_max_age}
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        parts = Parts(Path(tmp), database_url=url, log_level="INFO")
        try:
            parts.start_redis()
            parts.use_broker()
            approval, statements, cpu_ms, sends = cost_per_send(
                parts, loans=args.approve, sends=200, latency_ms=args.latency_ms
            )
        finally:
            parts.close()
    print(
        f"approving {approval['loans']:,} loans in one bulk action: {approval['wall']:.2f} s "
        f"({approval['wall'] * 1000 / max(1, approval['loans']):.1f} ms a loan), "
        f"{approval['queries']} SQL statements ({approval['refused']} refused); one at a time "
        f"(record_approve): {approval['single_ms']:.1f} ms and "
        f"{approval['single_queries']:.0f} statements a loan",
        flush=True,
    )
    print(
        f"one send (median of {sends} loan drafts, in process): {statements:g} SQL statements, "
        f"{cpu_ms:.1f} ms of CPU (HTTP client included; the sandbox is another process)",
        flush=True,
    )
    if args.cost_only:
        return
    rows = []
    for workers in [int(n) for n in args.workers.split(",")]:
        print(f"{workers} worker(s) ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
            parts = Parts(Path(tmp), database_url=url, log_level="INFO")
            try:
                parts.start_redis()
                parts.use_broker()
                rows.append(
                    run(
                        parts,
                        workers=workers,
                        loans=args.loans,
                        lines=args.lines,
                        journals=args.journals,
                        latency_ms=args.latency_ms,
                        concurrency_mode=args.concurrency,
                        worker_env=worker_env,
                    )
                )
            finally:
                parts.close()
        print(f"  {rows[-1]}", flush=True)

    how = "1 process, --concurrency N" if args.concurrency else "N processes, --concurrency 1"
    print()
    print(
        f"{args.loans} loan drafts, {args.lines} repayment lines, {args.journals} journals; "
        f"sandbox latency {args.latency_ms} ms; workers: {how} (prefork), "
        f"DATABASE_CONN_MAX_AGE={conn_max_age}"
    )
    print(
        f"{'workers':>7} {'API calls':>9} {'wall (s)':>9} {'ideal (s)':>9} {'ratio':>6} "
        f"{'CPU busy':>8}  states"
    )
    for r in rows:
        print(
            f"{r['workers']:>7} {r['calls']:>9} {r['wall']:>9.1f} {r['ideal']:>9.1f} "
            f"{r['ratio']:>6.2f} {r['cpu']:>8.0%}  {r['states']}"
        )
    cores = os.cpu_count() or 1
    print()
    print(
        "CPU per API call (ms; /proc of each part: the workers with their pools, the sandbox, "
        "Redis, PostgreSQL's backends for this database), beside the whole machine's busy time "
        f"per call (all {cores} cores, whoever spent it), and the calls a second the parts' CPU "
        f"allows on {cores} cores, beside the ideal's (workers ÷ latency)"
    )
    print(
        f"{'workers':>7} {'worker':>7} {'sandbox':>7} {'postgres':>8} {'redis':>6} "
        f"{'parts':>6} {'machine':>7} {'calls/s allowed':>15} {'ideal calls/s':>13}"
    )
    for r in rows:
        p = r["per_send"]
        allowed = cores * 1000 / p["total"] if p["total"] else float("inf")
        wanted = r["workers"] * 1000 / args.latency_ms
        print(
            f"{r['workers']:>7} {p['worker']:>7.1f} {p['sandbox']:>7.1f} {p['postgres']:>8.1f} "
            f"{p['redis']:>6.1f} {p['total']:>6.1f} {r['machine_ms']:>7.1f} {allowed:>15.0f} "
            f"{wanted:>13.0f}"
        )


if __name__ == "__main__":
    main()
