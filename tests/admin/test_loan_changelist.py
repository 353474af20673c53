"""The loan list's columns stay true whatever the user searches or filters."""

import pytest

from tests.admin.admin_forms import admin_url
from tests.factories import BorrowerFactory, GroupLoanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def group_loan(alfa):
    people = [BorrowerFactory(partner=alfa.partner, last_name=f"Mamani {k}") for k in range(3)]
    return GroupLoanFactory(partner=alfa.partner, mis_loan_id="GRUPO-1", borrowers=people)


def listed_counts(client, user, **params):
    client.force_login(user)
    response = client.get(admin_url("lending", "loan", "changelist"), params)
    assert response.status_code == 200
    return {loan.mis_loan_id: loan._borrower_count for loan in response.context["cl"].result_list}


def test_loan_list_shows_each_loans_number_of_borrowers(client, alfa, group_loan):
    assert listed_counts(client, alfa.preparer) == {"GRUPO-1": 3, "ALFA-L1": 1}


def test_loan_list_filtered_by_state_keeps_the_number_of_borrowers(client, alfa, group_loan):
    assert listed_counts(client, alfa.preparer, state__exact="draft") == {
        "GRUPO-1": 3,
        "ALFA-L1": 1,
    }


@pytest.mark.parametrize("term", ["GRUPO-1", "Mamani"])
def test_loan_list_search_keeps_the_number_of_borrowers(client, alfa, group_loan, term):
    assert listed_counts(client, alfa.preparer, q=term) == {"GRUPO-1": 3}
