"""A file import reads and parses each row once (docs/performance.md, "Intake"): repayments
and borrowers are checked and written in one pass, a loan's borrowers and schedule lines are
staged as they are checked (PostgreSQL). A problem in a late batch still leaves nothing
written, and what is written is what the preview counted."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from integrations.mis.importers.base import BATCH_SIZE
from integrations.mis.importers.repayments import RepaymentImporter
from kivaportal.lending.models import LoanBorrower, ScheduleLine
from kivaportal.repayments.models import Repayment
from tests.mis.data import LOANS, import_loans, loan_sources
from tests.mis.helpers import csv_source

pytestmark = pytest.mark.django_db
HEADER = "mis_repayment_id,mis_loan_id,date,amount,principal,interest\n"
N = BATCH_SIZE + 200  # two batches


def repayments_file(n, bad_row=None):
    lines = []
    for k in range(n):
        amount = "oops" if k == bad_row else "10.00"
        lines.append(f"T{k},L1,2026-02-{k % 28 + 1:02d},{amount},10,0\n")
    return csv_source(HEADER + "".join(lines), name="repayments.csv")


def test_a_problem_in_the_last_batch_leaves_nothing_written(partner, preparer):
    assert import_loans(partner, actor=preparer).ok

    outcome = RepaymentImporter(
        partner=partner, sources={"main": repayments_file(N, bad_row=N - 1)}, actor=preparer
    ).commit()

    assert not outcome.ok
    assert [(p.row, p.column) for p in outcome.problems] == [(N + 1, "amount")]
    assert not Repayment.objects.filter(partner=partner).exists()
    assert not Repayment.history.filter(partner_id=partner.pk).exists()


def test_a_duplicate_in_a_later_batch_is_refused_though_its_first_row_was_written(
    partner, preparer
):
    assert import_loans(partner, actor=preparer).ok
    text = (
        HEADER
        + "".join(f"T{k},L1,2026-02-10,10.00,10,0\n" for k in range(N))
        + ("T3,L1,2026-02-11,10.00,10,0\n")
    )
    outcome = RepaymentImporter(
        partner=partner, sources={"main": csv_source(text)}, actor=preparer
    ).commit()

    assert [(p.row, p.column) for p in outcome.problems] == [(N + 2, "mis_repayment_id")]
    assert not Repayment.objects.filter(partner=partner).exists()


def test_one_pass_counts_and_writes_what_the_preview_counts(partner, preparer):
    assert import_loans(partner, actor=preparer).ok
    preview = RepaymentImporter(partner=partner, sources={"main": repayments_file(N)}).check()

    outcome = RepaymentImporter(
        partner=partner, sources={"main": repayments_file(N)}, actor=preparer
    ).commit()

    assert outcome.ok
    assert (outcome.created, outcome.unchanged) == (preview.created, preview.unchanged) == (N, 0)
    assert outcome.preview == preview.preview
    stored = Repayment.objects.filter(partner=partner)
    assert stored.count() == N
    assert set(stored.values_list("created_by_id", "updated_by_id").distinct()) == {
        (preparer.pk, preparer.pk)
    }
    history = Repayment.history.filter(partner_id=partner.pk)
    assert history.count() == N
    assert set(history.values_list("history_type", "history_user_id").distinct()) == {
        ("+", preparer.pk)
    }
    again = RepaymentImporter(
        partner=partner, sources={"main": repayments_file(N)}, actor=preparer
    ).commit()
    assert (again.created, again.unchanged) == (0, N)
    assert Repayment.objects.filter(partner=partner).count() == N


def test_staged_lines_are_written_in_file_order_with_their_history(partner, preparer):
    schedule = "mis_loan_id,due_date,principal,interest\n" + "".join(
        f"L1,2026-{m:02d}-10,100.00,{m}\n" for m in range(1, 13)
    )
    members = "mis_loan_id,mis_client_id,amount,borrower_loan_id\nL1,C1,1200.00,OWN-1\n"

    outcome = import_loans(partner, actor=preparer, schedule=schedule, members=members)

    assert outcome.ok, outcome.problems
    lines = list(ScheduleLine.objects.filter(loan__partner=partner).order_by("id"))
    assert [(x.due_date, x.principal, x.interest) for x in lines] == [
        (date(2026, m, 10), Decimal("100.00"), Decimal(m)) for m in range(1, 13)
    ]
    assert ScheduleLine.history.filter(id__in=[x.pk for x in lines], history_type="+").count() == 12
    share = LoanBorrower.objects.get(loan__partner=partner)
    assert (share.borrower.mis_client_id, share.amount, share.mis_loan_id, share.position) == (
        "C1",
        Decimal("1200.00"),
        "OWN-1",
        0,
    )
    assert LoanBorrower.history.filter(id=share.pk, history_user_id=preparer.pk).count() == 1


def test_a_bad_schedule_line_stages_nothing_and_writes_no_loan(partner, preparer):
    schedule = "mis_loan_id,due_date,principal,interest\nL1,2026-02-10,1200.00,0\nL1,bad,0,0\n"

    outcome = import_loans(partner, actor=preparer, schedule=schedule)

    assert not outcome.ok
    assert not ScheduleLine.objects.filter(loan__partner=partner).exists()
    assert not LoanBorrower.objects.filter(loan__partner=partner).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="staging: PostgreSQL only")
def test_loan_lines_are_staged_once_checked_on_postgresql(partner, preparer):
    from integrations.mis.importers.loans import LoanImporter

    importer = LoanImporter(partner=partner, sources=loan_sources(loans=LOANS), actor=preparer)
    assert importer.commit().ok
    assert set(importer.staged) == {"members", "schedule"}
    assert ScheduleLine.objects.filter(loan__partner=partner).count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY and ANALYZE: PostgreSQL")
def test_a_bulk_import_has_its_table_analyzed_once_after_it_commits(
    partner, preparer, django_capture_on_commit_callbacks
):
    """The month's new rows reach PostgreSQL's statistics before the tasks the import queued
    plan queries on them; one ANALYZE per table and commit, however many batches."""
    assert import_loans(partner, actor=preparer).ok
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'repayments_repayment'")
        before = cursor.fetchone()[0]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = RepaymentImporter(
            partner=partner, sources={"main": repayments_file(N)}, actor=preparer
        ).commit()
    assert outcome.ok
    analyzers = [c for c in callbacks if getattr(c, "callback", None).__name__ == "analyze"]
    assert len(analyzers) == 1  # two batches, one ANALYZE
    analyzers[0]()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'repayments_repayment'")
        assert cursor.fetchone()[0] == N != before
