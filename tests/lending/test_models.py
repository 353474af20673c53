import pytest
from django.core.exceptions import ValidationError

from kivaportal.lending.models import LoanBorrower
from tests.factories import BorrowerFactory, LoanFactory


@pytest.mark.django_db
def test_a_borrower_of_another_partner_cannot_join_a_loan():
    loan = LoanFactory(borrowers=[])
    stranger = BorrowerFactory()  # another partner's
    with pytest.raises(ValidationError, match="another partner"):
        LoanBorrower(loan=loan, borrower=stranger, amount=loan.amount).full_clean()
