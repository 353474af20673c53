"""Checks on a month's report (`report_findings`)."""

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.utils import timezone

from kivaportal.common.checks import Severity
from kivaportal.partners.models import RepaymentAmountRule
from kivaportal.repayments import checks
from kivaportal.repayments.models import Repayment
from kivaportal.workflow.states import RecordState
from tests.factories import (
    LoanFactory,
    PartnerFactory,
    RepaymentFactory,
    RepaymentReportFactory,
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


def report_findings(report):
    return seen(checks.report_findings(report))


FEBRUARY = date(2026, 2, 1)


def stored(repayment):
    return Repayment.objects.select_related("loan").get(pk=repayment.pk)


def codes(findings):
    return [(f.severity, f.field, f.code) for f in findings]


# A month's report ------------------------------------------------------------------------


def sent_loan(partner, **kwargs):
    return LoanFactory(partner=partner, state=RecordState.SENT, **kwargs)


def test_report_of_a_sent_loan_repaid_as_scheduled_has_no_findings():
    partner = PartnerFactory()
    loan = sent_loan(partner)  # first instalment due 2026-02-09
    RepaymentFactory(loan=loan, date=date(2026, 2, 9))

    assert report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY)) == []


def test_report_for_a_month_that_has_not_started_is_an_error():
    today = timezone.localdate()
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    report = RepaymentReportFactory(month=next_month)

    findings = report_findings(report)

    assert (
        Seen(Severity.ERROR, "month", "The month has not started yet.", "future_month") in findings
    )


def test_report_for_the_current_month_is_not_a_future_month():
    report = RepaymentReportFactory(month=timezone.localdate().replace(day=1))

    assert "future_month" not in [f.code for f in report_findings(report)]


def test_report_of_a_month_without_repayments_is_a_warning():
    report = RepaymentReportFactory(month=FEBRUARY)

    assert report_findings(report) == [
        Seen(Severity.WARNING, "lines", "No repayments are dated in this month.", "empty")
    ]


def test_cumulative_rule_with_a_repayment_lacking_principal_is_an_error():
    partner = PartnerFactory(repayment_amount_rule=RepaymentAmountRule.CUMULATIVE_PRINCIPAL)
    loan = sent_loan(partner, mis_loan_id="L-CUM")
    RepaymentFactory(loan=loan, date=date(2026, 1, 20))  # principal known
    RepaymentFactory(loan=loan, date=date(2026, 2, 9), principal=None, interest=None)

    findings = report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY))

    assert findings == [
        Seen(
            Severity.ERROR,
            "lines[L-CUM]",
            "Loan L-CUM: some repayments have no principal part, so the cumulative principal "
            "cannot be computed.",
            "principal_unknown",
        )
    ]


def test_cumulative_rule_with_an_earlier_repayment_lacking_principal_is_an_error():
    partner = PartnerFactory(repayment_amount_rule=RepaymentAmountRule.CUMULATIVE_PRINCIPAL)
    loan = sent_loan(partner, mis_loan_id="L-CUM")
    RepaymentFactory(loan=loan, date=date(2026, 1, 20), principal=None, interest=None)
    RepaymentFactory(loan=loan, date=date(2026, 2, 9))

    findings = report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY))

    assert codes(findings) == [(Severity.ERROR, "lines[L-CUM]", "principal_unknown")]


def test_period_rule_with_a_repayment_lacking_principal_is_fine():
    partner = PartnerFactory(repayment_amount_rule=RepaymentAmountRule.PERIOD_AMOUNT)
    loan = sent_loan(partner)
    RepaymentFactory(loan=loan, date=date(2026, 2, 9), principal=None, interest=None)

    assert report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY)) == []


def test_loan_repaying_more_principal_than_its_amount_is_a_warning():
    partner = PartnerFactory()
    loan = sent_loan(partner, mis_loan_id="L-OVER", amount=Decimal("1200.00"))
    RepaymentFactory(
        loan=loan,
        date=date(2026, 1, 20),
        amount=Decimal("1000.00"),
        principal=Decimal("1000.00"),
        interest=Decimal("0"),
    )
    RepaymentFactory(
        loan=loan,
        date=date(2026, 2, 9),
        amount=Decimal("300.00"),
        principal=Decimal("300.00"),
        interest=Decimal("0"),
    )

    [finding] = report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY))

    assert codes([finding]) == [(Severity.WARNING, "lines[L-OVER]", "overpaid")]
    assert finding.message.startswith("Loan L-OVER has repaid 1300")


def test_repayments_after_the_month_do_not_count_towards_overpayment():
    partner = PartnerFactory()
    loan = sent_loan(partner, amount=Decimal("1200.00"))
    RepaymentFactory(loan=loan, date=date(2026, 2, 9), principal=Decimal("300"))
    RepaymentFactory(loan=loan, date=date(2026, 3, 9), principal=Decimal("1000"))

    assert report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY)) == []


def test_sent_loan_with_an_instalment_due_but_no_repayment_is_a_warning():
    partner = PartnerFactory()
    paying = sent_loan(partner)
    sent_loan(partner, mis_loan_id="L-SILENT")  # first instalment due 2026-02-09
    LoanFactory(partner=partner, mis_loan_id="L-DRAFT")  # not sent: Kiva expects nothing
    RepaymentFactory(loan=paying, date=date(2026, 2, 9))

    findings = report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY))

    assert findings == [
        Seen(
            Severity.WARNING,
            "lines[L-SILENT]",
            "Loan L-SILENT had an instalment due this month but no repayment.",
            "missing",
        )
    ]


def test_another_partners_loans_are_never_reported_missing():
    partner = PartnerFactory()
    sent_loan(PartnerFactory(), mis_loan_id="L-ELSEWHERE")
    RepaymentFactory(loan=sent_loan(partner), date=date(2026, 2, 9))

    assert report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY)) == []


def test_two_identical_transactions_on_the_same_day_are_a_duplicate_warning():
    partner = PartnerFactory()
    loan = sent_loan(partner, mis_loan_id="L-TWICE")
    for _ in range(2):
        RepaymentFactory(loan=loan, date=date(2026, 2, 9), amount=Decimal("330.00"))

    findings = report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY))

    assert codes(findings) == [(Severity.WARNING, "lines[L-TWICE]", "duplicate")]
    assert findings[0].message.startswith("Loan L-TWICE has 2 repayments of 330")
    assert findings[0].message.endswith("on 2026-02-09: a duplicate?")


def test_two_different_transactions_on_the_same_day_are_not_duplicates():
    partner = PartnerFactory()
    loan = sent_loan(partner)
    RepaymentFactory(loan=loan, date=date(2026, 2, 9), amount=Decimal("330.00"))
    RepaymentFactory(
        loan=loan, date=date(2026, 2, 9), amount=Decimal("100.00"), principal=None, interest=None
    )

    assert report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY)) == []


@pytest.mark.parametrize(
    "state", [RecordState.DRAFT, RecordState.APPROVED, RecordState.NEEDS_ATTENTION]
)
def test_repayment_of_a_loan_not_sent_to_kiva_is_a_warning(state):
    partner = PartnerFactory()
    loan = LoanFactory(partner=partner, mis_loan_id="L-UNSENT", state=state)
    RepaymentFactory(loan=loan, date=date(2026, 2, 9))

    findings = report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY))

    assert findings == [
        Seen(
            Severity.WARNING,
            "lines[L-UNSENT]",
            "Loan L-UNSENT has not been sent to Kiva; Kiva will not know its id.",
            "loan_not_sent",
        )
    ]


def test_a_long_list_of_one_anomaly_is_cut_with_a_count_of_the_rest():
    partner = PartnerFactory()
    for n in range(53):
        loan = LoanFactory(partner=partner, mis_loan_id=f"L-{n:03d}", instalments=1)
        RepaymentFactory(loan=loan, date=date(2026, 2, 9))

    findings = report_findings(RepaymentReportFactory(partner=partner, month=FEBRUARY))

    assert [f.field for f in findings[:2]] == ["lines[L-000]", "lines[L-001]"]
    assert len(findings) == 51
    assert findings[-1] == Seen(
        Severity.WARNING,
        "lines",
        "3 more loans in this report have not been sent to Kiva.",
        "loan_not_sent",
    )
