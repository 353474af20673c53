"""Files as MIS systems write them: UTF-8 with or without BOM, Windows-1252, semicolons and
decimal commas, the partner's date format, and Excel workbooks."""

import io
from datetime import date
from decimal import Decimal

import pytest

from integrations.mis.fields import NumberFormat
from integrations.mis.formats import detect_encoding
from integrations.mis.importers.borrowers import BorrowerImporter
from integrations.mis.importers.loans import LoanImporter
from integrations.mis.importers.repayments import RepaymentImporter
from kivaportal.lending.models import Borrower, Loan
from kivaportal.repayments.models import Repayment
from tests.factories import LoanFactory
from tests.mis.helpers import bytes_source, csv_source, xlsx_bytes

NAMES = "mis_client_id,first_name,last_name,gender,city\nC9,José,Núñez Peña,male,Ñaña\n"


@pytest.mark.parametrize(
    ("encoding", "bom", "detected"),
    [("utf-8", False, "utf-8"), ("utf-8", True, "utf-8"), ("cp1252", False, "windows-1252")],
)
def test_accented_names_arrive_intact_in_each_encoding(partner, encoding, bom, detected):
    source = csv_source(NAMES, encoding=encoding, bom=bom)
    outcome = BorrowerImporter(partner=partner, sources={"main": source}).commit()
    assert outcome.ok, outcome.problems
    person = Borrower.objects.get(mis_client_id="C9")
    assert (person.first_name, person.last_name, person.city) == ("José", "Núñez Peña", "Ñaña")
    assert source.encoding == detected


def test_a_chosen_encoding_is_used_as_chosen(partner):
    source = bytes_source(NAMES.encode("latin-1"), encoding="latin-1")
    assert BorrowerImporter(partner=partner, sources={"main": source}).commit().ok
    assert Borrower.objects.get(mis_client_id="C9").first_name == "José"


def test_windows_1252_is_detected_even_when_the_accent_comes_late():
    text = "mis_client_id,first_name\n" + "C1,Ana\n" * 300_000 + "C2,Peña\n"
    data = text.encode("cp1252")
    assert detect_encoding(lambda: io.BytesIO(data)) == "windows-1252"


def test_semicolons_with_decimal_commas_and_day_first_dates(partner):
    LoanFactory(partner=partner, mis_loan_id="L1", currency="PEN")
    text = (
        "mis_repayment_id;mis_loan_id;date;amount;principal;interest\n"
        "T1;L1;10/02/2026;1.234,50;1.200,00;34,5\n"
        "T2;L1;11/02/2026;99,99;;\n"
    )
    fmt = NumberFormat(decimal_separator=",", date_format="%d/%m/%Y")
    outcome = RepaymentImporter(
        partner=partner, sources={"main": csv_source(text)}, fmt=fmt
    ).commit()
    assert outcome.ok, outcome.problems
    first = Repayment.objects.get(mis_repayment_id="T1")
    assert (first.date, first.amount, first.principal, first.interest) == (
        date(2026, 2, 10),
        Decimal("1234.50"),
        Decimal("1200.00"),
        Decimal("34.50"),
    )
    assert Repayment.objects.get(mis_repayment_id="T2").principal is None


def test_a_point_in_a_decimal_comma_file_is_not_silently_misread(partner):
    LoanFactory(partner=partner, mis_loan_id="L1")
    text = "mis_repayment_id;mis_loan_id;date;amount\nT1;L1;10/02/2026;12.5\n"
    fmt = NumberFormat(decimal_separator=",", date_format="%d/%m/%Y")
    outcome = RepaymentImporter(
        partner=partner, sources={"main": csv_source(text)}, fmt=fmt
    ).commit()
    assert [(p.row, p.column) for p in outcome.problems] == [(2, "amount")]


def test_dates_in_another_format_than_the_partners_are_refused(partner):
    LoanFactory(partner=partner, mis_loan_id="L1")
    text = "mis_repayment_id,mis_loan_id,date,amount\nT1,L1,2026-02-10,5\n"
    fmt = NumberFormat(date_format="%d/%m/%Y")
    outcome = RepaymentImporter(
        partner=partner, sources={"main": csv_source(text)}, fmt=fmt
    ).commit()
    assert [(p.row, p.column) for p in outcome.problems] == [(2, "date")]
    assert "31/03/2026" in outcome.problems[0].message


def test_a_loans_workbook_with_three_sheets(partner):
    data = xlsx_bytes(
        {
            "loans": [
                ["mis_loan_id", "amount", "disbursal_date", "activity_id"],
                ["L1", 1200.5, date(2026, 1, 10), 7120],
            ],
            "borrowers": [["mis_loan_id", "mis_client_id", "amount"], ["L1", "C1", 1200.5]],
            "schedule": [
                ["mis_loan_id", "due_date", "principal", "interest"],
                ["L1", date(2026, 2, 10), 600.25, 10],
                [None, None, None, None],
                ["L1", date(2026, 3, 10), 600.25, 5],
            ],
        }
    )
    sources = {
        key: bytes_source(data, name=sheet, sheet=sheet)
        for key, sheet in (("main", "loans"), ("members", "borrowers"), ("schedule", "schedule"))
    }
    outcome = LoanImporter(partner=partner, sources=sources).commit()
    assert outcome.ok, outcome.problems
    loan = Loan.objects.get(mis_loan_id="L1")
    assert loan.amount == Decimal("1200.50")
    assert loan.disbursal_date == date(2026, 1, 10)
    assert [line.principal for line in loan.schedule.all()] == [Decimal("600.25")] * 2


def test_workbook_errors_name_the_sheet_row_and_column(partner):
    data = xlsx_bytes(
        {
            "Sheet1": [
                ["mis_client_id", "first_name", "last_name", "gender"],
                ["C7", "Ana", "Q", "female"],
                ["C8", "Eva", "R", 42],
            ]
        }
    )
    outcome = BorrowerImporter(partner=partner, sources={"main": bytes_source(data)}).commit()
    assert [(p.row, p.column) for p in outcome.problems] == [(3, "gender")]
