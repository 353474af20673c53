"""Benchmark of reconciliation with Kiva (issue 11): reading 20,000 loans from GET loans.

Seeds, once, a partner with 20,000 sent loans in a dedicated PostgreSQL database
(BENCH_RECONCILE_DATABASE_URL, default kivaportal_bench_reconcile) and the same 20,000 loans in
the sandbox (statuses spread over Kiva's lifecycle), serves the sandbox on a free port in a
process of its own (`manage.py kiva_sandbox`), with every answer 100 ms after its request
(`latency_ms`), and prints:

- the GET calls alone: paging through the whole list with the client (300 a page);
- a first reconciliation (every loan matched by its MIS id, a status for each) and a second
  one (nothing changes): wall time, ratio to the GET calls alone, queries per page, and how
  much the process's peak memory (RSS) above the start.

Run with `make bench-reconcile`.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import ROOT, setup_django  # noqa: E402

LOANS = 20_000
LATENCY_MS = 100
BATCH = 5_000
STATUSES = (
    "inactive",
    "fundRaising",
    "raised",
    "payingBack",
    "payingBack",
    "payingBack",
    "defaulted",
    "ended",
    "issue",
    "refunded",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, timeout=60):
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the sandbox did not start at {url}")


def seed(url):
    from django.db import connection as connection_db
    from django.db import transaction

    from integrations.kiva.sandbox.models import SandboxLoan
    from integrations.kiva.sandbox.services import sandbox_partner_register
    from integrations.kiva.services import SANDBOX_AUDIENCE, connection_configure
    from kivaportal.lending.models import Loan
    from kivaportal.partners.models import Partner
    from kivaportal.workflow.states import RecordState

    partner, _created = Partner.objects.get_or_create(
        kiva_partner_id="8888",
        defaults={"name": "Benchmark Reconciliación", "country": "PE", "default_currency": "PEN"},
    )
    sandboxed = sandbox_partner_register(
        partner_id="8888",
        client_id="bench-reconcile",
        client_secret="bench-secret",
        audience=SANDBOX_AUDIENCE,
        latency_ms=LATENCY_MS,
    )
    connection = connection_configure(
        partner=partner,
        environment="sandbox",
        client_id="bench-reconcile",
        client_secret="bench-secret",
        token_url=url + "oauth/token",
        api_base_url=url,
        audience=SANDBOX_AUDIENCE,
    )
    if Loan.objects.filter(partner=partner).count() < LOANS:
        print(f"seeding {LOANS} loans in the portal and the sandbox ...", flush=True)
        with transaction.atomic():
            for start in range(0, LOANS, BATCH):
                idx = range(start, min(start + BATCH, LOANS))
                Loan.objects.bulk_create(
                    Loan(
                        partner=partner,
                        mis_loan_id=f"R{i:06d}",
                        amount=Decimal("1200.00"),
                        currency="PEN",
                        state=RecordState.SENT,
                    )
                    for i in idx
                )
                SandboxLoan.objects.bulk_create(
                    SandboxLoan(
                        partner=sandboxed,
                        kiva_id=None
                        if STATUSES[i % 10] in ("inactive", "issue")
                        else 3_000_000 + i,
                        status=STATUSES[i % 10],
                        internal_loan_id=f"R{i:06d}",
                        loan_ids=[f"R{i:06d}"],
                        client_ids=[f"C{i:06d}"],
                        name=f"Rosa Quispe {i}",
                        currency="PEN",
                        amount=Decimal("1200.00"),
                        funded_amount=Decimal("1200.00"),
                        payload={},
                    )
                    for i in idx
                )
        with connection_db.cursor() as cursor:  # as autovacuum would after a bulk load
            cursor.execute("ANALYZE")
    return partner, connection


def _rss_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak():
    """Linux: start the process's peak RSS (VmHWM) afresh, so each run's peak is its own."""
    Path("/proc/self/clear_refs").write_text("5")


def timed(label, work, gets_alone=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    before = _rss_kb("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        result = work()
    wall = time.perf_counter() - started
    grown = _rss_kb("VmHWM") - before
    pages = getattr(result, "pages", None) or 1
    ratio = f", {wall / gets_alone:.2f}x the GET calls alone" if gets_alone else ""
    print(
        f"{label}: {wall:.1f}s{ratio}; {len(queries)} queries, {len(queries) / pages:.1f} a page"
        f" ({pages} pages); peak memory (RSS) above the start {grown / 1024:.1f} MB",
        flush=True,
    )
    return wall, result


def main():
    url_db = os.environ.get(
        "BENCH_RECONCILE_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/kivaportal_bench_reconcile",
    )
    setup_django(url_db)
    from django.conf import settings
    from django.db import connections

    from integrations.kiva.client import MAX_PAGE_SIZE, KivaClient
    from kivaportal.lending.models import KivaStatusChange, LoanAtKiva
    from kivaportal.pipeline.models import Reconciliation
    from kivaportal.pipeline.reconcile import reconcile_partner

    settings.DEBUG = False
    # The sandbox as its own process, as Kiva is: its work does not share this process's CPU.
    port = free_port()
    log = open(Path(tempfile.gettempdir()) / "bench_reconcile_sandbox.log", "w")  # noqa: SIM115
    sandbox = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "kiva_sandbox", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url_db, "DATABASE_CONN_MAX_AGE": "60"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/kiva-sandbox/"
    try:
        wait_for(url)
        partner, connection = seed(url)
        LoanAtKiva.objects.filter(loan__partner=partner).delete()
        KivaStatusChange.objects.filter(loan__partner=partner).delete()
        Reconciliation.objects.filter(partner=partner).delete()
        print(f"{LOANS} loans, {MAX_PAGE_SIZE} a page, the sandbox answering after {LATENCY_MS} ms")

        class Pages:
            pages = 0

        def gets():
            counted = Pages()
            for _offset, _page in KivaClient(connection).loan_pages():
                counted.pages += 1
            return counted

        alone, _ = timed("GET calls alone", gets)
        _wall, first = timed(
            "first reconciliation", lambda: reconcile_partner(connection=connection), alone
        )
        print(f"  {first.matched} matched, {first.changed} status changes, state {first.state}")
        _wall, second = timed(
            "second reconciliation (nothing changed)",
            lambda: reconcile_partner(connection=connection),
            alone,
        )
        print(f"  {second.matched} matched, {second.changed} status changes, state {second.state}")
    finally:
        sandbox.terminate()
        sandbox.wait(10)
        log.close()
        connections.close_all()


if __name__ == "__main__":
    main()
