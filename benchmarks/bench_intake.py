"""Intake benchmark: 10,000 loans with 12 schedule lines each, and 100,000 repayments, from CSV.

    make bench-intake                      # SQLite in a temporary folder
    DATABASE_URL=postgres://... make bench-intake

Each measured import runs in its own process, so its peak memory (ru_maxrss) is its own; the
baseline is the process after Django set-up. Repayments are also imported at a fifth of the
size to show that memory does not grow with the file. All data is invented.
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

ROOT = Path(__file__).resolve().parent.parent
LOANS, LINES, REPAYMENTS = 10_000, 12, 100_000


def django_setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kivaportal.settings")
    import django

    django.setup()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def generate(folder: Path, repayments: int):
    start = date(2026, 1, 10)
    write_csv(
        folder / "borrowers.csv",
        ["mis_client_id", "first_name", "last_name", "gender", "city"],
        ((f"C{n:06d}", "Rosa", f"Quispe {n}", "female", "Pisac") for n in range(LOANS)),
    )
    write_csv(
        folder / "loans.csv",
        ["mis_loan_id", "amount", "currency", "disbursal_date", "activity_id",
         "description_language_id", "location", "description", "loan_use",
         "client_waiver_signed"],
        ((f"L{n:06d}", "1200.00", "PEN", start.isoformat(), 120, 2, "Pisac: Peru",
          "Rosa sells vegetables in the market.", "To buy a cart.", "yes")
         for n in range(LOANS)),
    )  # fmt: skip
    write_csv(
        folder / "loan_borrowers.csv",
        ["mis_loan_id", "mis_client_id", "amount"],
        ((f"L{n:06d}", f"C{n:06d}", "1200.00") for n in range(LOANS)),
    )
    dues = [(start + timedelta(days=30 * (k + 1))).isoformat() for k in range(LINES)]
    write_csv(
        folder / "schedule.csv",
        ["mis_loan_id", "due_date", "principal", "interest"],
        ((f"L{n:06d}", due, "100.00", "12.00") for n in range(LOANS) for due in dues),
    )
    for name, count, prefix in (
        ("repayments.csv", repayments, "T"),
        ("repayments_small.csv", repayments // 5, "S"),
    ):
        write_csv(
            folder / name,
            ["mis_repayment_id", "mis_loan_id", "date", "amount", "principal", "interest"],
            ((f"{prefix}{n:07d}", f"L{n % LOANS:06d}", dues[min(n // LOANS, LINES - 1)], "112.00",
              "100.00", "12.00") for n in range(count)),
        )  # fmt: skip


def setup(folder: Path):
    django_setup()
    from django.core.management import call_command

    from kivaportal.partners.models import Partner
    from kivaportal.reference.models import Activity, Locale, Location

    call_command("migrate", verbosity=0)
    for name in ("Bench MFI",):
        partner, _ = Partner.objects.get_or_create(
            name=name, defaults={"kiva_partner_id": "90000", "country": "PE",
                                 "default_currency": "PEN"},
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
    generate(folder, REPAYMENTS)


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
    if what == "borrowers":
        importer = BorrowerImporter(partner=partner, sources={"main": source("borrowers.csv")})
    elif what == "loans":
        sources = {"main": source("loans.csv"), "members": source("loan_borrowers.csv"),
                   "schedule": source("schedule.csv")}  # fmt: skip
        importer = LoanImporter(partner=partner, sources=sources)
    else:
        importer = RepaymentImporter(partner=partner, sources={"main": source(f"{what}.csv")})
    baseline = rss_mb()
    started = time.perf_counter()
    outcome = importer.commit() if mode == "commit" else importer.check()
    seconds = time.perf_counter() - started
    assert outcome.ok, outcome.problems[:5]
    print(json.dumps({"seconds": seconds, "baseline_mb": baseline, "peak_mb": rss_mb(),
                      "created": outcome.created, "unchanged": outcome.unchanged}))  # fmt: skip


def child(folder, *args):
    out = subprocess.run(  # noqa: S603 (our own script, our own arguments)
        [sys.executable, __file__, "run", str(folder), *args],
        check=True, capture_output=True, text=True, env=os.environ,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["all", "run"], nargs="?", default="all")
    parser.add_argument("folder", nargs="?")
    parser.add_argument("what", nargs="?")
    parser.add_argument("mode", nargs="?")
    parser.add_argument("partner", nargs="?", default="Bench MFI")
    args = parser.parse_args()
    if args.command == "run":
        return run(Path(args.folder), args.what, args.mode, args.partner)
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
        os.environ["CELERY_BROKER_URL"] = ""
        # Production settings: with DEBUG on, Django keeps every SQL statement it ran.
        os.environ["DEBUG"] = "false"
        print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}")
        subprocess.run([sys.executable, __file__, "run", str(folder), "setup", "-"], check=True)  # noqa: S603
        steps = [
            ("borrowers", "commit", LOANS, "Bench MFI", "borrowers (prerequisite)"),
            ("loans", "check", LOANS * (2 + LINES), "Bench MFI", "loans: preview only"),
            ("loans", "commit", LOANS * (2 + LINES), "Bench MFI", "loans: import"),
            ("loans", "commit", LOANS * (2 + LINES), "Bench MFI", "loans: same file again"),
            ("repayments_small", "commit", REPAYMENTS // 5, "Bench MFI", "repayments: 1/5 size"),
            ("repayments", "commit", REPAYMENTS, "Bench MFI", "repayments: import"),
            ("repayments", "commit", REPAYMENTS, "Bench MFI", "repayments: same file again"),
        ]
        print(f"{'step':32} {'rows':>8} {'seconds':>8} {'rows/s':>8} {'peak MB':>8} {'base MB':>8}")
        for what, mode, rows, partner, label in steps:
            r = child(folder, what, mode, partner)
            print(f"{label:32} {rows:>8} {r['seconds']:>8.1f} {rows / r['seconds']:>8.0f} "
                  f"{r['peak_mb']:>8.0f} {r['baseline_mb']:>8.0f}")  # fmt: skip
        print(
            "rows: loans count loan + borrower + 12 schedule lines per loan (140,000 for 10,000)."
        )


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "run" and sys.argv[3] == "setup":
        setup(Path(sys.argv[2]))
    else:
        main()
