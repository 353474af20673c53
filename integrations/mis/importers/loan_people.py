"""Borrowers named in a loans file: the borrowers sheet (or the loan_borrowers file) may carry,
beside each loan's client id and share, the borrower's own columns (first_name, last_name,
gender, birth_date, phone, city). Such a row creates the borrower, or updates the one with that
MIS client id, in the same import as the loan; a row without them names a borrower the portal
already has. For a group loan, one row per borrower, as before.

`PeopleSource` turns the borrowers sheet into the rows of a borrowers file, so the borrower
importer checks and writes them with its own rules and messages (named by the sheet's row and
column); the loan importer then accepts the client ids it holds as existing."""

import hashlib

from django.utils.translation import gettext_lazy

from integrations.mis.fields import is_blank
from integrations.mis.formats import FileError
from integrations.mis.importers.base import Column, Row
from integrations.mis.importers.borrowers import COLUMNS as BORROWER_COLUMNS

PERSON_FIELDS = ("first_name", "last_name", "gender", "birth_date", "phone", "city")
# To create a borrower; an existing one may be named by its client id alone.
PERSON_REQUIRED = ("first_name", "last_name", "gender")


def _unchecked(value, fmt):
    """The loan importer leaves these cells to the borrower importer (checked once)."""
    return value


PERSON_HELP = {
    "first_name": gettext_lazy("The borrower's, to create or update them in the same import."),
    "last_name": gettext_lazy("The borrower's (with first_name and gender)."),
    "gender": gettext_lazy("female or male (f, m): with the names."),
    "birth_date": gettext_lazy("Optional, with the names; the partner's date format."),
    "phone": gettext_lazy("Optional, with the names."),
    "city": gettext_lazy("Optional, with the names."),
}
PERSON_COLUMNS = tuple(
    Column(c.name, _unchecked, False, PERSON_HELP[c.name], c.example)
    for c in BORROWER_COLUMNS
    if c.name in PERSON_FIELDS
)


def has_person_columns(source) -> bool:
    """Whether the members input names borrowers (reads only its header)."""
    rows = iter(source)
    try:
        next(rows, None)
    except FileError:
        return False  # the loan importer reads it again and reports why
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()
    return any(name in PERSON_FIELDS for name in (getattr(source, "header", None) or ()))


class PeopleSource:
    """The borrowers described in a members input, as rows of a borrowers file. A borrower in
    several loans of the file is described once; the same client id described differently
    again is yielded again, and the borrower importer names it a duplicate of the first row."""

    def __init__(self, members):
        self.members = members
        self.name = members.name
        self.clients: set[str] = set()  # client ids described: the loans may name them

    @property
    def header(self):
        header = getattr(self.members, "header", None)
        if header is None:
            return None
        return ["mis_client_id", *(name for name in header if name in PERSON_FIELDS)]

    def __iter__(self):
        seen: dict[str, bytes] = {}
        for row in self.members:
            described = {k: row.raw[k] for k in PERSON_FIELDS if k in row.raw}
            if all(is_blank(v) for v in described.values()):
                continue  # names an existing borrower
            client = row.raw.get("mis_client_id")
            key = client.strip() if isinstance(client, str) else client
            digest = hashlib.blake2b(repr(sorted(described.items())).encode()).digest()
            if key in seen and seen[key] == digest:
                continue
            seen.setdefault(key, digest)
            if isinstance(key, str) and key:
                self.clients.add(key)
            yield Row(
                number=row.number,
                raw={"mis_client_id": client, **described},
                source=row.source,
                paths=row.paths,
            )
