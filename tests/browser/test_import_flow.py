"""The import journey in a real browser: a preparer uploads a loans workbook that carries its
borrowers (a group loan with two new borrowers), sees one row's error in the preview, uploads
the corrected workbook, sees each loan's checks, imports it, follows the links to the loans
and submits all of them for review from the result page."""

import io

import pytest
from playwright.sync_api import expect

from kivaportal.lending.models import Borrower, Loan
from kivaportal.partners.roles import Role
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState
from tests.browser.test_review_flow import log_in
from tests.factories import (
    ActivityFactory,
    BorrowerFactory,
    LocaleFactory,
    LocationFactory,
    PartnerFactory,
    member,
)

pytestmark = pytest.mark.django_db(transaction=True)

LOANS = [
    ["mis_loan_id", "loan_type", "group_name", "group_client_id", "amount", "activity_id",
     "description_language_id", "location", "description", "loan_use", "disbursal_date"],
    ["WEB-L1", "individual", "", "", "1200.00", 8120, 8002, "Pisac: Peru", "Rosa sells.",
     "A cart.", "2026-01-10"],
    ["WEB-G1", "group", "Hermanas", "GC-1", "500.00", 8120, 8002, "Pisac: Peru", "Yarn.",
     "Wool.", "2026-01-10"],
]  # fmt: skip
SCHEDULE = [
    ["mis_loan_id", "due_date", "principal", "interest"],
    ["WEB-L1", "2026-02-10", "1200.00", "20.00"],
    ["WEB-G1", "2026-02-10", "500.00", "5.00"],
]


def workbook(gender_of_juana):
    from openpyxl import Workbook

    borrowers = [
        ["mis_loan_id", "mis_client_id", "amount", "first_name", "last_name", "gender"],
        ["WEB-L1", "C-ROSA", "1200.00", "", "", ""],
        ["WEB-G1", "N-1", "200.00", "Nélida", "Huamán", "female"],
        ["WEB-G1", "N-2", "300.00", "Juana", "Huamán", gender_of_juana],
    ]
    book = Workbook()
    book.remove(book.active)
    for title, rows in (("loans", LOANS), ("borrowers", borrowers), ("schedule", SCHEDULE)):
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return {
        "name": "loans.xlsx",
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "buffer": out.getvalue(),
    }


def upload(page, live_server, file):
    page.goto(f"{live_server.url}/intake/")
    page.get_by_label("What the file holds").select_option("loans")
    page.get_by_label("File (CSV or .xlsx)").set_input_files(file)
    page.get_by_role("button", name="Check the file").click()


def test_a_preparer_imports_loans_with_borrowers_fixes_a_row_and_submits_all(live_server, browser):
    partner = PartnerFactory(name="Cooperativa Importadora")
    ActivityFactory(partner=partner, kiva_id=8120)
    LocaleFactory(partner=partner, language_id=8002, currency="PEN")
    LocationFactory(partner=partner, country="Peru", location="Pisac", full_name="Pisac: Peru")
    BorrowerFactory(partner=partner, mis_client_id="C-ROSA")
    preparer = member(partner, Role.PREPARER, username="prep", first_name="Ana")

    page = browser.new_context().new_page()
    log_in(page, live_server, "prep")

    # A wrong gender on one borrower's row: the preview names the sheet, row and column.
    upload(page, live_server, workbook("mujer"))
    errors = page.locator("table", has=page.get_by_role("columnheader", name="Problem"))
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody tr")).to_contain_text("borrowers")
    expect(errors.locator("tbody tr")).to_contain_text("4")
    expect(errors.locator("tbody tr")).to_contain_text("gender")
    expect(page.get_by_role("button", name="Import now (all or nothing)")).to_have_count(0)
    assert not Loan.objects.exists()

    # The corrected file: each row shows its loan's checks, as the loan's page will.
    upload(page, live_server, workbook("female"))
    expect(page.locator("#ready-count")).to_have_text("2")
    expect(page.locator("#blocked-count")).to_have_text("0")
    expect(page.locator("span.ready")).to_have_count(2)
    assert not Borrower.objects.filter(mis_client_id__in=["N-1", "N-2"]).exists()
    page.get_by_role("button", name="Import now (all or nothing)").click()

    # The result page links every imported loan; "submit all" submits the ready ones.
    expect(page.get_by_role("heading", name="Imported records")).to_be_visible()
    expect(page.get_by_role("link", name="WEB-L1")).to_be_visible()
    expect(page.get_by_role("link", name="WEB-G1")).to_be_visible()
    page.get_by_role("button", name="Submit all without blocking errors for review").click()
    expect(page.get_by_role("status")).to_contain_text("2 submitted for review")
    assert set(Loan.objects.values_list("state", flat=True)) == {RecordState.SUBMITTED}
    group = Loan.objects.get(mis_loan_id="WEB-G1")
    assert sorted(group.loan_borrowers.values_list("borrower__first_name", flat=True)) == [
        "Juana",
        "Nélida",
    ]
    assert AuditEntry.objects.filter(action=AuditAction.SUBMITTED, actor=preparer).count() == 2

    page.get_by_role("link", name="WEB-G1").click()
    expect(page.get_by_role("heading", name="WEB-G1")).to_be_visible()
    expect(page.locator(".state").first).to_have_text("Submitted for review")
