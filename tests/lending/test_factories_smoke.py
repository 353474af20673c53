import pytest

from kivaportal.lending.checks import loan_findings
from tests.factories import LoanFactory


@pytest.mark.django_db
def test_default_loan_factory_builds_a_loan_without_findings():
    loan = LoanFactory()
    assert loan_findings(loan) == []
