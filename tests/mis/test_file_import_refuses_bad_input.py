"""Bad files are reported row by row and column by column, and nothing is written."""

import pytest

from integrations.mis.importers.borrowers import BorrowerImporter
from integrations.mis.importers.repayments import RepaymentImporter
from kivaportal.lending.models import Borrower, Loan, LoanBorrower, ScheduleLine
from kivaportal.repayments.models import Repayment
from kivaportal.workflow.models import AuditEntry
from tests.factories import LoanFactory
from tests.mis.data import LOANS, MEMBERS, SCHEDULE, import_loans
from tests.mis.helpers import bytes_source, csv_source

HEADER, ROW = LOANS.splitlines()


def loans_with(row_text):
    return f"{HEADER}\n{row_text}\n"


def nothing_written():
    return (
        Loan.objects.count() == 0
        and LoanBorrower.objects.count() == 0
        and ScheduleLine.objects.count() == 0
        and Loan.history.count() == 0
        and ScheduleLine.history.count() == 0
        and AuditEntry.objects.count() == 0
    )


def errors_at(outcome):
    return {(p.source, p.row, p.column) for p in outcome.problems}


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        pytest.param(
            {"loans": loans_with(ROW.replace("1200.00", "twelve hundred", 1))},
            ("loans.csv", 2, "amount"),
            id="wrong type: amount",
        ),
        pytest.param(
            {"loans": loans_with(ROW.replace("2026-01-10", "2026-02-31"))},
            ("loans.csv", 2, "disbursal_date"),
            id="wrong type: impossible date",
        ),
        pytest.param(
            {"loans": loans_with(ROW.replace(",7120,", ",999,"))},
            ("loans.csv", 2, "activity_id"),
            id="unknown activity",
        ),
        pytest.param(
            {"loans": loans_with(ROW.replace("Pisac: Peru", "Atlantis: Nowhere"))},
            ("loans.csv", 2, "location"),
            id="unknown location",
        ),
        pytest.param(
            {"loans": loans_with(ROW.replace("1200.00", "-1200.00", 1))},
            ("loans.csv", 2, "amount"),
            id="negative loan amount",
        ),
        pytest.param(
            {"schedule": SCHEDULE.replace("600.00,20.00", "-600.00,20.00")},
            ("schedule.csv", 2, "principal"),
            id="negative principal",
        ),
        pytest.param(
            {"schedule": SCHEDULE.replace("600.00,10", "500.00,10")},
            ("loans.csv", 2, "amount"),
            id="schedule does not add up",
        ),
        pytest.param(
            {"members": MEMBERS.replace("1200.00", "1000.00")},
            ("loans.csv", 2, "amount"),
            id="shares do not add up",
        ),
        pytest.param(
            {"schedule": SCHEDULE.replace("2026-03-10", "2026-01-31")},
            ("schedule.csv", 3, "due_date"),
            id="schedule out of order",
        ),
        pytest.param(
            {"members": MEMBERS.replace("C1", "C404")},
            ("members.csv", 2, "mis_client_id"),
            id="unknown borrower",
        ),
        pytest.param(
            {"members": MEMBERS + "L9,C2,10.00\n"},
            ("members.csv", 3, "mis_loan_id"),
            id="borrower row for a loan not in the file",
        ),
        pytest.param(
            {"loans": loans_with(f"{ROW}\n{ROW}")},
            ("loans.csv", 3, "mis_loan_id"),
            id="duplicate loan id in the file",
        ),
        pytest.param(
            {"loans": loans_with(ROW.replace("1200.00", "1200.005", 1))},
            ("loans.csv", 2, "amount"),
            id="more decimals than the currency has",
        ),
        pytest.param(
            {
                "loans": loans_with(ROW.replace("L1,", "L1,group-only,", 1)).replace(
                    "mis_loan_id,", "mis_loan_id,group_name,", 1
                )
            },
            ("loans.csv", 2, "group_name"),
            id="group field on an individual loan",
        ),
        pytest.param(
            {"loans": HEADER.replace("amount", "amout") + "\n" + ROW + "\n"},
            ("loans.csv", 1, "amout"),
            id="misspelt column",
        ),
        pytest.param(
            {"loans": ""},
            ("loans.csv", 1, ""),
            id="empty file",
        ),
    ],
)
def test_bad_loan_input_is_reported_where_it_is_and_nothing_is_written(partner, kwargs, where):
    outcome = import_loans(partner, **kwargs)
    assert not outcome.ok
    assert where in errors_at(outcome), outcome.problems
    assert nothing_written()


def test_the_good_rows_of_a_bad_file_are_not_written_either(partner):
    good = "L2,300.00,PEN,2026-01-10,7120,7007,7002,Pisac: Peru,Story.,Use.,yes"
    bad = ROW.replace(",7120,", ",999,")
    outcome = import_loans(partner, loans=loans_with(f"{good}\n{bad}"), members=None, schedule=None)
    assert [(p.row, p.column) for p in outcome.problems] == [(3, "activity_id")]
    assert nothing_written()


def test_every_error_of_the_file_is_reported_not_only_the_first(partner):
    rows = "\n".join(
        ROW.replace("L1,", f"L{n},", 1).replace(",7120,", ",999,") for n in range(2, 7)
    )
    outcome = import_loans(partner, loans=loans_with(rows), members=None, schedule=None)
    assert [p.row for p in outcome.problems] == [2, 3, 4, 5, 6]


def test_a_csv_with_a_nul_byte_is_refused_as_malformed(partner):
    source = bytes_source(b"mis_client_id,first_name,last_name,gender\nC9,R\x00sa,Q,female\n")
    outcome = BorrowerImporter(partner=partner, sources={"main": source}).commit()
    assert not outcome.ok
    assert Borrower.objects.filter(mis_client_id="C9").count() == 0


def test_a_broken_workbook_is_refused_as_malformed(partner):
    source = bytes_source(b"PK\x03\x04 this is not really a zip file", name="loans.xlsx")
    outcome = BorrowerImporter(partner=partner, sources={"main": source}).commit()
    assert [p.message for p in outcome.problems] == ["The file is not a valid .xlsx workbook."]


def test_repayments_for_unknown_loans_are_refused_with_row_and_column(partner):
    LoanFactory(partner=partner, mis_loan_id="L1")
    text = (
        "mis_repayment_id,mis_loan_id,date,amount\n"
        "T1,L1,2026-02-10,100.00\n"
        "T2,L404,2026-02-10,100.00\n"
    )
    outcome = RepaymentImporter(partner=partner, sources={"main": csv_source(text)}).commit()
    assert [(p.row, p.column) for p in outcome.problems] == [(3, "mis_loan_id")]
    assert Repayment.objects.count() == 0
    assert Repayment.history.count() == 0


def test_repayments_of_another_partners_loan_are_unknown_loans(partner):
    LoanFactory(mis_loan_id="THEIRS")  # another partner's loan
    text = "mis_repayment_id,mis_loan_id,date,amount\nT1,THEIRS,2026-02-10,100.00\n"
    outcome = RepaymentImporter(partner=partner, sources={"main": csv_source(text)}).commit()
    assert [(p.row, p.column) for p in outcome.problems] == [(2, "mis_loan_id")]


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("T1,L1,2026-02-10,-5.00", "amount"),
        ("T1,L1,10/02/2026,5.00", "date"),
        ("T1,L1,2026-02-10,5.001", "amount"),
        (",L1,2026-02-10,5.00", "mis_repayment_id"),
    ],
)
def test_bad_repayment_values_are_refused(partner, line, column):
    LoanFactory(partner=partner, mis_loan_id="L1")
    text = f"mis_repayment_id,mis_loan_id,date,amount\n{line}\n"
    outcome = RepaymentImporter(partner=partner, sources={"main": csv_source(text)}).commit()
    assert [(p.row, p.column) for p in outcome.problems] == [(2, column)]
    assert Repayment.objects.count() == 0


def test_duplicate_repayment_ids_in_one_file_are_refused(partner):
    LoanFactory(partner=partner, mis_loan_id="L1")
    text = (
        "mis_repayment_id,mis_loan_id,date,amount\n"
        "T1,L1,2026-02-10,5.00\nT2,L1,2026-02-11,5.00\nT1,L1,2026-02-12,5.00\n"
    )
    outcome = RepaymentImporter(partner=partner, sources={"main": csv_source(text)}).commit()
    assert [(p.row, p.column) for p in outcome.problems] == [(4, "mis_repayment_id")]
    assert "row 2" in outcome.problems[0].message
    assert Repayment.objects.count() == 0


def test_duplicate_borrower_ids_in_one_file_are_refused(partner):
    text = "mis_client_id,first_name,last_name,gender\nC7,A,B,female\nC7,C,D,male\n"
    outcome = BorrowerImporter(partner=partner, sources={"main": csv_source(text)}).commit()
    assert [(p.row, p.column) for p in outcome.problems] == [(3, "mis_client_id")]
    assert not Borrower.objects.filter(mis_client_id="C7").exists()


def test_a_wrong_gender_is_refused(partner):
    text = "mis_client_id,first_name,last_name,gender\nC7,A,B,other\n"
    outcome = BorrowerImporter(partner=partner, sources={"main": csv_source(text)}).commit()
    assert [(p.row, p.column) for p in outcome.problems] == [(2, "gender")]
