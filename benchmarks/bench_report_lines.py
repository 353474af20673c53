"""The repayment report page at a large partner's scale, and the task that computes its lines.

    .venv/bin/python benchmarks/bench_report_lines.py      # BENCH_LOANS=100000 by default

Seeds (once) the same database as `make bench` for one size (`<BENCH_DATABASE_URL>_<N>`:
N loans, 5×N repayments over 25 months, N/5 lines in the report's month: benchmarks/_seed.py),
then prints, median ms / queries over BENCH_RUNS requests each: the task computing the
report's lines from nothing (`repayments.report_lines_build`), its key (what every view
reads to know whether the lines are current), the page with its lines current (first page,
page 50, search, each filter), and the page while they are stale or never computed, as it
is with a broker: the task is published, not run (here a stand-in records the publish).
Results are printed, never asserted.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import DEFAULT_URL, setup_django  # noqa: E402

SIZE = int(os.environ.get("BENCH_LOANS", "100000").split(",")[-1])
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
BUILDS = int(os.environ.get("BENCH_BUILDS", "3"))


def timed(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        fn()
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed, len(queries)


def median_of(fn, runs=RUNS):
    results = [timed(fn) for _ in range(runs)]
    return statistics.median(t for t, _ in results), results[-1][1]


def main():
    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    setup_django(f"{base}_{SIZE}")
    from celery import current_app
    from django.test import Client
    from django.urls import reverse
    from review_pages import seed

    from kivaportal.repayments import line_store
    from kivaportal.repayments.models import ReportLineStore, StoredReportLine

    partner, reviewer, _superuser, report = seed()
    client = Client()
    client.force_login(reviewer)
    url = reverse("review:record", args=[partner.pk, "reports", report.pk])

    def build_from_nothing():
        ReportLineStore.objects.filter(report=report).delete()
        StoredReportLine.objects.filter(report=report).delete()
        return timed(lambda: line_store.report_lines_build(report_id=report.pk))

    print(f"{SIZE:,} loans, report {report.month:%Y-%m}:", flush=True)
    builds = [build_from_nothing() for _ in range(BUILDS)]
    lines = StoredReportLine.objects.filter(report=report).count()
    print(
        f"  {'task: lines computed from nothing':44} "
        f"{statistics.median(t for t, _ in builds):9.0f} ms {builds[-1][1]:4d} queries "
        f"({lines:,} lines; each: {', '.join(f'{t / 1000:.1f} s' for t, _ in builds)})",
        flush=True,
    )
    key_ms, key_q = median_of(lambda: line_store._store_key(report))
    print(f"  {'key (read by every view)':44} {key_ms:9.1f} ms {key_q:4d} queries", flush=True)
    nothing_ms, nothing_q = median_of(lambda: line_store.report_lines_build(report_id=report.pk))
    print(f"  {'task: nothing changed':44} {nothing_ms:9.1f} ms {nothing_q:4d} queries")

    def page(params=""):
        client.get(url + params)  # a page opened a second time
        return median_of(lambda: client.get(url + params))

    for name, params in (
        ("page, lines current: first page", ""),
        ("page, lines current: page 50", "?page=50"),
        ("page, lines current: search (q=L0001)", "?q=L0001"),
        ("page, lines current: nothing repaid", "?zero=1"),
        ("page, lines current: warnings", "?warnings=1"),
        ("page, lines current: Kiva problems", "?problems=1"),
    ):
        ms, n = page(params)
        print(f"  {name:44} {ms:9.1f} ms {n:4d} queries", flush=True)

    # As with a broker: the task is published, not run in the request.
    published = []
    task = current_app.tasks[line_store.BUILD_TASK]
    task.apply_async = lambda args=None, **kw: published.append(args)
    ReportLineStore.objects.filter(report=report).update(key="stale")
    ms, n = page()
    print(f"  {'page, lines stale: first page':44} {ms:9.1f} ms {n:4d} queries", flush=True)
    ms, n = page("?q=L0001")
    print(f"  {'page, lines stale: search':44} {ms:9.1f} ms {n:4d} queries", flush=True)
    ReportLineStore.objects.filter(report=report).delete()
    StoredReportLine.objects.filter(report=report).delete()
    ms, n = page()
    print(f"  {'page, never computed (big): being computed':44} {ms:9.1f} ms {n:4d} queries")
    print(f"  tasks published by those views: {len(published)}")
    del task.apply_async
    line_store.report_lines_build(report_id=report.pk)  # leave the database as it was


if __name__ == "__main__":
    main()
