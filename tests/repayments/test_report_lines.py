"""The lines a partner reports to Kiva for a month (`report_lines`): one per loan (or per
borrower of a group loan where the MIS recorded it so), with the amount the partner's rule asks
for, in a fixed number of queries."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kivaportal.lending.models import Loan, LoanAtKiva
from kivaportal.partners.models import RepaymentAmountRule, RepaymentCsvFormat
from kivaportal.repayments.models import RepaymentReport, SentRepaymentLoan
from kivaportal.repayments.selectors import report_lines
from tests.factories import (
    BorrowerFactory,
    GroupLoanFactory,
    KivaConnectionFactory,
    LoanFactory,
    PartnerFactory,
    RepaymentFactory,
    RepaymentReportFactory,
)

pytestmark = pytest.mark.django_db

FEBRUARY = date(2026, 2, 1)
PERIOD = RepaymentAmountRule.PERIOD_AMOUNT
CUMULATIVE = RepaymentAmountRule.CUMULATIVE_PRINCIPAL


def lines_for(partner, month=FEBRUARY):
    report = RepaymentReportFactory(partner=partner, month=month)
    return report_lines(RepaymentReport.objects.get(pk=report.pk))


def pay(loan, day, amount, principal=None, interest=None, borrower=None):
    return RepaymentFactory(
        loan=loan,
        borrower=borrower,
        date=day,
        amount=Decimal(amount),
        principal=None if principal is None else Decimal(principal),
        interest=None if interest is None else Decimal(interest),
    )


def history_of_one_loan(rule):
    """A loan repaid in January, twice in February and in March."""
    partner = PartnerFactory(repayment_amount_rule=rule)
    loan = LoanFactory(partner=partner, mis_loan_id="L-1")
    pay(loan, date(2026, 1, 9), "330.00", "300.00", "30.00")
    pay(loan, date(2026, 2, 1), "200.00", "180.00", "20.00")
    pay(loan, date(2026, 2, 28), "130.00", "120.00", "10.00")
    pay(loan, date(2026, 3, 1), "330.00", "300.00", "30.00")
    return partner, loan


def test_period_rule_reports_what_was_repaid_within_the_month():
    partner, loan = history_of_one_loan(PERIOD)

    [line] = lines_for(partner)

    assert (line.loan_pk, line.mis_loan_id) == (loan.pk, "L-1")
    assert line.amount == Decimal("330.00")
    assert line.period_amount == Decimal("330.00")
    assert line.transactions == 2
    assert line.principal_unknown is False


def test_cumulative_rule_reports_the_principal_repaid_up_to_the_months_end():
    partner, _loan = history_of_one_loan(CUMULATIVE)

    [line] = lines_for(partner)

    assert line.amount == Decimal("600.00")  # 300 in January + 180 + 120 in February
    assert line.period_amount == Decimal("330.00")
    assert line.transactions == 2
    assert line.principal_unknown is False


def test_cumulative_rule_flags_a_line_whose_principal_is_unknown():
    partner = PartnerFactory(repayment_amount_rule=CUMULATIVE)
    loan = LoanFactory(partner=partner)
    pay(loan, date(2026, 1, 9), "330.00")  # the MIS did not split it
    pay(loan, date(2026, 2, 9), "330.00", "300.00", "30.00")

    [line] = lines_for(partner)

    assert line.principal_unknown is True


def test_loans_without_repayments_in_the_month_have_no_line():
    partner = PartnerFactory()
    quiet = LoanFactory(partner=partner)
    pay(quiet, date(2026, 1, 9), "330.00")
    pay(quiet, date(2026, 3, 9), "330.00")

    assert lines_for(partner) == []


def test_other_partners_repayments_are_not_in_the_report():
    partner = PartnerFactory()
    pay(LoanFactory(partner=partner, mis_loan_id="MINE"), date(2026, 2, 9), "330.00")
    pay(LoanFactory(mis_loan_id="THEIRS"), date(2026, 2, 9), "330.00")

    assert [line.mis_loan_id for line in lines_for(partner)] == ["MINE"]


@pytest.mark.parametrize(
    "csv_format", [RepaymentCsvFormat.TWO_COLUMNS, RepaymentCsvFormat.THREE_COLUMNS]
)
def test_individual_loan_line_carries_its_borrowers_client_id(csv_format):
    # The line always knows the client id; whether it is sent depends on the partner's CSV
    # format (three columns), which `uses_client_id` tells the payload.
    partner = PartnerFactory(repayment_csv_format=csv_format)
    borrower = BorrowerFactory(partner=partner, mis_client_id="CL-77")
    pay(
        LoanFactory(partner=partner, mis_loan_id="L-77", borrowers=[borrower]),
        date(2026, 2, 9),
        "330.00",
    )

    [line] = lines_for(partner)

    assert (line.mis_loan_id, line.client_id) == ("L-77", "CL-77")
    assert partner.uses_client_id is (csv_format == RepaymentCsvFormat.THREE_COLUMNS)


def test_group_loan_repaid_as_a_whole_carries_the_groups_client_id():
    partner = PartnerFactory(repayment_csv_format=RepaymentCsvFormat.THREE_COLUMNS)
    loan = GroupLoanFactory(partner=partner, mis_loan_id="G-LOAN", group_client_id="GROUP-9")
    pay(loan, date(2026, 2, 9), "330.00")

    [line] = lines_for(partner)

    assert (line.mis_loan_id, line.client_id) == ("G-LOAN", "GROUP-9")


def test_group_loan_without_group_client_id_falls_back_to_its_first_borrower():
    partner = PartnerFactory(repayment_csv_format=RepaymentCsvFormat.THREE_COLUMNS)
    first = BorrowerFactory(partner=partner, mis_client_id="FIRST")
    second = BorrowerFactory(partner=partner, mis_client_id="SECOND")
    loan = GroupLoanFactory(partner=partner, group_client_id="", borrowers=[first, second])
    pay(loan, date(2026, 2, 9), "330.00")

    [line] = lines_for(partner)

    assert line.client_id == "FIRST"


@pytest.mark.parametrize(
    ("rule", "expected"), [(PERIOD, ("110.00", "220.00")), (CUMULATIVE, ("200.00", "300.00"))]
)
def test_group_loan_repaid_per_borrower_has_a_line_per_borrower(rule, expected):
    partner = PartnerFactory(
        repayment_csv_format=RepaymentCsvFormat.THREE_COLUMNS, repayment_amount_rule=rule
    )
    ana = BorrowerFactory(partner=partner, mis_client_id="ANA")
    eva = BorrowerFactory(partner=partner, mis_client_id="EVA")
    loan = GroupLoanFactory(partner=partner, mis_loan_id="G-7", borrowers=[ana, eva])
    pay(loan, date(2026, 1, 9), "110.00", "100.00", "10.00", borrower=ana)
    pay(loan, date(2026, 2, 9), "110.00", "100.00", "10.00", borrower=ana)
    pay(loan, date(2026, 2, 9), "220.00", "200.00", "20.00", borrower=eva)
    pay(loan, date(2026, 1, 9), "100.00", "100.00", "0", borrower=eva)

    lines = lines_for(partner)

    assert [(line.mis_loan_id, line.client_id, line.amount) for line in lines] == [
        ("G-7-1", "ANA", Decimal(expected[0])),
        ("G-7-2", "EVA", Decimal(expected[1])),
    ]
    assert {line.loan_pk for line in lines} == {loan.pk}


@pytest.mark.parametrize(
    ("currency", "amounts", "expected"),
    [
        ("XOF", ["25000", "5000"], "30000"),
        ("PEN", ["100.10", "0.2"], "100.30"),
        ("PEN", ["10.005", "0"], "10.01"),
        ("KWD", ["1.234", "1"], "2.234"),
    ],
)
def test_line_amounts_are_quantized_to_the_loans_currency(currency, amounts, expected):
    partner = PartnerFactory(default_currency=currency)
    loan = LoanFactory(partner=partner, currency=currency, amount=Decimal("400000"))
    for amount in amounts:
        pay(loan, date(2026, 2, 9), amount, amount, "0")

    [line] = lines_for(partner)

    assert str(line.amount) == expected
    assert str(line.period_amount) == expected


@pytest.mark.parametrize("currency", ["XOF", "PEN"])
def test_cumulative_amount_is_quantized_to_the_loans_currency(currency):
    partner = PartnerFactory(default_currency=currency, repayment_amount_rule=CUMULATIVE)
    loan = LoanFactory(partner=partner, currency=currency, amount=Decimal("400000"))
    pay(loan, date(2026, 1, 9), "1000", "900", "100")
    pay(loan, date(2026, 2, 9), "1000", "900", "100")

    [line] = lines_for(partner)

    assert str(line.amount) == {"XOF": "1800", "PEN": "1800.00"}[currency]


def portfolio(rule, size):
    """`size` loans of one partner repaid in February: individual loans, and every fifth a
    group loan repaid per borrower."""
    partner = PartnerFactory(
        repayment_amount_rule=rule, repayment_csv_format=RepaymentCsvFormat.THREE_COLUMNS
    )
    for n in range(size):
        if n % 5 == 4:
            loan = GroupLoanFactory(partner=partner, instalments=1)
            for member in loan.loan_borrowers.all():
                pay(loan, date(2026, 1, 9), "50.00", "40.00", "10.00", borrower=member.borrower)
                pay(loan, date(2026, 2, 9), "50.00", "40.00", "10.00", borrower=member.borrower)
        else:
            loan = LoanFactory(partner=partner, instalments=1)
            pay(loan, date(2026, 1, 9), "330.00", "300.00", "30.00")
            pay(loan, date(2026, 2, 9), "330.00", "300.00", "30.00")
    return RepaymentReportFactory(partner=partner, month=FEBRUARY)


@pytest.mark.parametrize("rule", [PERIOD, CUMULATIVE])
def test_number_of_queries_does_not_grow_with_the_number_of_loans(rule):
    counts = {}
    for size in (5, 50):
        report = RepaymentReport.objects.get(pk=portfolio(rule, size).pk)
        with CaptureQueriesContext(connection) as queries:
            lines = report_lines(report)
        # An individual loan has one line, a group loan of three one per borrower.
        assert len(lines) == size + (size // 5) * 2
        counts[size] = len(queries)

    assert counts[5] == counts[50]


def test_number_of_queries_does_not_grow_with_loans_known_in_other_environments():
    """A production connection, loans known to stage, production or neither (no row): the
    environment is read once, whatever the number of loans."""
    counts = {}
    for size in (5, 50):
        report = portfolio(PERIOD, size)
        KivaConnectionFactory(partner=report.partner, environment="production")
        loans = Loan.objects.filter(partner=report.partner).order_by("id")
        for n, loan in enumerate(loans):
            environment = ("stage", "production", "")[n % 3]
            LoanAtKiva.objects.create(loan=loan, status="payingBack", environment=environment)
            SentRepaymentLoan.objects.create(
                partner=report.partner,
                loan=loan,
                report=report,
                month=date(2026, 1, 1),
                environment=environment,
            )
        report = RepaymentReport.objects.get(pk=report.pk)
        with CaptureQueriesContext(connection) as queries:
            lines = report_lines(report)
        known = {loan.pk for n, loan in enumerate(loans) if n % 3}
        assert {line.loan_pk for line in lines if line.kiva_status} == known
        assert {line.loan_pk for line in lines if line.sent_before} == known
        counts[size] = len(queries)

    assert counts[5] == counts[50]


def test_a_page_of_lines_is_the_same_slice_of_the_whole_report():
    partner = PartnerFactory(repayment_amount_rule=CUMULATIVE)
    for n in range(7):
        loan = LoanFactory(partner=partner, mis_loan_id=f"L-{n}", instalments=1)
        pay(loan, date(2026, 1, 9), "100.00", "90.00", "10.00")
        pay(loan, date(2026, 2, 9), "100.00", "90.00", "10.00")
    report = RepaymentReportFactory(partner=partner, month=FEBRUARY)

    whole = report_lines(report)

    assert [line.mis_loan_id for line in whole] == [f"L-{n}" for n in range(7)]
    assert report_lines(report, offset=2, limit=3) == whole[2:5]
    assert report_lines(report, offset=6, limit=3) == whole[6:]
