"""Kiva-shaped JSON (loan_draft, repayments, journals) and borrower upserts, turned into the
rows the importers take, each field keeping its JSON path for error messages."""

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.mis.fields import Invalid, is_blank, parse_money
from integrations.mis.importers.base import Problem, Row

LOAN_FIELDS = {  # Kiva's name -> our column
    "currency": "currency",
    "disburse_time": "disbursal_date",
    "activity_id": "activity_id",
    "theme_type_id": "theme_type_id",
    "description_language_id": "description_language_id",
    "location": "location",
    "description": "description",
    "loanuse": "loan_use",
    "client_waiver_signed": "client_waiver_signed",
    "group_name": "group_name",
    "internal_client_id": "group_client_id",
}
ENTREP_FIELDS = {"client_id": "mis_client_id", "amount": "amount", "loan_id": "borrower_loan_id"}
SCHEDULE_FIELDS = {"date": "due_date", "principal": "principal", "interest": "interest"}
LOAN_KNOWN = {
    *LOAN_FIELDS,
    "entreps",
    "schedule",
    "internal_loan_id",
    "not_pictured",
    "image_encoded",
}
BORROWER_FIELDS = {
    "client_id": "mis_client_id",
    "first_name": "first_name",
    "last_name": "last_name",
    "gender": "gender",
    "birth_date": "birth_date",
    "phone": "phone",
    "city": "city",
    "is_active": "is_active",
}
REPAYMENT_FIELDS = {
    "repayment_id": "mis_repayment_id",
    "loan_id": "mis_loan_id",
    "client_id": "mis_client_id",
    "date": "date",
    "amount": "amount",
    "principal": "principal",
    "interest": "interest",
}
JOURNAL_FIELDS = {
    "internal_loan_id": "mis_loan_id",
    "internal_client_id": "mis_client_id",
    "subject": "subject",
    "body": "body",
}


@dataclass
class Mapped:
    sources: dict = field(default_factory=dict)
    borrowers: list = field(default_factory=list)
    photos: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    ignored: list = field(default_factory=list)
    key: str = ""

    def problem(self, path, message):
        self.problems.append(Problem(None, path, message))

    def rekey(self, key: str):
        """File the loan under `key`, the MIS id of the loan it turned out to be."""
        for rows in self.sources.values():
            for row in rows:
                if "mis_loan_id" in row.raw:
                    row.raw["mis_loan_id"] = key
        if self.key in self.photos:
            self.photos[key] = self.photos.pop(self.key)
        self.key = key


def _row(item: dict, mapping: dict, prefix: str, **extra) -> Row:
    raw, paths = {}, {}
    for name, column in mapping.items():
        # Every field keeps its path as the client names it, present or missing.
        paths[column] = f"{prefix}{name}"
        if name in item:
            raw[column] = item[name]
    for column, (value, path) in extra.items():
        raw[column], paths[column] = value, path
    return Row(number=None, raw=raw, paths=paths)


def _items(body, key, mapped, *, bare_list_ok=False) -> list:
    items = body if bare_list_ok and isinstance(body, list) else None
    if items is None:
        if not isinstance(body, dict):
            mapped.problem("", _("Expected a JSON object with a %(key)s list.") % {"key": key})
            return []
        items = body.get(key)
        mapped.ignored += sorted(k for k in body if k not in (key, "date"))
    if not isinstance(items, list):
        mapped.problem(key, _("Expected a list."))
        return []
    if not items:
        mapped.problem(key, _("The list is empty."))
    return _objects(items, key, mapped)


def _objects(items: list, key: str, mapped) -> list:
    good = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            good.append((i, item))
        else:
            mapped.problem(f"{key}[{i}]", _("Expected an object."))
    return good


def loan_draft(body) -> Mapped:
    mapped = Mapped()
    if not isinstance(body, dict):
        mapped.problem("", _("Expected a JSON object (a Kiva loan_draft)."))
        return mapped
    mapped.ignored = sorted(k for k in body if k not in LOAN_KNOWN)
    if not isinstance(body.get("entreps"), list) or not body["entreps"]:
        mapped.problem("entreps", _("A loan draft needs at least one borrower (entreps)."))
        return mapped
    entreps = _objects(body["entreps"], "entreps", mapped)
    if not entreps:
        return mapped
    is_group = is_group_loan(body, entreps)
    key, key_path = loan_key(body, entreps, is_group)
    if not isinstance(key, str) or is_blank(key):
        mapped.problem(key_path, _("The MIS loan id is required here (text)."))
        return mapped
    mapped.key = key = key.strip()
    total = sum((_amount(item) for _i, item in entreps), start=parse_money(0, allow_zero=True))
    fields = LOAN_FIELDS
    if not is_group:
        # Group fields on an individual loan make PA2 refuse to publish it. MISes send them
        # anyway (Fineract: group_name " " and its internal ids): read past them, and clear
        # them on the loan (it may have been a group loan before).
        fields = {k: v for k, v in LOAN_FIELDS.items() if v not in GROUP_COLUMNS}
        unused = ("group_name", "internal_client_id", "internal_loan_id")
        mapped.ignored += [k for k in unused if k in body and k != key_path]
    loan = _row(
        body,
        fields,
        "",
        mis_loan_id=(key, key_path),
        amount=(total, "entreps"),
        loan_type=("group" if is_group else "individual", "entreps"),
        **({} if is_group else dict.fromkeys(GROUP_COLUMNS, ("", "group_name"))),
    )
    if body.get("theme_type_id") == 0:  # Kiva: "omit rather than send 0"
        loan.raw["theme_type_id"] = None
    pictured = body.get("not_pictured")
    if pictured is not None and not isinstance(pictured, list):
        mapped.problem("not_pictured", _("Expected a list of true/false, one per borrower."))
        pictured = None
    elif pictured is not None and len(pictured) != len(body["entreps"]):
        mapped.problem(
            "not_pictured",
            _("Expected one true/false per borrower: %(n)d, in the order of entreps.")
            % {"n": len(body["entreps"])},
        )
        pictured = None
    members = []
    for i, item in entreps:
        flags = {}
        if pictured is not None:
            flags["not_pictured"] = (
                pictured[i] if i < len(pictured) else None,
                f"not_pictured[{i}]",
            )
        members.append(
            _row(
                item,
                ENTREP_FIELDS,
                f"entreps[{i}].",
                mis_loan_id=(key, key_path),
                **flags,
            )
        )
        if any(name in item for name in ("first_name", "last_name", "gender")):
            mapped.borrowers.append(
                _row(
                    item, {k: v for k, v in BORROWER_FIELDS.items() if k in item}, f"entreps[{i}]."
                )
            )
    mapped.sources = {"main": [loan], "members": members}
    if "schedule" in body:
        if not isinstance(body["schedule"], list):
            mapped.problem("schedule", _("Expected a list."))
        else:
            lines = _objects(body["schedule"], "schedule", mapped)
            mapped.sources["schedule"] = [
                _row(
                    item,
                    SCHEDULE_FIELDS,
                    f"schedule[{i}].",
                    mis_loan_id=(key, key_path),
                )
                for i, item in lines
            ]
    if not is_blank(body.get("image_encoded")):
        _photo(body["image_encoded"], key, mapped)
    return mapped


GROUP_COLUMNS = ("group_name", "group_client_id")


def is_group_loan(body: dict, entreps: list) -> bool:
    """Kiva's rule: a group loan has more than one borrower or a group name. Internal ids alone
    do not make one (Fineract sends them, and group_name " ", on individual loans)."""
    return len(entreps) > 1 or not is_blank(body.get("group_name"))


def loan_key(body: dict, entreps: list, is_group: bool) -> tuple:
    """(the loan's MIS id, its JSON path): `internal_loan_id` for a group; for an individual
    loan the borrower's `loan_id` (Kiva's docs), else `internal_loan_id`."""
    if is_group:
        return body.get("internal_loan_id"), "internal_loan_id"
    own = entreps[0][1].get("loan_id")
    if is_blank(own) and not is_blank(body.get("internal_loan_id")):
        return body.get("internal_loan_id"), "internal_loan_id"
    return own, f"entreps[{entreps[0][0]}].loan_id"


def _amount(item):
    try:
        return parse_money(item.get("amount")) or 0
    except Invalid:
        return 0


def _photo(value, key, mapped):
    from PIL import Image, UnidentifiedImageError

    if not isinstance(value, str):
        mapped.problem("image_encoded", _("Expected base64 text."))
        return
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        data = base64.b64decode(value, validate=True)
        with Image.open(io.BytesIO(data)) as image:
            kind = (image.format or "").lower()
            image.verify()
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError, SyntaxError):
        mapped.problem("image_encoded", _("Not a base64-encoded JPEG or PNG image."))
        return
    if kind not in ("jpeg", "png"):
        mapped.problem("image_encoded", _("Not a base64-encoded JPEG or PNG image."))
        return
    extension = "jpg" if kind == "jpeg" else "png"
    mapped.photos[key] = (data, extension, hashlib.sha256(data).hexdigest())


def repayments(body) -> Mapped:
    mapped = Mapped()
    default_date = body.get("date") if isinstance(body, dict) else None
    rows = []
    for i, item in _items(body, "repayments", mapped):
        dated = item.get("date", default_date)
        when = dated or timezone.localdate().isoformat()
        extra = {"date": (when, f"repayments[{i}].date")}
        if is_blank(item.get("repayment_id")):
            # Kiva's lines carry no id: the loan, client and date make one, so a second post
            # of the same line updates it rather than adding a second repayment. An undated
            # line is this month's report line: posted again on another day of the month, it
            # is the same line.
            period = when if dated else when[:7]
            parts = [item.get("loan_id"), item.get("client_id"), period]
            derived = ":".join(str(p) for p in parts if not is_blank(p))
            extra["mis_repayment_id"] = (derived, f"repayments[{i}].loan_id")
        rows.append(_row(item, REPAYMENT_FIELDS, f"repayments[{i}].", **extra))
    mapped.sources = {"main": rows}
    return mapped


def journals(body) -> Mapped:
    mapped = Mapped()
    rows = []
    for i, item in _items(body, "journals", mapped, bare_list_ok=True):
        if "image_url" in item:
            mapped.ignored.append(f"journals[{i}].image_url")
        rows.append(_row(item, JOURNAL_FIELDS, f"journals[{i}]."))
    mapped.sources = {"main": rows}
    return mapped


def borrowers(body) -> Mapped:
    mapped = Mapped()
    rows = [
        _row(item, BORROWER_FIELDS, f"borrowers[{i}].")
        for i, item in _items(body, "borrowers", mapped)
    ]
    mapped.sources = {"main": rows}
    return mapped
