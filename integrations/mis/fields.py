"""Parsing of one input value, the same for a CSV cell, an Excel cell and a JSON value.

Each parser returns the Python value or raises `Invalid` with a message for the person who
fixes the file. Values are bounded here (text length, number size, no NUL characters) so that
nothing a user sends can make the database fail later.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from kivaportal.common.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS

MAX_MONEY = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES)
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_DECIMAL_PLACES)
MAX_INT = 2_147_483_647  # PositiveIntegerField on every database
TRUE = {"1", "true", "yes", "y", "si", "sí", "oui", "x"}
FALSE = {"0", "false", "no", "n", "non", ""}


class Invalid(ValueError):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class NumberFormat:
    """How a partner's files write numbers and dates."""

    decimal_separator: str = "."
    date_format: str = "%Y-%m-%d"


ISO = NumberFormat()


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_text(value, *, max_length, fmt=ISO) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise Invalid(_("Expected text."))
    text = value.strip() if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise Invalid(_("Contains a NUL character."))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Invalid(_("Contains characters that are not valid Unicode.")) from exc
    if len(text) > max_length:
        raise Invalid(_("Longer than %(max)d characters.") % {"max": max_length})
    return text


_GROUPED = {
    ".": re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"),
    ",": re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$"),
}
_PLAIN = {
    ".": re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)$"),
    ",": re.compile(r"^[-+]?(\d+(,\d*)?|,\d+)$"),
}


def parse_decimal(value, fmt=ISO) -> Decimal | None:
    """A number as Decimal; text follows the partner's decimal separator (thousands grouping
    with the other separator is accepted only in groups of three, so it cannot be misread)."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise Invalid(_("Expected a number."))
    if isinstance(value, float):
        value = repr(value)  # Excel cells: the shortest text that reads back as the same float
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, str):
        sep = fmt.decimal_separator
        text = value.strip()
        if _PLAIN[sep].match(text):
            pass  # the common case, checked first (a plain number never matches _GROUPED)
        elif _GROUPED[sep].match(text := text.replace("\u00a0", "").replace(" ", "")):
            text = text.replace("," if sep == "." else ".", "")
        elif not _PLAIN[sep].match(text):
            example = "1234.50" if sep == "." else "1234,50"
            raise Invalid(_("Not a number (write it like %(example)s).") % {"example": example})
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation as exc:
            raise Invalid(_("Not a number.")) from exc
    else:
        raise Invalid(_("Expected a number."))
    if not number.is_finite() or abs(number) >= MAX_MONEY:
        raise Invalid(_("The number is too large."))
    return number


def parse_money(value, fmt=ISO, *, allow_zero=False) -> Decimal | None:
    number = parse_decimal(value, fmt)
    if number is None:
        return None
    if number < 0:
        raise Invalid(_("Must not be negative."))
    if number == 0 and not allow_zero:
        raise Invalid(_("Must be greater than zero."))
    if number != number.quantize(MONEY_QUANTUM, rounding="ROUND_DOWN"):
        raise Invalid(_("Too many decimals."))
    return number


def parse_date(value, fmt=ISO) -> date | None:
    if is_blank(value):
        return None
    if isinstance(value, datetime):  # Excel date cells
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise Invalid(_("Expected a date."))
    try:
        text = value.strip()
        if fmt.date_format == "%Y-%m-%d" and len(text) == 10 and text[4] == text[7] == "-":
            parsed = date.fromisoformat(text)  # the common case, several times faster
        else:
            parsed = datetime.strptime(text, fmt.date_format).date()
    except ValueError as exc:
        example = date(2026, 3, 31).strftime(fmt.date_format)
        raise Invalid(_("Not a date in the format %(example)s.") % {"example": example}) from exc
    if parsed.year < 1900:
        raise Invalid(_("The date is too far in the past."))
    return parsed


def parse_int(value, fmt=ISO) -> int | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise Invalid(_("Expected a whole number."))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise Invalid(_("Expected a whole number."))
    return value


def parse_bool(value, fmt=ISO) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False if text else None
    raise Invalid(_("Expected yes or no (true/false, 1/0)."))


def parse_choice(value, choices, fmt=ISO) -> str:
    text = parse_text(value, max_length=50).lower()
    if not text:
        return ""
    if text not in choices:
        raise Invalid(_("Expected one of: %(choices)s.") % {"choices": ", ".join(choices)})
    return text
