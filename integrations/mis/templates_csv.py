"""The downloadable CSV template of each import kind: the header and one example row, from the
same column definitions the importers use (so they cannot drift apart)."""

from integrations.mis.importers.borrowers import COLUMNS as BORROWER_COLUMNS
from integrations.mis.importers.journals import COLUMNS as JOURNAL_COLUMNS
from integrations.mis.importers.loan_parts import LOAN_COLUMNS, MEMBER_COLUMNS, SCHEDULE_COLUMNS
from integrations.mis.importers.repayments import COLUMNS as REPAYMENT_COLUMNS
from kivaportal.common.csv_export import csv_text

TEMPLATES = {
    "borrowers": BORROWER_COLUMNS,
    "loans": LOAN_COLUMNS,
    "loan_borrowers": MEMBER_COLUMNS,
    "schedule": SCHEDULE_COLUMNS,
    "repayments": REPAYMENT_COLUMNS,
    "journals": JOURNAL_COLUMNS,
}


def template_csv(name: str) -> str:
    columns = TEMPLATES[name]
    return csv_text([[c.name for c in columns], [c.example for c in columns]])
