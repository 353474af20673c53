"""Intake benchmark: loans (one borrower and 12 schedule lines each) and 10 repayments per loan,
from CSV, at each size of BENCH_INTAKE_LOANS, beside a row-by-row ORM importer of the same files.

    make bench-intake                                   # PostgreSQL, sizes 1000,10000
    BENCH_INTAKE_LOANS=1000,10000,30000 make bench-intake
    DATABASE_URL=sqlite:////tmp/x.sqlite3 make bench-intake

Without DATABASE_URL it uses its own PostgreSQL database (`<BENCH_DATABASE_URL>_intake`,
dropped and created afresh each run). Each measured import runs in its own process, so its
peak memory (ru_maxrss) is its own; memory is shown above the process's size after Django's
set-up, and per row. The baseline (benchmarks/naive_import.py) imports at most
BENCH_BASELINE_ROWS rows of each file (row by row its rate does not change with the size; its
full run would take minutes). All data is invented.
"""

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
LINES, REPAYMENTS_PER_LOAN = 12, 10
SIZES = [int(n) for n in os.environ.get("BENCH_INTAKE_LOANS", "1000,10000").split(",") if n]
BASELINE_ROWS = int(os.environ.get("BENCH_BASELINE_ROWS", "10000"))


def django_setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kivaportal.settings")
    import django

    django.setup()


def cpu_s() -> float:
    """CPU seconds of this process (user + system): on a shared machine, steadier than the
    wall time. PostgreSQL's own work is not in it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def generate(folder: Path, loans: int):
    folder.mkdir(parents=True, exist_ok=True)
    start = date(2026, 1, 10)
    write_csv(
        folder / "borrowers.csv",
        ["mis_client_id", "first_name", "last_name", "gender", "city"],
        ((f"C{n:06d}", "Rosa", f"Quispe {n}", "female", "Pisac") for n in range(loans)),
    )
    write_csv(
        folder / "loans.csv",
        ["mis_loan_id", "amount", "currency", "disbursal_date", "activity_id",
         "description_language_id", "location", "description", "loan_use",
         "client_waiver_signed"],
        ((f"L{n:06d}", "1200.00", "PEN", start.isoformat(), 120, 2, "Pisac: Peru",
          "Rosa sells vegetables in the market.", "To buy a cart.", "yes")
         for n in range(loans)),
    )  # fmt: skip
    write_csv(
        folder / "loan_borrowers.csv",
        ["mis_loan_id", "mis_client_id", "amount"],
        ((f"L{n:06d}", f"C{n:06d}", "1200.00") for n in range(loans)),
    )
    dues = [(start + timedelta(days=30 * (k + 1))).isoformat() for k in range(LINES)]
    write_csv(
        folder / "schedule.csv",
        ["mis_loan_id", "due_date", "principal", "interest"],
        ((f"L{n:06d}", due, "100.00", "12.00") for n in range(loans) for due in dues),
    )
    write_csv(
        folder / "repayments.csv",
        ["mis_repayment_id", "mis_loan_id", "date", "amount", "principal", "interest"],
        ((f"T{n:07d}", f"L{n % loans:06d}", dues[min(n // loans, LINES - 1)], "112.00",
          "100.00", "12.00") for n in range(loans * REPAYMENTS_PER_LOAN)),
    )  # fmt: skip


def setup(folder: Path, names: list[str]):
    django_setup()
    from django.core.management import call_command

    from kivaportal.partners.models import Partner
    from kivaportal.reference.models import Activity, Locale, Location

    call_command("migrate", verbosity=0)
    for name in names:
        partner, _ = Partner.objects.get_or_create(
            name=name, defaults={"kiva_partner_id": str(90000 + Partner.objects.count()),
                                 "country": "PE", "default_currency": "PEN"},
        )  # fmt: skip
        Activity.objects.get_or_create(partner=partner, kiva_id=120, defaults={"name": "Retail"})
        Locale.objects.get_or_create(
            partner=partner, currency="PEN", language_id=2,
            defaults={"language_code": "es", "language_name": "Español"},
        )  # fmt: skip
        Location.objects.get_or_create(
            partner=partner,
            full_name="Pisac: Peru",
            defaults={"country": "Peru", "location": "Pisac"},
        )


def run(folder: Path, what: str, mode: str, partner_name: str):
    django_setup()
    from integrations.mis.formats import FileSource
    from integrations.mis.importers.borrowers import BorrowerImporter
    from integrations.mis.importers.loans import LoanImporter
    from integrations.mis.importers.repayments import RepaymentImporter
    from kivaportal.partners.models import Partner

    def source(name):
        path = folder / name
        return FileSource(lambda: open(path, "rb"), name=name)

    partner = Partner.objects.get(name=partner_name)
    baseline = rss_mb()
    started, cpu = time.perf_counter(), cpu_s()
    if mode == "naive":
        import naive_import

        if what == "loans":
            rows = naive_import.import_loans(partner, folder, BASELINE_ROWS // (2 + LINES))
        else:
            rows = naive_import.import_repayments(partner, folder / "repayments.csv", BASELINE_ROWS)
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "baseline_mb": baseline, "peak_mb": rss_mb(),
                          "rows": rows, "cpu": cpu_s() - cpu}))  # fmt: skip
        return
    if what == "borrowers":
        importer = BorrowerImporter(partner=partner, sources={"main": source("borrowers.csv")})
    elif what == "loans":
        sources = {"main": source("loans.csv"), "members": source("loan_borrowers.csv"),
                   "schedule": source("schedule.csv")}  # fmt: skip
        importer = LoanImporter(partner=partner, sources=sources)
    else:
        importer = RepaymentImporter(partner=partner, sources={"main": source(f"{what}.csv")})
    outcome = importer.commit() if mode == "commit" else importer.check()
    seconds = time.perf_counter() - started
    assert outcome.ok, outcome.problems[:5]
    print(json.dumps({"seconds": seconds, "baseline_mb": baseline, "peak_mb": rss_mb(),
                      "rows": None, "cpu": cpu_s() - cpu}))  # fmt: skip


def child(folder, *args):
    out = subprocess.run(  # noqa: S603 (our own script, our own arguments)
        [sys.executable, __file__, "run", str(folder), *args],
        check=True, capture_output=True, text=True, env=os.environ,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_postgres_database() -> str:
    """The benchmark's own PostgreSQL database, dropped and created again."""
    import psycopg

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _db import DEFAULT_URL

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL) + "_intake"
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["all", "run"], nargs="?", default="all")
    parser.add_argument("folder", nargs="?")
    parser.add_argument("what", nargs="?")
    parser.add_argument("mode", nargs="?")
    parser.add_argument("partner", nargs="?")
    args = parser.parse_args()
    if args.command == "run":
        return run(Path(args.folder), args.what, args.mode, args.partner)
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = fresh_postgres_database()
        os.environ["CELERY_BROKER_URL"] = ""
        # Production settings: with DEBUG on, Django keeps every SQL statement it ran.
        os.environ["DEBUG"] = "false"
        os.environ.setdefault("ALLOWED_HOSTS", "localhost")
        print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}")
        run_id = time.strftime("%H%M%S")
        # Per size: the portal's importers; the baseline's loans; the baseline's repayments (its
        # loans written by the portal's importer first, untimed).
        partners = {
            n: tuple(f"{who} {n} {run_id}" for who in ("Bench", "Baseline", "Baseline-r"))
            for n in SIZES
        }
        subprocess.run(  # noqa: S603
            [sys.executable, __file__, "run", tmp, "setup", "-",
             json.dumps([name for pair in partners.values() for name in pair])],
            check=True,
        )  # fmt: skip
        head = (f"{'step':34} {'rows':>8} {'seconds':>8} {'rows/s':>8} {'CPU s':>6} {'+MB':>6}"
                f" {'B/row':>6}")  # fmt: skip
        for size in SIZES:
            folder = Path(tmp) / str(size)
            generate(folder, size)
            portal, naive, naive_r = partners[size]
            loan_rows = size * (2 + LINES)
            repayments = size * REPAYMENTS_PER_LOAN
            print(f"\n{size:,} loans, {size * LINES:,} schedule lines, {repayments:,} repayments")
            print(head)
            for what, partner in (("borrowers", naive), ("borrowers", naive_r), ("loans", naive_r)):
                child(folder, what, "commit", partner)  # the baselines' prerequisites, untimed
            steps = [
                ("borrowers", "commit", size, portal, "borrowers"),
                ("loans", "check", loan_rows, portal, "loans: preview only"),
                ("loans", "commit", loan_rows, portal, "loans: import"),
                ("loans", "commit", loan_rows, portal, "loans: same files again"),
                ("repayments", "commit", repayments, portal, "repayments: import"),
                ("repayments", "commit", repayments, portal, "repayments: same file again"),
                ("loans", "naive", None, naive, "baseline (row by row): loans"),
                ("repayments", "naive", None, naive_r, "baseline (row by row): repayments"),
            ]
            for what, mode, rows, partner, label in steps:
                r = child(folder, what, mode, partner)
                rows = r["rows"] or rows
                grown = max(r["peak_mb"] - r["baseline_mb"], 0)
                print(f"{label:34} {rows:>8} {r['seconds']:>8.1f} {rows / r['seconds']:>8.0f} "
                      f"{r['cpu']:>6.1f} {grown:>6.0f} {grown * 2**20 / rows:>6.0f}",
                      flush=True)  # fmt: skip
        print(
            "\nrows: a loan counts its loan, borrower and 12 schedule lines (14 rows); CPU s: the"
            " importing process's CPU time (PostgreSQL's not included); +MB: peak"
            " memory above the process after Django's set-up; the baseline imports at most"
            f" {BASELINE_ROWS:,} rows of each file."
        )


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "run" and sys.argv[3] == "setup":
        setup(Path(sys.argv[2]), json.loads(sys.argv[5]))
    else:
        main()
