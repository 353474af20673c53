"""The report Kiva expects: a line for every loan Kiva lists as payingBack or defaulted (a zero
line when it repaid nothing), loans Kiva shows ended or refunded left out, and what Kiva does
not expect flagged before sending."""

from datetime import date
from decimal import Decimal

import pytest

from integrations.kiva import payloads
from kivaportal.lending.models import LoanAtKiva
from kivaportal.partners.models import RepaymentAmountRule
from kivaportal.repayments.anomalies import report_anomalies
from kivaportal.repayments.models import RepaymentReport
from kivaportal.repayments.selectors import report_lines, report_totals
from tests.factories import LoanFactory, PartnerFactory, RepaymentFactory, RepaymentReportFactory

pytestmark = pytest.mark.django_db

FEBRUARY = date(2026, 2, 1)


def at_kiva(loan, status):
    LoanAtKiva.objects.create(loan=loan, status=status)
    return loan


def pay(loan, day, amount, principal):
    RepaymentFactory(loan=loan, date=day, amount=Decimal(amount), principal=Decimal(principal))


@pytest.fixture
def month():
    """Five loans: two paying back (one repaid in February), one defaulted that repaid
    nothing, one ended and one fundraising that both repaid in February."""
    partner = PartnerFactory()
    paid, silent = (
        at_kiva(LoanFactory(partner=partner, mis_loan_id=f"L-{n}"), "payingBack") for n in (1, 2)
    )
    at_kiva(LoanFactory(partner=partner, mis_loan_id="L-3"), "defaulted")
    ended = at_kiva(LoanFactory(partner=partner, mis_loan_id="L-4"), "ended")
    raising = at_kiva(LoanFactory(partner=partner, mis_loan_id="L-5"), "fundRaising")
    pay(silent, date(2026, 1, 10), "110.00", "100.00")  # before the month
    for loan in (paid, ended, raising):
        pay(loan, date(2026, 2, 10), "55.00", "50.00")
    report = RepaymentReportFactory(partner=partner, month=FEBRUARY)
    return RepaymentReport.objects.get(pk=report.pk)


def test_every_loan_kiva_expects_gets_a_line_with_zero_where_nothing_was_repaid(month):
    lines = report_lines(month)

    assert [(x.mis_loan_id, x.amount, x.zero, x.expected) for x in lines] == [
        ("L-1", Decimal("55.00"), False, True),
        ("L-2", Decimal("0.00"), True, True),
        ("L-3", Decimal("0.00"), True, True),
        ("L-5", Decimal("55.00"), False, False),
    ]
    assert report_lines(month, offset=1, limit=2) == lines[1:3]


def test_totals_give_expected_against_reported(month):
    totals = report_totals(month)

    assert (totals.lines, totals.expected, totals.zero_lines, totals.reported) == (4, 3, 2, 2)
    assert (totals.left_out, totals.transactions, totals.unexpected) == (1, 2, 1)


def test_zero_lines_under_the_cumulative_rule_report_the_principal_repaid_so_far(month):
    month.partner.repayment_amount_rule = RepaymentAmountRule.CUMULATIVE_PRINCIPAL
    month.partner.save()

    amounts = {x.mis_loan_id: x.amount for x in report_lines(month)}

    assert amounts == {
        "L-1": Decimal("50.00"),
        "L-2": Decimal("100.00"),
        "L-3": Decimal("0.00"),
        "L-5": Decimal("50.00"),
    }
    assert report_totals(month).amount == Decimal("200.00")


def test_zero_lines_are_sent_to_kiva_and_ended_loans_are_not(month):
    [batch] = payloads.report_batches(month)
    assert [(x["loan_id"], x["amount"]) for x in batch["repayments"]] == [
        ("L-1", Decimal("55.00")),
        ("L-2", Decimal("0.00")),
        ("L-3", Decimal("0.00")),
        ("L-5", Decimal("55.00")),
    ]


def test_loans_kiva_does_not_expect_are_flagged_before_sending(month):
    flagged = {(f.code, f.params["loan"]) for f in report_anomalies(month)}

    assert ("kiva_left_out", "L-4") in flagged
    assert ("kiva_not_expected", "L-5") in flagged
    assert not {loan for code, loan in flagged if code == "kiva_not_expected"} - {"L-5"}


def test_a_month_with_only_zero_lines_is_not_an_empty_report():
    partner = PartnerFactory()
    at_kiva(LoanFactory(partner=partner), "payingBack")
    report = RepaymentReportFactory(partner=partner, month=FEBRUARY)

    assert "empty" not in {f.code for f in report_anomalies(report)}
    assert [x.zero for x in report_lines(report)] == [True]


def test_the_line_search_and_zero_filter_apply_to_zero_lines_too(month):
    """A search and "nothing repaid" narrow the month's sums and the zero lines alike."""
    from kivaportal.repayments.selectors import report_line_count

    def ids(**filters):
        return [x.mis_loan_id for x in report_lines(month, **filters)]

    assert ids(zero=True) == ["L-2", "L-3"]
    assert ids(search="L-3") == ["L-3"]
    assert ids(search="L-1") == ["L-1"]
    assert ids(search="L-5", zero=True) == []
    assert report_line_count(month, zero=True) == 2
    assert report_line_count(month, search="L") == 4


def test_loans_reported_in_an_earlier_month_stay_expected_until_kiva_shows_them_gone():
    """The expected set also comes from the portal's own record of what it sent: a loan Kiva
    took a January line for is expected in February (a zero line if it repaid nothing), even
    before reconciliation lists it, until Kiva shows it ended, refunded, expired or deleted."""
    from kivaportal.repayments.services import report_loans_sent

    partner = PartnerFactory()
    reported, refused, never = (
        LoanFactory(partner=partner, mis_loan_id=f"S-{n}") for n in (1, 2, 3)
    )
    january = RepaymentReportFactory(partner=partner, month=date(2026, 1, 1))
    report_loans_sent(report_id=january.pk, loan_ids=["S-1", "S-2", "unknown"], refused=["S-2"])
    pay(never, date(2026, 2, 3), "10.00", "9.00")
    february = RepaymentReportFactory(partner=partner, month=FEBRUARY)

    lines = {x.mis_loan_id: x for x in report_lines(february)}
    assert {k: (x.zero, x.expected, x.sent_before) for k, x in lines.items()} == {
        "S-1": (True, True, True),
        "S-3": (False, False, False),
    }
    totals = report_totals(february)
    assert (totals.expected, totals.zero_lines, totals.unexpected) == (1, 1, 1)
    assert [f.params["loan"] for f in report_anomalies(february) if f.code == "loan_not_sent"] == [
        "S-3"
    ]
    # The January report itself does not expect what it sent.
    assert report_totals(january).expected == 0

    for status in ("payingBack", "expired"):
        LoanAtKiva.objects.update_or_create(loan=reported, defaults={"status": status})
        assert [x.mis_loan_id for x in report_lines(february)] == (
            ["S-1", "S-3"] if status == "payingBack" else ["S-3"]
        )
