"""The checks Kiva's data needs of a loan (`loan_findings`): each one names its field and says
whether it blocks sending (error) or only asks a person to look (warning)."""

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.core.exceptions import ValidationError

from kivaportal.common.checks import Severity
from kivaportal.lending.checks import loan_findings
from kivaportal.lending.models import Loan, LoanBorrower, LoanType, ScheduleLine
from tests.factories import (
    ActivityFactory,
    BorrowerFactory,
    GroupLoanFactory,
    LoanFactory,
    LocaleFactory,
    LocationFactory,
    PartnerFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


class Seen(NamedTuple):
    """A finding as staff read it: severity, field, message (in English), code."""

    severity: Severity
    field: str
    message: str
    code: str

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR


def seen(findings):
    return [Seen(f.severity, f.field, f.message, f.code) for f in findings]


def findings_of(loan):
    """The findings of the loan as stored, read back from the database."""
    return seen(loan_findings(Loan.objects.get(pk=loan.pk)))


def at(findings, field, severity=None):
    return [
        f for f in findings if f.field == field and (severity is None or f.severity == severity)
    ]


def errors_of(loan):
    return [f for f in findings_of(loan) if f.is_error]


def first_line(loan):
    return loan.schedule.order_by("due_date").first()


# A complete loan -------------------------------------------------------------------------


def test_complete_individual_loan_has_no_findings():
    assert findings_of(LoanFactory()) == []


def test_complete_group_loan_has_no_findings():
    assert findings_of(GroupLoanFactory()) == []


# Amounts ---------------------------------------------------------------------------------


def test_schedule_principal_not_adding_up_to_the_amount_is_an_error_on_schedule():
    loan = LoanFactory(amount=Decimal("1200.00"))
    line = first_line(loan)
    line.principal += Decimal("1")
    line.save()

    [finding] = errors_of(loan)

    assert (finding.field, finding.code) == ("schedule", "schedule_sum")
    assert re.fullmatch(
        r"The schedule's principal adds up to 1201(\.0+)?, not the loan amount 1200(\.0+)?\.",
        finding.message,
    )


def test_borrower_shares_not_adding_up_to_the_amount_is_an_error_on_borrowers():
    loan = LoanFactory(amount=Decimal("1200.00"))
    LoanBorrower.objects.filter(loan=loan).update(amount=Decimal("1100.00"))

    [finding] = errors_of(loan)

    assert (finding.field, finding.code) == ("borrowers", "shares_sum")
    assert re.fullmatch(
        r"The borrowers' shares add up to 1100(\.0+)?, not the loan amount 1200(\.0+)?\.",
        finding.message,
    )


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-100.00")])
def test_non_positive_loan_amount_is_an_error_on_amount(amount):
    loan = LoanFactory(amount=amount, borrowers=[], instalments=0)

    assert at(findings_of(loan), "amount") == [
        Seen(Severity.ERROR, "amount", "amount must be greater than zero.", "amount_positive")
    ]


@pytest.mark.parametrize("share", [Decimal("0"), Decimal("-50.00")])
def test_non_positive_borrower_share_is_an_error_on_that_share(share):
    partner = PartnerFactory()
    first, second = BorrowerFactory(partner=partner), BorrowerFactory(partner=partner)
    loan = GroupLoanFactory(partner=partner, amount=Decimal("1200.00"), borrowers=[first, second])
    LoanBorrower.objects.filter(loan=loan, borrower=first).update(amount=Decimal("1200.00") - share)
    LoanBorrower.objects.filter(loan=loan, borrower=second).update(amount=share)

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            "borrowers[2].amount",
            "borrowers[2].amount must be greater than zero.",
            "amount_positive",
        )
    ]


def test_instalment_without_principal_or_interest_is_an_error_on_that_instalment():
    loan = LoanFactory(amount=Decimal("1200.00"), instalments=0)
    ScheduleLine.objects.create(
        loan=loan, due_date=date(2026, 2, 10), principal=Decimal("1200"), interest=Decimal("30")
    )
    ScheduleLine.objects.create(
        loan=loan, due_date=date(2026, 3, 10), principal=Decimal("0"), interest=Decimal("0")
    )

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            "schedule[2]",
            "schedule[2]: an instalment must have principal or interest.",
            "amount_positive",
        )
    ]


def test_instalment_with_negative_interest_is_an_error_on_that_instalment():
    loan = LoanFactory(amount=Decimal("1200.00"), instalments=0)
    ScheduleLine.objects.create(
        loan=loan, due_date=date(2026, 2, 10), principal=Decimal("1200"), interest=Decimal("-1")
    )

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            "schedule[1]",
            "schedule[1]: principal and interest cannot be negative.",
            "amount_positive",
        )
    ]


@pytest.mark.parametrize(
    ("currency", "amount", "places"),
    [("XOF", "100.5", 0), ("PEN", "100.005", 2), ("UGX", "250000.25", 0)],
)
def test_amount_with_more_decimals_than_the_currency_allows_is_an_error(currency, amount, places):
    loan = LoanFactory(currency=currency, amount=Decimal(amount), borrowers=[], instalments=0)

    assert at(findings_of(loan), "amount") == [
        Seen(
            Severity.ERROR,
            "amount",
            f"amount has more decimals than {currency} allows ({places}).",
            "precision",
        )
    ]


@pytest.mark.parametrize(
    ("currency", "amount"),
    [("XOF", "400000"), ("PEN", "100.50"), ("KWD", "100.005"), ("USD", "99.99")],
)
def test_amount_within_the_currency_precision_passes(currency, amount):
    loan = LoanFactory(currency=currency, amount=Decimal(amount), borrowers=[], instalments=0)

    assert at(findings_of(loan), "amount") == []


def test_share_and_instalment_with_too_many_decimals_are_errors_on_their_fields():
    partner = PartnerFactory(default_currency="XOF")
    loan = LoanFactory(partner=partner, currency="XOF", amount=Decimal("1000"), instalments=0)
    LoanBorrower.objects.filter(loan=loan).update(amount=Decimal("1000"))
    ScheduleLine.objects.create(
        loan=loan, due_date=date(2026, 2, 10), principal=Decimal("1000"), interest=Decimal("12.5")
    )

    errors = errors_of(loan)

    assert [(f.field, f.code) for f in errors] == [("schedule[1].interest", "precision")]
    assert errors[0].message == "schedule[1].interest has more decimals than XOF allows (0)."


def test_amounts_in_check_messages_are_shown_in_the_currency_precision():
    partner = PartnerFactory(default_currency="XOF")
    loan = LoanFactory(partner=partner, currency="XOF", amount=Decimal("400000"), instalments=0)
    LoanBorrower.objects.filter(loan=loan).update(amount=Decimal("390000"))

    [finding] = errors_of(loan)

    assert finding.message == (
        "The borrowers' shares add up to 390000, not the loan amount 400000."
    )


# Dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("days_after_first_instalment", [0, 5])
def test_disbursal_on_or_after_the_first_instalment_is_an_error(days_after_first_instalment):
    loan = LoanFactory()
    first_due = first_line(loan).due_date
    loan.disbursal_date = first_due + timedelta(days=days_after_first_instalment)
    loan.save()

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            "disbursal_date",
            f"disbursal_date {loan.disbursal_date} must be before the first instalment "
            f"({first_due}).",
            "disbursal_order",
        )
    ]


def test_two_instalments_on_the_same_date_is_an_error_on_the_later_one():
    loan = LoanFactory(instalments=3)
    lines = list(loan.schedule.order_by("due_date"))
    lines[2].due_date = lines[1].due_date
    lines[2].save()

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            "schedule[3].due_date",
            f"schedule[3].due_date {lines[1].due_date} is not after the instalment before it "
            f"({lines[1].due_date}).",
            "schedule_order",
        )
    ]


def test_schedule_entered_out_of_order_is_checked_in_date_order():
    # Instalments have no position of their own: the schedule is its lines by due date, so
    # lines typed in any order are numbered by date and compared with the earliest one.
    loan = LoanFactory(amount=Decimal("1200.00"), disbursal_date=date(2026, 3, 1), instalments=0)
    for due in (date(2026, 5, 1), date(2026, 4, 1), date(2026, 2, 15)):
        ScheduleLine.objects.create(
            loan=loan, due_date=due, principal=Decimal("400"), interest=Decimal("10")
        )

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            "disbursal_date",
            "disbursal_date 2026-03-01 must be before the first instalment (2026-02-15).",
            "disbursal_order",
        )
    ]


# Group and individual loans --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("group_name", "Las Rosas"), ("group_client_id", "G0001")]
)
def test_group_only_field_on_an_individual_loan_is_an_error(field, value):
    loan = LoanFactory(**{field: value})

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            field,
            f"{field} is for group loans only; PA2 refuses to publish an individual loan "
            "that carries it.",
            "group_only",
        )
    ]


def test_not_pictured_on_an_individual_loan_is_an_error_on_that_borrower():
    loan = LoanFactory()
    LoanBorrower.objects.filter(loan=loan).update(not_pictured=True)

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            "borrowers[1].not_pictured",
            "borrowers[1].not_pictured is for group loans only.",
            "group_only",
        )
    ]


def test_individual_loan_with_two_borrowers_is_an_error():
    partner = PartnerFactory()
    people = [BorrowerFactory(partner=partner), BorrowerFactory(partner=partner)]
    loan = LoanFactory(partner=partner, borrowers=people)

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            "borrowers",
            "An individual loan has exactly one borrower; this one has 2.",
            "individual_one_borrower",
        )
    ]


def test_loan_without_borrowers_is_an_error():
    loan = LoanFactory(borrowers=[])

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR, "borrowers", "A loan needs at least one borrower.", "borrowers_missing"
        )
    ]


def test_borrower_of_another_partner_is_an_error():
    stranger = BorrowerFactory(partner=PartnerFactory(), mis_client_id="OTHER-01")
    loan = LoanFactory(borrowers=[stranger])

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            "borrowers[1].borrower",
            "Borrower OTHER-01 belongs to another partner.",
            "wrong_partner",
        )
    ]


def test_group_loan_without_group_name_is_an_error():
    loan = GroupLoanFactory(group_name="")

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            "group_name",
            "group_name is required for a group loan.",
            "group_required",
        )
    ]


def test_group_loan_with_every_borrower_not_pictured_is_a_warning_only():
    loan = GroupLoanFactory()
    LoanBorrower.objects.filter(loan=loan).update(not_pictured=True)

    assert findings_of(loan) == [
        Seen(
            Severity.WARNING,
            "not_pictured",
            "Every borrower is marked not pictured.",
            "not_pictured",
        )
    ]


def test_group_loan_with_some_borrowers_not_pictured_has_no_findings():
    loan = GroupLoanFactory()
    LoanBorrower.objects.filter(loan=loan, position=2).update(not_pictured=True)

    assert findings_of(loan) == []


def test_group_loan_without_group_client_id_is_a_blocking_error():
    loan = GroupLoanFactory(group_client_id="")

    findings = findings_of(loan)

    assert [(f.severity, f.field, f.code) for f in findings] == [
        (Severity.ERROR, "group_client_id", "group_required")
    ]


def test_group_loan_of_one_borrower_is_a_warning():
    partner = PartnerFactory()
    loan = GroupLoanFactory(partner=partner, borrowers=[BorrowerFactory(partner=partner)])

    assert findings_of(loan) == [
        Seen(
            Severity.WARNING,
            "borrowers",
            "A group loan with a single borrower: should it be an individual loan?",
            "group_size",
        )
    ]


# Reference data --------------------------------------------------------------------------

OTHER_PARTNERS_VALUE = {
    "activity": lambda other: ActivityFactory(partner=other, name="Tejido"),
    "theme": lambda other: ThemeFactory(partner=other, name="Rural"),
    "description_language": lambda other: LocaleFactory(partner=other, language_name="Quechua"),
    "location": lambda other: LocationFactory(partner=other, location="Sicuani"),
}


@pytest.mark.parametrize("field", sorted(OTHER_PARTNERS_VALUE))
def test_reference_value_of_another_partner_is_an_error(field):
    other = PartnerFactory()
    value = OTHER_PARTNERS_VALUE[field](other)
    loan = LoanFactory(**{field: value})

    assert errors_of(loan) == [
        Seen(
            Severity.ERROR,
            field,
            f"{field} \u201c{value}\u201d belongs to another partner's reference data.",
            "wrong_partner",
        )
    ]


@pytest.mark.parametrize("field", sorted(OTHER_PARTNERS_VALUE))
def test_full_clean_refuses_reference_value_of_another_partner_naming_the_field(field):
    loan = LoanFactory()
    setattr(loan, field, OTHER_PARTNERS_VALUE[field](PartnerFactory()))

    with pytest.raises(ValidationError) as refused:
        loan.full_clean()

    assert list(refused.value.message_dict) == [field]
    assert "belongs to another partner's reference data" in refused.value.message_dict[field][0]


@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("activity", ActivityFactory),
        ("theme", ThemeFactory),
        ("description_language", LocaleFactory),
        ("location", LocationFactory),
    ],
)
def test_retired_reference_value_is_a_blocking_error_but_the_loan_stays_editable(field, make):
    partner = PartnerFactory()
    value = make(partner=partner, retired=True)
    loan = LoanFactory(partner=partner, **{field: value})

    assert findings_of(loan) == [
        Seen(
            Severity.ERROR,
            field,
            f"{field} \u201c{value}\u201d is no longer in Kiva's list for this partner; "
            "Kiva will refuse the loan. Choose a current value.",
            "retired",
        )
    ]
    loan.full_clean()  # still the partner's own value: the loan can be edited to change it


def test_description_language_of_another_currency_is_a_warning():
    partner = PartnerFactory()
    loan = LoanFactory(
        partner=partner, description_language=LocaleFactory(partner=partner, currency="USD")
    )

    assert findings_of(loan) == [
        Seen(
            Severity.WARNING,
            "description_language",
            "description_language is listed by Kiva for USD, but the loan is in PEN.",
            "currency_locale",
        )
    ]


# Required for Kiva (warnings at draft time) ----------------------------------------------

MISSING = {
    "disbursal_date": ({"disbursal_date": None, "instalments": 0}, "disbursal_date"),
    "activity": ({"activity": None}, "activity_id"),
    "description_language": ({"description_language": None}, "description_language_id"),
    "location": ({"location": None}, "location"),
    "description": ({"description": ""}, "description"),
    "loan_use": ({"loan_use": ""}, "loanuse"),
    "photo": ({"photo": ""}, "image_encoded"),
}


@pytest.mark.parametrize("field", list(MISSING))
def test_missing_field_kiva_needs_is_a_warning_naming_it(field):
    overrides, kiva_name = MISSING[field]
    loan = LoanFactory(**overrides)
    if field == "disbursal_date":
        # Without a disbursal date the factory makes no schedule; give it one by hand.
        ScheduleLine.objects.create(
            loan=loan, due_date=date(2026, 2, 10), principal=loan.amount, interest=Decimal("0")
        )

    assert findings_of(loan) == [
        Seen(
            Severity.WARNING,
            field,
            f"{field} is empty; Kiva needs it ({kiva_name}) before the loan can be published.",
            "kiva_required",
        )
    ]


def test_missing_schedule_is_a_warning():
    loan = LoanFactory(instalments=0)

    assert findings_of(loan) == [
        Seen(
            Severity.WARNING,
            "schedule",
            "schedule is empty; Kiva needs the repayment schedule.",
            "kiva_required",
        )
    ]


def test_client_waiver_not_signed_is_a_warning():
    loan = LoanFactory(client_waiver_signed=False)

    assert findings_of(loan) == [
        Seen(
            Severity.WARNING,
            "client_waiver_signed",
            "client_waiver_signed is not set.",
            "kiva_required",
        )
    ]


def test_bare_draft_has_warnings_for_everything_kiva_needs_and_no_errors():
    loan = LoanFactory(
        loan_type=LoanType.INDIVIDUAL,
        disbursal_date=None,
        activity=None,
        description_language=None,
        location=None,
        description="",
        loan_use="",
        photo="",
        client_waiver_signed=False,
        instalments=0,
    )

    findings = findings_of(loan)

    assert [f for f in findings if f.is_error] == []
    assert {f.field for f in findings} == {
        "disbursal_date",
        "activity",
        "description_language",
        "location",
        "description",
        "loan_use",
        "photo",
        "schedule",
        "client_waiver_signed",
    }
    loan.full_clean()  # a draft may be saved without them
