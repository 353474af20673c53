"""Benchmark of the review pages and admin lists as a partner grows (issue 14).

    make bench                                  # BENCH_LOANS=2000,20000,100000
    BENCH_LOANS=2000,20000 BENCH_RUNS=5 make bench

For each size N it seeds, once, its own PostgreSQL database (`<BENCH_DATABASE_URL>_<N>`) with
one partner's N loans (12 schedule lines and one borrower each) and 5×N repayments over 25
months (N/5 loans repay each month: 20,000 report lines at 100,000 loans), with their history
rows, by INSERT ... SELECT in PostgreSQL (benchmarks/_seed.py). It then requests each page
through Django's test client as a reviewer of that partner, and Django's plain admin
changelist of the same models (benchmarks/plain_admin.py) as a superuser, and prints the median
time and the query count per page and size, and the ratio of each admin list to the plain one.
Results are printed, never asserted: read the growth across sizes.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import DEFAULT_URL, setup_django  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_LOANS", "2000,20000,100000").split(",") if n]
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
# Only the pages whose name contains one of these words (BENCH_PAGES=report): all by default.
ONLY = [w for w in os.environ.get("BENCH_PAGES", "").split(",") if w]
REPORT_MONTH = "2025-03-01"


def seed():
    from _seed import REPAYMENTS_PER_LOAN, seed_partner
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from kivaportal.lending.models import Loan
    from kivaportal.partners.models import Membership, Partner
    from kivaportal.partners.roles import Role
    from kivaportal.repayments.line_store import report_lines_build
    from kivaportal.repayments.models import RepaymentReport
    from kivaportal.workflow.transitions import record_recheck

    partner, _ = Partner.objects.get_or_create(
        kiva_partner_id="7777",
        defaults={"name": "Benchmark Microfinanzas", "country": "PE", "default_currency": "PEN"},
    )
    users = get_user_model().objects
    reviewer, _ = users.get_or_create(username="bench.reviewer")
    Membership.objects.get_or_create(
        user=reviewer, partner=partner, defaults={"role": Role.REVIEWER}
    )
    superuser, created = users.get_or_create(
        username="bench.superuser", defaults={"is_superuser": True, "is_staff": True}
    )
    if not Loan.objects.filter(partner=partner).exists():
        size = int(connection.settings_dict["NAME"].rsplit("_", 1)[1])
        print(f"  seeding {size} loans, {size * 12} schedule lines, "
              f"{size * REPAYMENTS_PER_LOAN} repayments ...", flush=True)  # fmt: skip
        started = time.perf_counter()
        with transaction.atomic():
            seed_partner(partner, size)
        for m in range(1, 13):
            RepaymentReport.objects.get_or_create(partner=partner, month=f"2025-{m:02d}-01")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum gives production after an import
        print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)
    report = RepaymentReport.objects.get(partner=partner, month=REPORT_MONTH)
    if report.checked_at is None:
        record_recheck(record=report)
    # The report's lines as the task computes them after a change (the page reads them; it
    # never computes a big report's): measured are the pages of current lines.
    started = time.perf_counter()
    if report_lines_build(report_id=report.pk):
        print(f"  report lines computed in {time.perf_counter() - started:.1f} s", flush=True)
    return partner, reviewer, superuser, report


def measure(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches, as a page opened a second time
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(times), len(queries)


def pages(partner, report):
    from django.urls import reverse

    from kivaportal.lending.models import Loan
    from kivaportal.workflow.states import RecordState

    loan = Loan.objects.filter(partner=partner, state=RecordState.SUBMITTED).order_by("id").first()
    queue = reverse("review:queue", args=[partner.pk, "loans"])
    name_n = Loan.objects.filter(partner=partner).count() * 2 // 3  # "Quispe <n>" (_seed.py)
    return {
        "dashboard": ("reviewer", reverse("review:dashboard", args=[partner.pk])),
        "queue: loans, all": ("reviewer", reverse("review:queue", args=[partner.pk, "loans"])),
        "queue: loans submitted, page 2": (
            "reviewer",
            reverse("review:queue", args=[partner.pk, "loans"]) + "?state=submitted&page=2",
        ),
        # Issue 13's queue search: a borrower's name (one loan), an MIS id, and a word many
        # loans share; sorted by another column; filtered by state and Kiva's side.
        "queue: search borrower name": ("reviewer", f"{queue}?q=quispe+{name_n}"),
        "queue: search MIS loan id": ("reviewer", f"{queue}?q=L{name_n:07d}"),
        "queue: search a common word": ("reviewer", f"{queue}?q=rosa"),
        "queue: sorted by amount": ("reviewer", f"{queue}?sort=-amount"),
        "queue: submitted, sorted by id": ("reviewer", f"{queue}?state=submitted&sort=record"),
        "loan review page": (
            "reviewer",
            reverse("review:record", args=[partner.pk, "loans", loan.pk]),
        ),
        # The report page and its searches and filters (20,000 lines a month at 100,000 loans).
        **{
            name: (
                "reviewer",
                reverse("review:record", args=[partner.pk, "reports", report.pk]) + query,
            )
            for name, query in (
                ("repayment report page", ""),
                ("report page, page 50", "?page=50"),
                ("report page, search", "?q=L0001"),
                ("report page, zero lines", "?zero=1"),
                ("report page, warnings", "?warnings=1"),
                ("report page, Kiva problems", "?problems=1"),
            )
        },
        "admin: loans": ("reviewer", reverse("admin:lending_loan_changelist")),
        "plain admin: loans": ("superuser", reverse("plain:lending_loan_changelist")),
        "admin: repayments": ("reviewer", reverse("admin:repayments_repayment_changelist")),
        "plain admin: repayments": ("superuser", reverse("plain:repayments_repayment_changelist")),
        "admin: loans, superuser": ("superuser", reverse("admin:lending_loan_changelist")),
        "admin: repayments, superuser": (
            "superuser",
            reverse("admin:repayments_repayment_changelist"),
        ),
    }


def run_size(size):
    from django.db import connections
    from django.test import Client

    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    connections.close_all()
    setup_django(f"{base}_{size}", reconfigure=True)
    partner, reviewer, superuser, report = seed()
    clients = {}
    for name, user in (("reviewer", reviewer), ("superuser", superuser)):
        clients[name] = Client()
        clients[name].force_login(user)
    results = {}
    for name, (who, url) in pages(partner, report).items():
        if ONLY and not any(word in name for word in ONLY):
            continue
        results[name] = measure(clients[who], url)
        print(f"  {name:34} {results[name][0]:8.1f} ms {results[name][1]:4d} queries", flush=True)
    return results


def main():
    setup_django(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    from django.conf import settings
    from django.urls import clear_url_caches

    settings.ROOT_URLCONF = "plain_admin"
    clear_url_caches()
    results = {}
    for size in SIZES:
        print(f"{size} loans:", flush=True)
        results[size] = run_size(size)
    names = list(results[SIZES[0]])
    head = "".join(f"{f'{n:,} loans':>20}" for n in SIZES)
    print(f"\nmedian ms / queries ({RUNS} runs), {SIZES[-1] * 5:,} repayments at the largest size")
    print(f"{'page':34}{head}")
    for name in names:
        cells = "".join(
            f"{f'{results[n][name][0]:.0f} ms / {results[n][name][1]}':>20}" for n in SIZES
        )
        print(f"{name:34}{cells}")
    print("\nportal admin list ÷ Django's plain admin of the same model")
    for model in ("loans", "repayments"):
        if f"admin: {model}" not in results[SIZES[0]]:
            continue
        ratios = "".join(
            f"{results[n][f'admin: {model}'][0] / results[n][f'plain admin: {model}'][0]:>20.2f}"
            for n in SIZES
        )
        print(f"{model:34}{ratios}")


if __name__ == "__main__":
    main()
