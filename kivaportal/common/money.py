"""Money is Decimal with the currency's precision; never float.

Kiva takes amounts in the loan's local currency. Most currencies have two minor digits; the
ones below differ (ISO 4217). A currency missing here is assumed to have two.
"""

from decimal import ROUND_HALF_UP, Decimal

CURRENCY_DECIMALS: dict[str, int] = {
    # No minor unit.
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # Three minor digits.
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip

# Max digits and stored decimals for every money column: room for 3-decimal currencies and
# for large amounts in currencies such as UGX or PYG.
MONEY_MAX_DIGITS = 16
MONEY_DECIMAL_PLACES = 3


def currency_decimals(currency: str) -> int:
    return CURRENCY_DECIMALS.get((currency or "").upper(), 2)


def has_currency_precision(amount: Decimal, currency: str) -> bool:
    """True when `amount` carries no more decimals than `currency` allows."""
    quantum = Decimal(1).scaleb(-currency_decimals(currency))
    return amount == amount.quantize(quantum, rounding=ROUND_HALF_UP)


def quantize(amount: Decimal, currency: str) -> Decimal:
    quantum = Decimal(1).scaleb(-currency_decimals(currency))
    return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def money_text(amount, currency) -> str:
    """An amount as staff read it: its currency's decimals, grouped, in the active language
    (PEN 1,200.50 / 1 200,50; XOF 400,000). "—" for none."""
    from django.utils.formats import number_format

    if amount is None or amount == "":
        return "—"
    return number_format(
        quantize(amount, currency), currency_decimals(currency), use_l10n=True, force_grouping=True
    )
