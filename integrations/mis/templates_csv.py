"""The downloadable templates of each import kind, for the partner that downloads them: the
header (from the same column definitions the importers use, so they cannot drift apart) and
example rows valid for that partner — its own activity, location, language and currency, in
its intake file format (dates, decimal separator) — and, for loans, a workbook with the three
sheets and a sheet of the partner's allowed values."""

import io
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from integrations.mis.importers.borrowers import COLUMNS as BORROWER_COLUMNS
from integrations.mis.importers.journals import COLUMNS as JOURNAL_COLUMNS
from integrations.mis.importers.loan_parts import LOAN_COLUMNS, MEMBER_COLUMNS, SCHEDULE_COLUMNS
from integrations.mis.importers.repayments import COLUMNS as REPAYMENT_COLUMNS
from integrations.mis.models import IntakeFormat
from kivaportal.common.csv_export import csv_text
from kivaportal.common.money import quantize
from kivaportal.reference.models import Activity, Locale, Location, Theme

TEMPLATES = {
    "borrowers": BORROWER_COLUMNS,
    "loans": LOAN_COLUMNS,
    "loan_borrowers": MEMBER_COLUMNS,
    "schedule": SCHEDULE_COLUMNS,
    "repayments": REPAYMENT_COLUMNS,
    "journals": JOURNAL_COLUMNS,
}
# The sheets of the loans workbook (the names the import reads) and the templates they hold.
WORKBOOK_SHEETS = {"loans": "loans", "borrowers": "loan_borrowers", "schedule": "schedule"}


def _current(model, partner):
    return model.objects.filter(partner=partner, retired=False).order_by("pk")


class Examples:
    """Example values valid for one partner: its reference values, currency and file format."""

    def __init__(self, partner):
        self.partner = partner
        found = IntakeFormat.for_partner(partner)
        self.date_format, self.separator = found.date_format, found.decimal_separator
        self.currency = partner.default_currency
        self.activity = _current(Activity, partner).first()
        locales = _current(Locale, partner)
        self.locale = locales.filter(currency=self.currency).first() or locales.first()
        self.location = _current(Location, partner).first()

    def date(self, day: date) -> str:
        return day.strftime(self.date_format)

    def money(self, amount) -> str:
        text = str(quantize(Decimal(amount), self.currency))
        return text.replace(".", ",") if self.separator == "," else text

    def rows(self, name) -> list[dict]:
        loan = {"mis_loan_id": "L-1001"}
        d = self.date
        if name == "borrowers":
            return [{"mis_client_id": "C-00017", "birth_date": d(date(1984, 5, 2))}]
        if name == "loans":
            return [
                {
                    **loan,
                    "amount": self.money(1200),
                    "currency": self.currency,
                    "disbursal_date": d(date(2026, 1, 10)),
                    "activity_id": self.activity.kiva_id if self.activity else "",
                    "description_language_id": self.locale.language_id if self.locale else "",
                    "location": self.location.full_name if self.location else "",
                }
            ]
        if name == "loan_borrowers":
            return [{**loan, "amount": self.money(1200), "birth_date": d(date(1984, 5, 2))}]
        if name == "schedule":
            return [
                {**loan, "due_date": d(date(2026, 2, 10)), "principal": self.money(600),
                 "interest": self.money(20)},
                {**loan, "due_date": d(date(2026, 3, 10)), "principal": self.money(600),
                 "interest": self.money(10)},
            ]  # fmt: skip
        if name == "repayments":
            return [
                {**loan, "date": d(date(2026, 2, 10)), "amount": self.money(620),
                 "principal": self.money(600), "interest": self.money(20)}
            ]  # fmt: skip
        return [{}]

    def table(self, name) -> list[list]:
        """The header and the example rows; a column the partner gives no value for keeps
        its generic example (text, ids)."""
        columns = TEMPLATES[name]
        rows = [{c.name: row.get(c.name, c.example) for c in columns} for row in self.rows(name)]
        return template_table(name, rows)


def template_table(name: str, rows: list[dict]) -> list[list]:
    """The header of the template `name` and `rows` under it (a dict per row, by column name;
    a column a row does not name is left empty)."""
    columns = [c.name for c in TEMPLATES[name]]
    return [columns, *([row.get(c, "") for c in columns] for row in rows)]


def template_csv(name: str, partner) -> str:
    return csv_text(Examples(partner).table(name))


def workbook_bytes(sheets: dict[str, list[list]]) -> bytes:
    """An .xlsx of the given sheets (title -> rows), their cells written as text."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        _sheet(book, title, rows)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def allowed_values(partner) -> list[list]:
    """The partner's current Kiva reference values, as the columns take them."""
    rows = [[_("column"), _("value"), _("meaning")]]
    for a in _current(Activity, partner).order_by("name"):
        rows.append(["activity_id", a.kiva_id, a.name])
    for t in _current(Theme, partner).order_by("name"):
        rows.append(["theme_type_id", t.kiva_id, t.name])
    for loc in _current(Locale, partner).order_by("language_name", "currency"):
        rows.append(["description_language_id", loc.language_id,
                     f"{loc.language_name} ({loc.currency})"])  # fmt: skip
    for place in _current(Location, partner).order_by("full_name"):
        rows.append(["location", place.full_name, place.country])
    currencies = sorted(set(_current(Locale, partner).values_list("currency", flat=True)))
    for code in currencies or [partner.default_currency]:
        rows.append(["currency", code, ""])
    return rows


def _sheet(book, title, rows):
    sheet = book.create_sheet(title)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            # A text beginning with "=" would be written as a formula: keep it text.
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    return sheet


def template_workbook(partner) -> bytes:
    """The loans workbook: sheets loans, borrowers, schedule (with example rows for the
    partner) and "allowed values" (read by people, ignored by the import)."""
    examples = Examples(partner)
    sheets = {sheet: examples.table(name) for sheet, name in WORKBOOK_SHEETS.items()}
    return workbook_bytes({**sheets, ALLOWED_SHEET: allowed_values(partner)})


ALLOWED_SHEET = "allowed values"
