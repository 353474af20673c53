"""Payloads: portal records to Kiva's exact JSON, checked against golden files.

Golden files live in tests/kiva/golden/. After a deliberate change, regenerate them with
`UPDATE_GOLDEN=1 pytest tests/kiva/test_payloads.py` and review the diff like code.
"""

import base64
import io
import json
import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from integrations.kiva import payloads
from integrations.kiva.models import JournalBodyStyle
from kivaportal.lending.models import LoanType
from kivaportal.partners.models import RepaymentAmountRule, RepaymentCsvFormat
from kivaportal.reference.models import Activity, Locale, Location
from kivaportal.repayments.selectors import report_lines
from tests.factories import (
    ActivityFactory,
    BorrowerFactory,
    JournalFactory,
    KivaConnectionFactory,
    LoanFactory,
    LocaleFactory,
    LocationFactory,
    PartnerFactory,
    RepaymentFactory,
    RepaymentReportFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db
GOLDEN = Path(__file__).parent / "golden"


def assert_golden(name: str, payload) -> None:
    """The payload's JSON equals the golden file: same keys in the same order, and every
    number written exactly as in the file (1200.50 is not 1200.5)."""
    actual = payloads.to_json(payload).decode()
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        # Written as real, readable JSON: the numbers' exact text put back unquoted.
        pretty = re.sub(r'"<num ([^>]*)>"', r"\1", _normalised(actual))
        path.write_text(pretty + "\n", encoding="utf-8")
    assert _normalised(actual) == _normalised(path.read_text(encoding="utf-8"))


def _normalised(text: str) -> str:
    # Numbers kept as their exact text; layout made canonical for a readable diff.
    parsed = json.loads(text, parse_float=lambda s: f"<num {s}>", parse_int=lambda s: f"<num {s}>")
    return json.dumps(parsed, indent=2, ensure_ascii=False)


def partner(**kwargs):
    defaults = {
        "name": "Cooperativa Ejemplo",
        "kiva_partner_id": "145",
        "country": "PE",
        "default_currency": "PEN",
    }
    return PartnerFactory(**{**defaults, **kwargs})


def loan_for(p, **kwargs):
    activity = Activity.objects.filter(partner=p, kiva_id=61).first()
    location = Location.objects.filter(partner=p, full_name="Cusco: Peru").first()
    defaults = {
        "partner": p,
        "mis_loan_id": "L-0001",
        "amount": Decimal("1200.50"),
        "disbursal_date": date(2026, 1, 10),
        "activity": activity or ActivityFactory(partner=p, kiva_id=61, name="Agriculture"),
        "theme": None,
        "location": location
        or LocationFactory(partner=p, location="Cusco", full_name="Cusco: Peru"),
        "description": "Rosa vende verduras en el mercado de Ñuñoa.",
        "loan_use": "Para comprar semillas y una carretilla.",
        "photo": "",
        "instalments": 2,
    }
    values = {**defaults, **kwargs}
    if "borrowers" not in values:
        values["borrowers"] = [
            BorrowerFactory(
                partner=p, mis_client_id="C-001", first_name="Rosa", last_name="Quispe Ñahui"
            )
        ]
    if "description_language" not in values:
        currency = values.get("currency", "PEN")
        values["description_language"] = Locale.objects.filter(
            partner=p, currency=currency, language_id=2
        ).first() or LocaleFactory(partner=p, currency=currency, language_id=2)
    return LoanFactory(**values)


def test_individual_loan_draft_matches_golden_file():
    loan = loan_for(partner())
    assert_golden("loan_individual.json", payloads.loan_draft(loan))


def test_individual_loan_carries_no_group_only_field_and_omits_unset_theme():
    body = payloads.loan_draft(loan_for(partner()))
    for field in ("group_name", "internal_client_id", "internal_loan_id", "not_pictured"):
        assert field not in body
    assert "theme_type_id" not in body


def test_group_loan_draft_matches_golden_file():
    p = partner()
    people = [
        BorrowerFactory(partner=p, mis_client_id=f"C-00{i}", first_name=n, last_name="Mamani")
        for i, n in enumerate(("Flor", "Juana", "Teófilo"), start=1)
    ]
    people[2].gender = "male"
    people[2].save()
    loan = loan_for(
        p,
        mis_loan_id="G-0007",
        loan_type=LoanType.GROUP,
        group_name="Grupo Las Flores",
        group_client_id="GC-07",
        amount=Decimal("3000.00"),
        theme=ThemeFactory(partner=p, kiva_id=3, name="Women's Empowerment"),
        borrowers=people,
    )
    for position, share in enumerate(loan.loan_borrowers.all()):
        share.mis_loan_id = f"G-0007-{position + 1}"
        share.not_pictured = position == 1
        share.save()

    body = payloads.loan_draft(loan)

    assert body["not_pictured"] == [False, True, False]
    assert_golden("loan_group.json", body)


def report_for(csv_format, amount_rule, currency):
    p = partner(
        kiva_partner_id=f"2{len(csv_format)}{len(amount_rule)}",
        name=f"P {csv_format} {amount_rule}",
        repayment_csv_format=csv_format,
        repayment_amount_rule=amount_rule,
        default_currency=currency,
    )
    amount = Decimal("300000") if currency == "XOF" else Decimal("1200.00")
    loans = [
        loan_for(
            p,
            mis_loan_id=f"L-{n}",
            currency=currency,
            amount=amount,
            borrowers=[BorrowerFactory(partner=p, mis_client_id=f"C-{n}")],
        )
        for n in (1, 2)
    ]
    scale = Decimal(250) if currency == "XOF" else Decimal(1)
    for n, (loan, d, principal, interest) in enumerate(
        (
            (loans[0], date(2026, 1, 20), "300.00", "30.50"),  # before the month
            (loans[0], date(2026, 2, 10), "300.00", "25.25"),
            (loans[1], date(2026, 2, 12), "150.00", "20.00"),
            (loans[1], date(2026, 2, 27), "150.00", "10.00"),
        )
    ):
        principal, interest = Decimal(principal) * scale, Decimal(interest) * scale
        RepaymentFactory(
            loan=loan,
            mis_repayment_id=f"R-{p.kiva_partner_id}-{n}",
            date=d,
            principal=principal,
            interest=interest,
            amount=principal + interest,
        )
    return RepaymentReportFactory(partner=p, month=date(2026, 2, 1))


@pytest.mark.parametrize(
    ("csv_format", "amount_rule", "currency", "golden"),
    [
        (
            RepaymentCsvFormat.TWO_COLUMNS,
            RepaymentAmountRule.PERIOD_AMOUNT,
            "PEN",
            "repayments_two_columns_period_amount.json",
        ),
        (
            RepaymentCsvFormat.THREE_COLUMNS,
            RepaymentAmountRule.CUMULATIVE_PRINCIPAL,
            "XOF",
            "repayments_three_columns_cumulative_principal.json",
        ),
    ],
)
def test_repayment_batch_matches_golden_file(csv_format, amount_rule, currency, golden):
    report = report_for(csv_format, amount_rule, currency)
    batches = payloads.repayment_batches(
        report_lines(report), partner=report.partner, batch_size=200
    )
    assert len(batches) == 1
    assert_golden(golden, batches[0])


def test_repayment_lines_are_split_into_batches_of_the_connections_size():
    report = report_for(RepaymentCsvFormat.TWO_COLUMNS, RepaymentAmountRule.PERIOD_AMOUNT, "PEN")
    batches = payloads.repayment_batches(report_lines(report), partner=report.partner, batch_size=1)
    assert [[line["loan_id"] for line in b["repayments"]] for b in batches] == [["L-1"], ["L-2"]]
    with pytest.raises(ValueError):
        payloads.repayment_batches([], partner=report.partner, batch_size=301)


@pytest.mark.parametrize(
    ("style", "csv_format", "golden"),
    [
        (JournalBodyStyle.WRAPPED, RepaymentCsvFormat.THREE_COLUMNS, "journals_wrapped.json"),
        (JournalBodyStyle.BARE_LIST, RepaymentCsvFormat.TWO_COLUMNS, "journals_bare_list.json"),
    ],
)
def test_journal_body_matches_golden_file_in_each_style(style, csv_format, golden):
    p = partner(repayment_csv_format=csv_format)
    loan = loan_for(p)
    journal = JournalFactory(
        loan=loan,
        partner=p,
        borrower=loan.loan_borrowers.get().borrower,
        subject="La tienda de Rosa crece",
        body="Con el préstamo Rosa compró una carretilla.\nAhora vende en dos mercados.",
    )
    connection = KivaConnectionFactory(partner=p, journal_body_style=style)
    item = payloads.journal_item(journal, partner=p, image_url="https://media.example.org/rosa.jpg")
    assert_golden(golden, payloads.journals_body([item], connection=connection))


def test_decimals_are_written_exactly_never_through_float():
    body = {"a": Decimal("1200.50"), "b": Decimal("0.10"), "c": Decimal("400000"), "d": 3}
    assert payloads.to_json(body) == b'{"a": 1200.50, "b": 0.10, "c": 400000, "d": 3}'
    with pytest.raises(TypeError):
        payloads.to_json({"amount": 0.1})
    with pytest.raises(ValueError):
        payloads.to_json({"amount": Decimal("NaN")})


def test_text_is_utf8_not_escaped():
    assert payloads.to_json({"location": "Ñuñoa"}) == '{"location": "Ñuñoa"}'.encode()


def image_file(fmt, size, mode="RGB"):
    out = io.BytesIO()
    Image.new(mode, size, "green").save(out, format=fmt)
    return SimpleUploadedFile(f"p.{fmt.lower()}", out.getvalue())


@pytest.mark.parametrize(("fmt", "kind"), [("JPEG", "JPEG"), ("PNG", "PNG"), ("GIF", "JPEG")])
def test_photo_is_a_data_uri_of_a_jpeg_or_png_scaled_down_by_default(settings, fmt, kind):
    settings.KIVA_PHOTO_MAX_SIDE = 600
    mode = "P" if fmt == "GIF" else "RGB"
    loan = loan_for(partner(), photo=image_file(fmt, (2400, 1200), mode))

    encoded = payloads.loan_draft(loan)["image_encoded"]

    prefix, _comma, data = encoded.partition(",")
    assert prefix == f"data:image/{kind.lower()};base64"
    with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as image:
        assert image.format == kind
        assert image.size == (600, 300)


def test_photo_is_sent_as_a_data_uri_unless_the_connection_says_bare_base64():
    p = partner()
    loan = loan_for(p, photo=image_file("PNG", (40, 30)))
    connection = KivaConnectionFactory(partner=p)
    assert payloads.loan_draft(loan, connection=connection)["image_encoded"].startswith(
        "data:image/png;base64,"
    )
    connection.image_data_uri = False
    bare = payloads.loan_draft(loan, connection=connection)["image_encoded"]
    assert base64.b64decode(bare, validate=True).startswith(b"\x89PNG")
