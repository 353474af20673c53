"""Benchmark of the review pages on a large partner (issue: review workflow).

Seeds, once, one partner with 20,000 loans (12 schedule lines each) and 100,000 repayments in
a dedicated PostgreSQL database, then requests the dashboard, queue pages (filtered, searched,
sorted), a loan review page and a repayment report page (whole, searched, as CSV) through
Django's test client, and prints the median time and the query count of each. Run with
`make bench` (BENCH_DATABASE_URL picks the database).
"""

import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import setup_django  # noqa: E402

LOANS = 20_000
REPAYMENTS = 100_000
RUNS = 15
BATCH = 5_000


def seed():
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from kivaportal.lending.models import Borrower, Loan, LoanBorrower, ScheduleLine
    from kivaportal.partners.models import Membership, Partner
    from kivaportal.partners.roles import Role
    from kivaportal.repayments.models import Repayment, RepaymentReport
    from kivaportal.workflow.states import RecordState

    partner, created = Partner.objects.get_or_create(
        kiva_partner_id="7777",
        defaults={"name": "Benchmark Microfinanzas", "country": "PE", "default_currency": "PEN"},
    )
    user, _ = get_user_model().objects.get_or_create(username="bench.reviewer")
    Membership.objects.get_or_create(user=user, partner=partner, defaults={"role": Role.REVIEWER})
    if Loan.objects.filter(partner=partner).count() >= LOANS:
        return partner, user
    print(f"seeding {LOANS} loans, {LOANS * 12} schedule lines, {REPAYMENTS} repayments ...")
    started = time.perf_counter()
    states = [
        RecordState.DRAFT,
        RecordState.SUBMITTED,
        RecordState.SENT,
        RecordState.SENT,
        RecordState.APPROVED,
        RecordState.REJECTED,
    ]
    start = date(2025, 1, 10)
    with transaction.atomic():
        for offset in range(0, LOANS, BATCH):
            idx = range(offset, min(offset + BATCH, LOANS))
            borrowers = Borrower.objects.bulk_create(
                Borrower(
                    partner=partner,
                    mis_client_id=f"B{i:06d}",
                    first_name="Rosa",
                    last_name=f"Quispe {i}",
                    gender="female",
                )
                for i in idx
            )
            loans = Loan.objects.bulk_create(
                Loan(
                    partner=partner,
                    mis_loan_id=f"L{i:06d}",
                    amount=Decimal("1200.00"),
                    currency="PEN",
                    disbursal_date=start,
                    state=states[i % len(states)],
                    state_changed_at=None,
                    description="Benchmark loan",
                    loan_use="Stock",
                )
                for i in idx
            )
            LoanBorrower.objects.bulk_create(
                LoanBorrower(loan=loan, borrower=b, amount=Decimal("1200.00"))
                for loan, b in zip(loans, borrowers, strict=True)
            )
            ScheduleLine.objects.bulk_create(
                ScheduleLine(
                    loan=loan,
                    due_date=start + timedelta(days=30 * (k + 1)),
                    principal=Decimal("100.00"),
                    interest=Decimal("12.00"),
                )
                for loan in loans
                for k in range(12)
            )
        loan_ids = list(Loan.objects.filter(partner=partner).values_list("id", flat=True))
        for offset in range(0, REPAYMENTS, BATCH):
            Repayment.objects.bulk_create(
                Repayment(
                    partner=partner,
                    loan_id=loan_ids[i % len(loan_ids)],
                    mis_repayment_id=f"P{i:07d}",
                    date=start + timedelta(days=30 * (1 + i // len(loan_ids)) + i % 20),
                    amount=Decimal("112.00"),
                    principal=Decimal("100.00"),
                    interest=Decimal("12.00"),
                )
                for i in range(offset, min(offset + BATCH, REPAYMENTS))
            )
        for m in range(1, 6):
            month = (start + timedelta(days=30 * m)).replace(day=1)
            RepaymentReport.objects.get_or_create(partner=partner, month=month)
    print(f"seeded in {time.perf_counter() - started:.0f} s")
    return partner, user


def prepare(partner):
    """What production has after an import: fresh planner statistics, checked reports."""
    from django.db import connection

    from kivaportal.repayments.models import RepaymentReport
    from kivaportal.review.services import records_recheck

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    started = time.perf_counter()
    n = records_recheck(model=RepaymentReport, partner=partner)
    print(f"checked {n} monthly reports in {time.perf_counter() - started:.1f} s")


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


def main():
    setup_django()
    from django.test import Client
    from django.urls import reverse

    from kivaportal.lending.models import Loan
    from kivaportal.repayments.models import RepaymentReport
    from kivaportal.workflow.states import RecordState

    partner, user = seed()
    prepare(partner)
    client = Client()
    client.force_login(user)
    loan = Loan.objects.filter(partner=partner, state=RecordState.SUBMITTED).order_by("id").first()
    report = RepaymentReport.objects.filter(partner=partner).order_by("month")[1]
    pages = {
        "dashboard": reverse("review:dashboard", args=[partner.pk]),
        "queue (page 2, submitted)": reverse("review:queue", args=[partner.pk, "loans"])
        + "?state=submitted&page=2",
        "queue search (borrower name)": reverse("review:queue", args=[partner.pk, "loans"])
        + "?q=quispe+1234",
        "queue search (client id), by amount": reverse("review:queue", args=[partner.pk, "loans"])
        + "?q=B01234&sort=-amount",
        "queue sorted by amount (page 3)": reverse("review:queue", args=[partner.pk, "loans"])
        + "?sort=-amount&page=3",
        "loan review page": reverse("review:record", args=[partner.pk, "loans", loan.pk]),
        f"repayment report {report.month:%Y-%m}": reverse(
            "review:record", args=[partner.pk, "reports", report.pk]
        ),
        "report lines search": reverse("review:record", args=[partner.pk, "reports", report.pk])
        + "?q=L0012",
        "report lines CSV (all)": reverse("review:report_csv", args=[partner.pk, report.pk]),
    }
    from kivaportal.lending.models import ScheduleLine
    from kivaportal.repayments.models import Repayment

    print(
        f"data: {Loan.objects.filter(partner=partner).count()} loans, "
        f"{ScheduleLine.objects.filter(loan__partner=partner).count()} schedule lines, "
        f"{Repayment.objects.filter(partner=partner).count()} repayments"
    )
    print(f"{'page':40} {'median ms':>10} {'queries':>8}")
    for name, url in pages.items():
        median, queries = measure(client, url)
        print(f"{name:40} {median:10.1f} {queries:8d}")


if __name__ == "__main__":
    main()
