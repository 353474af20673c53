"""What the sandbox checks in the bodies it receives; each problem names its field.

Kiva validates fully only when a draft is published in PA2. The sandbox is stricter on
purpose: types, dates, reference ids, the individual/group rules and `entreps` are checked at
once, and unknown fields are refused, so a payload mistake shows in development instead of in
front of a partner's staff. JSON numbers arrive as Decimal (parsed with parse_float=Decimal).
"""

import base64
import binascii
from datetime import date
from decimal import Decimal

from kivaportal.common.money import has_currency_precision

from .models import SandboxPartner

GROUP_FIELDS = ("group_name", "internal_client_id", "internal_loan_id", "not_pictured")
DRAFT_FIELDS = {
    "activity_id",
    "theme_type_id",
    "description_language_id",
    "currency",
    "location",
    "description",
    "loanuse",
    "client_waiver_signed",
    "disburse_time",
    "image_encoded",
    "image_url",
    "entreps",
    "schedule",
    *GROUP_FIELDS,
}
ENTREP_FIELDS = ("first_name", "last_name", "gender", "amount", "client_id", "loan_id")


class Problems(list):
    def add(self, field: str, message: str) -> None:
        self.append({"field": field, "message": message})


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, Decimal | int) and not isinstance(value, bool)


def _is_text(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _check_date(problems, field, value):
    if not isinstance(value, str) or len(value) != 10:
        problems.add(field, f"{field} must be a date as YYYY-MM-DD")
        return
    try:
        date.fromisoformat(value)
    except ValueError:
        problems.add(field, f"{field} must be a date as YYYY-MM-DD")


def _check_amount(problems, field, value, currency, *, positive=True):
    if not _is_number(value):
        problems.add(field, f"{field} must be a number")
    elif value < 0 or (positive and value == 0):
        problems.add(field, f"{field} must be {'greater than' if positive else 'at least'} 0")
    elif currency and not has_currency_precision(Decimal(value), currency):
        problems.add(field, f"{field} has more decimals than {currency} allows")


def loan_draft(data, partner: SandboxPartner) -> Problems:
    problems = Problems()
    if not isinstance(data, dict):
        problems.add("", "The body must be a JSON object")
        return problems
    for name in sorted(set(data) - DRAFT_FIELDS):
        problems.add(name, f"{name} is not a loan_draft field")
    _reference_ids(problems, data, partner)
    currency = data.get("currency") if isinstance(data.get("currency"), str) else ""
    for name in ("description", "loanuse"):
        if name in data and not isinstance(data[name], str):
            problems.add(name, f"{name} must be a string")
    if "client_waiver_signed" in data and not isinstance(data["client_waiver_signed"], bool):
        problems.add("client_waiver_signed", "client_waiver_signed must be true or false")
    if "disburse_time" in data:
        _check_date(problems, "disburse_time", data["disburse_time"])
    if "image_encoded" in data:
        _check_image(problems, data["image_encoded"])
    entreps = data.get("entreps")
    if not isinstance(entreps, list) or not entreps:
        problems.add("entreps", "entreps must be a list with at least one borrower")
        entreps = []
    for i, entrep in enumerate(entreps):
        _entrep(problems, f"entreps[{i}]", entrep, currency, partner)
    _schedule(problems, data.get("schedule"), currency)
    _group_rules(problems, data, entreps)
    return problems


def _reference_ids(problems, data, partner):
    lists = (
        ("activity_id", {a.get("activity_id") for a in partner.activities}),
        ("theme_type_id", {t.get("theme_type_id") for t in partner.themes}),
        ("description_language_id", {loc.get("language_id") for loc in partner.locales}),
    )
    for name, known in lists:
        if name not in data:
            continue
        if not _is_int(data[name]):
            problems.add(name, f"{name} must be an integer")
        elif data[name] not in known:
            problems.add(name, f"{name} {data[name]} is not in this partner's list")
    if "currency" in data:
        currencies = {loc.get("currency") for loc in partner.locales}
        if data["currency"] not in currencies:
            problems.add("currency", f"currency {data['currency']!r} is not in config/locales")
    if "location" in data:
        names = {loc.get("full_name") for loc in partner.locations}
        if data["location"] not in names:
            problems.add(
                "location", f"location {data['location']!r} is not a full_name in config/locations"
            )


def _check_image(problems, value):
    if not isinstance(value, str):
        problems.add("image_encoded", "image_encoded must be a base64 string")
        return
    if value.startswith("data:"):
        value = value.partition(",")[2]
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        problems.add("image_encoded", "image_encoded is not valid base64")
        return
    if not (raw.startswith(b"\xff\xd8\xff") or raw.startswith(b"\x89PNG\r\n\x1a\n")):
        problems.add("image_encoded", "image_encoded must be a JPEG or PNG image")


def _entrep(problems, prefix, entrep, currency, partner):
    if not isinstance(entrep, dict):
        problems.add(prefix, f"{prefix} must be an object")
        return
    for name in sorted(set(entrep) - set(ENTREP_FIELDS)):
        problems.add(f"{prefix}.{name}", f"{prefix}.{name} is not an entreps field")
    for name in ("first_name", "last_name", "client_id", "loan_id"):
        if not _is_text(entrep.get(name)):
            problems.add(f"{prefix}.{name}", f"{prefix}.{name} must be a non-empty string")
    genders = partner.genders.split()
    if entrep.get("gender") not in genders:
        problems.add(f"{prefix}.gender", f"{prefix}.gender must be one of {', '.join(genders)}")
    _check_amount(problems, f"{prefix}.amount", entrep.get("amount"), currency)


def _schedule(problems, schedule, currency):
    if schedule is None:
        return
    if not isinstance(schedule, list):
        problems.add("schedule", "schedule must be a list")
        return
    for i, line in enumerate(schedule):
        prefix = f"schedule[{i}]"
        if not isinstance(line, dict):
            problems.add(prefix, f"{prefix} must be an object")
            continue
        for name in sorted(set(line) - {"date", "principal", "interest"}):
            problems.add(f"{prefix}.{name}", f"{prefix}.{name} is not a schedule field")
        _check_date(problems, f"{prefix}.date", line.get("date"))
        for name in ("principal", "interest"):
            _check_amount(problems, f"{prefix}.{name}", line.get(name), currency, positive=False)


def _group_rules(problems, data, entreps):
    if "group_name" not in data:
        # An individual loan: one borrower and none of the group-only fields, which would make
        # PA2 refuse to publish it.
        for name in GROUP_FIELDS[1:]:
            if name in data:
                problems.add(name, f"{name} is for group loans only (no group_name was sent)")
        if len(entreps) > 1:
            problems.add("group_name", "group_name is required when entreps has several borrowers")
        return
    if not _is_text(data["group_name"]):
        problems.add("group_name", "group_name must be a non-empty string")
    for name in ("internal_client_id", "internal_loan_id"):
        if name in data and not _is_text(data[name]):
            problems.add(name, f"{name} must be a non-empty string")
    flags = data.get("not_pictured")
    if not isinstance(flags, list) or not all(isinstance(f, bool) for f in flags):
        problems.add("not_pictured", "not_pictured must be a list of true/false, one per borrower")
    elif len(flags) != len(entreps):
        problems.add(
            "not_pictured",
            f"not_pictured has {len(flags)} values for {len(entreps)} borrowers",
        )


def repayments(data, partner: SandboxPartner) -> Problems:
    problems = Problems()
    lines = data.get("repayments") if isinstance(data, dict) else None
    if not isinstance(lines, list) or not lines:
        problems.add("repayments", "repayments must be a non-empty list")
        return problems
    if len(lines) > partner.max_repayment_lines:
        problems.add(
            "repayments",
            f"{len(lines)} lines in one call; at most {partner.max_repayment_lines} are accepted",
        )
        return problems
    for i, line in enumerate(lines):
        prefix = f"repayments[{i}]"
        if not isinstance(line, dict):
            problems.add(prefix, f"{prefix} must be an object")
            continue
        allowed = {"loan_id", "amount"} | ({"client_id"} if partner.three_columns else set())
        for name in sorted(set(line) - allowed):
            why = " (this partner reports two columns)" if name == "client_id" else ""
            problems.add(f"{prefix}.{name}", f"{prefix}.{name} is not expected{why}")
        if not _is_text(line.get("loan_id")):
            problems.add(f"{prefix}.loan_id", f"{prefix}.loan_id must be a non-empty string")
        if partner.three_columns and not _is_text(line.get("client_id")):
            problems.add(
                f"{prefix}.client_id",
                f"{prefix}.client_id is required (this partner reports three columns)",
            )
        _check_amount(problems, f"{prefix}.amount", line.get("amount"), "", positive=False)
    return problems


def journals(items) -> Problems:
    problems = Problems()
    if not isinstance(items, list) or not items:
        problems.add("journals", "journals must be a non-empty list")
        return problems
    for i, item in enumerate(items):
        prefix = f"journals[{i}]"
        if not isinstance(item, dict):
            problems.add(prefix, f"{prefix} must be an object")
            continue
        allowed = {"internal_loan_id", "internal_client_id", "subject", "body", "image_url"}
        for name in sorted(set(item) - allowed):
            problems.add(f"{prefix}.{name}", f"{prefix}.{name} is not a journal field")
        for name in ("internal_loan_id", "subject", "body"):
            if not _is_text(item.get(name)):
                problems.add(f"{prefix}.{name}", f"{prefix}.{name} must be a non-empty string")
        for name in ("internal_client_id", "image_url"):
            if name in item and not isinstance(item[name], str):
                problems.add(f"{prefix}.{name}", f"{prefix}.{name} must be a string")
    return problems
