"""The columns of the three loan files, the partner's reference lists, and the per-loan
summaries (count, total, fingerprint) that let the loan import check borrowers and schedules
against their loan without holding the lines in memory."""

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.mis.fields import Invalid, parse_bool, parse_choice, parse_date, parse_int
from integrations.mis.importers.base import Column, Row
from integrations.mis.importers.borrowers import text
from integrations.mis.importers.loan_people import PERSON_COLUMNS
from integrations.mis.importers.repayments import money, part
from kivaportal.lending.models import LoanType
from kivaportal.reference.models import Activity, Locale, Location, Theme


def currency(value, fmt):
    code = text(3)(value, fmt).upper()
    if code and not re.fullmatch(r"[A-Z]{3}", code):
        raise Invalid(_("Use the three-letter ISO 4217 code, e.g. PEN."))
    return code


def loan_type(value, fmt):
    return parse_choice(value, [LoanType.INDIVIDUAL, LoanType.GROUP])


LOAN_COLUMNS = (
    Column("mis_loan_id", text(64), True, gettext_lazy("The loan's id in the MIS."), "L-1001"),
    Column(
        "loan_type", loan_type, False, gettext_lazy("individual (default) or group."), "individual"
    ),
    Column("group_name", text(200), False, gettext_lazy("Group loans only."), ""),
    Column(
        "group_client_id",
        text(64),
        False,
        gettext_lazy("Group loans only: the group's client id."),
        "",
    ),
    Column("amount", money, True, gettext_lazy("The loan amount, local currency."), "1200.00"),
    Column(
        "currency", currency, False, gettext_lazy("ISO code; empty: the partner's currency."), "PEN"
    ),
    Column(
        "disbursal_date",
        parse_date,
        False,
        gettext_lazy("In the partner's date format."),
        "2026-01-10",
    ),
    Column(
        "activity_id",
        parse_int,
        False,
        gettext_lazy("Kiva's activity id (config/activities)."),
        "120",
    ),
    Column(
        "theme_type_id", parse_int, False, gettext_lazy("Kiva's theme type id (config/themes)."), ""
    ),
    Column(
        "description_language_id",
        parse_int,
        False,
        gettext_lazy("Kiva's language id (config/locales)."),
        "2",
    ),
    Column(
        "location",
        text(300),
        False,
        gettext_lazy("A full_name from config/locations."),
        "Pisac: Peru",
    ),
    Column(
        "description",
        text(10000),
        False,
        gettext_lazy("The borrower's story."),
        "Rosa sells vegetables.",
    ),
    Column("loan_use", text(10000), False, gettext_lazy("What the loan is for."), "To buy a cart."),
    Column("client_waiver_signed", parse_bool, False, gettext_lazy("yes or no."), "yes"),
    Column(
        "photo",
        text(255),
        False,
        gettext_lazy(
            "The photo's file name in the .zip uploaded with the file (JPEG or PNG); "
            "empty: the photo stays as it is."
        ),
        "",
    ),
)
MEMBER_COLUMNS = (
    Column("mis_loan_id", text(64), True, gettext_lazy("A loan in the loans file."), "L-1001"),
    Column(
        "mis_client_id",
        text(64),
        True,
        gettext_lazy("The borrower's MIS client id: one the portal has, or one this row names."),
        "C-00017",
    ),
    Column(
        "amount",
        money,
        True,
        gettext_lazy("This borrower's share; the shares add up to the loan."),
        "1200.00",
    ),
    Column(
        "borrower_loan_id",
        text(64),
        False,
        gettext_lazy("The MIS loan id for this borrower, if own."),
        "",
    ),
    Column("not_pictured", parse_bool, False, gettext_lazy("Group loans only."), "no"),
    *PERSON_COLUMNS,
)
SCHEDULE_COLUMNS = (
    Column("mis_loan_id", text(64), True, gettext_lazy("A loan in the loans file."), "L-1001"),
    Column(
        "due_date", parse_date, True, gettext_lazy("Listed in date order per loan."), "2026-02-10"
    ),
    Column(
        "principal", part, True, gettext_lazy("Principals add up to the loan amount."), "100.00"
    ),
    Column("interest", part, False, gettext_lazy("Empty means 0."), "12.00"),
)
# Loan column -> Loan attribute, once references are resolved to primary keys.
LOAN_FIELDS = {
    "loan_type": "loan_type",
    "group_name": "group_name",
    "group_client_id": "group_client_id",
    "amount": "amount",
    "currency": "currency",
    "disbursal_date": "disbursal_date",
    "activity_id": "activity_id",
    "theme_type_id": "theme_id",
    "description_language_id": "description_language_id",
    "location": "location_id",
    "description": "description",
    "loan_use": "loan_use",
    "client_waiver_signed": "client_waiver_signed",
}
MASK = (1 << 64) - 1


def fingerprint(*parts) -> int:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def money_text(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.3f}"


@dataclass(slots=True)  # one or two per loan of the file: no __dict__ each
class Lines:
    """What the import knows of one loan's borrowers or schedule lines: enough to compare."""

    count: int = 0
    total: Decimal = Decimal("0")
    digest: int = 0  # a sum of line fingerprints: the same lines in any order, the same sum
    last_date: object = None
    clients: set = field(default_factory=set)

    def add(self, amount, fp):
        self.count += 1
        self.total += amount
        self.digest = (self.digest + fp) & MASK

    def same_as(self, other: "Lines | None") -> bool:
        other = other or Lines()
        return (self.count, self.digest) == (other.count, other.digest)


@dataclass(slots=True)
class LoanPlan:
    row: Row  # without its values: where to report the loan's problems
    amount: Decimal
    currency: str
    is_group: bool
    pk: int | None = None
    state: str = ""
    label: str = ""
    changed: list = field(default_factory=list)
    members: Lines | None = None
    schedule: Lines | None = None
    db_members: Lines | None = None
    db_schedule: Lines | None = None
    action: str = "create"


def member_fp(position, client, amount, borrower_loan_id, not_pictured) -> int:
    return fingerprint(position, client, money_text(amount), borrower_loan_id, bool(not_pictured))


def schedule_fp(due_date, principal, interest) -> int:
    return fingerprint(due_date.isoformat(), money_text(principal), money_text(interest or 0))


class References:
    """The partner's Kiva reference lists, loaded once per import (they are short)."""

    def __init__(self, partner):
        self.activities = dict(
            Activity.objects.filter(partner=partner).values_list("kiva_id", "pk")
        )
        self.themes = dict(Theme.objects.filter(partner=partner).values_list("kiva_id", "pk"))
        self.locales: dict[int, list] = {}
        for pk, language_id, cur in Locale.objects.filter(partner=partner).values_list(
            "pk", "language_id", "currency"
        ):
            self.locales.setdefault(language_id, []).append((pk, cur))
        self.locations = dict(
            Location.objects.filter(partner=partner).values_list("full_name", "pk")
        )

    def locale(self, language_id, cur):
        found = self.locales.get(language_id)
        if not found:
            return None
        return next((pk for pk, c in found if c == cur), found[0][0])
