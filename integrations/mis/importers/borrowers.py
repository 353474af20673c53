"""Borrowers (the partner's clients), matched by MIS client id and updated with history."""

from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from integrations.mis.fields import parse_bool, parse_choice, parse_date, parse_text
from integrations.mis.importers.base import BATCH_SIZE, Column
from integrations.mis.importers.flat import FlatImporter
from kivaportal.lending.models import Borrower, Gender
from kivaportal.lending.services import borrower_edited

GENDERS = {"female": Gender.FEMALE, "f": Gender.FEMALE, "male": Gender.MALE, "m": Gender.MALE}


def text(max_length):
    def parse(value, fmt):
        return parse_text(value, max_length=max_length)

    parse.max_length = max_length  # for the API's description (openapi.py)
    return parse


def gender(value, fmt):
    return GENDERS[parse_choice(value, list(GENDERS))]


COLUMNS = (
    Column("mis_client_id", text(64), True, gettext_lazy("The client's id in the MIS."), "C-00017"),
    Column("first_name", text(100), True, "", "Rosa"),
    Column("last_name", text(100), True, "", "Quispe Mamani"),
    Column("gender", gender, True, gettext_lazy("female or male (f, m)."), "female"),
    Column(
        "birth_date", parse_date, False, gettext_lazy("In the partner's date format."), "1984-05-02"
    ),
    # Without "+": the CSV writer would quote it as a formula (kivaportal.common.csv_export).
    Column("phone", text(40), False, "", "984 000 111"),
    Column("city", text(120), False, gettext_lazy("Town or village."), "Pisac"),
    Column("is_active", parse_bool, False, gettext_lazy("yes or no; empty means yes."), "yes"),
)
FIELDS = {c.name: c.name for c in COLUMNS if c.name != "mis_client_id"}


class BorrowerImporter(FlatImporter):
    kind = "borrowers"
    columns = COLUMNS
    key_column = "mis_client_id"

    def prepare(self, cleaned):
        keys = [values["mis_client_id"] for _row, values in cleaned]
        return {
            b.mis_client_id: b
            for b in Borrower.objects.filter(partner=self.partner, mis_client_id__in=keys)
        }

    def process(self, row, values, existing, *, write):
        if values.get("is_active") is None:
            values.pop("is_active", None)
        key = values["mis_client_id"]
        self.upsert(
            row,
            key,
            existing.get(key),
            values,
            FIELDS,
            write=write,
            build=lambda: Borrower(
                partner=self.partner, created_by=self.actor, updated_by=self.actor, **values
            ),
        )

    def flush(self):
        if self._create:
            bulk_create_with_history(
                self._create, Borrower, batch_size=BATCH_SIZE, default_user=self.actor
            )
        if self._update:
            bulk_update_with_history(
                self._update,
                Borrower,
                [*self._fields, "updated_by", "updated_at"],
                batch_size=BATCH_SIZE,
                default_user=self.actor,
            )
            # A borrower is part of every loan they are on (as in the admin): those under review
            # go back to draft, with an audit entry naming the part and the importer.
            for borrower in self._update:
                borrower_edited(
                    borrower=borrower, by=self.actor, changed_fields=sorted(self._fields)
                )
