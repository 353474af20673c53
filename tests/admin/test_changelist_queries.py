"""Admin lists run a bounded number of queries, whatever the number of rows (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.admin.admin_forms import admin_url
from tests.factories import (
    BorrowerFactory,
    GroupLoanFactory,
    JournalFactory,
    LoanFactory,
    RepaymentFactory,
)

pytestmark = pytest.mark.django_db


def add_loans(partner, user, n):
    for k in range(n):
        factory = GroupLoanFactory if k % 3 == 0 else LoanFactory
        factory(partner=partner, created_by=user, updated_by=user, instalments=1)


def add_borrowers(partner, user, n):
    BorrowerFactory.create_batch(n, partner=partner, created_by=user)


def add_repayments(partner, user, n):
    for k in range(n):
        loan = LoanFactory(partner=partner, instalments=1)
        RepaymentFactory(
            loan=loan,
            borrower=loan.loan_borrowers.get().borrower if k % 2 else None,
            created_by=user,
        )


def add_journals(partner, user, n):
    for k in range(n):
        loan = LoanFactory(partner=partner, instalments=1)
        JournalFactory(
            loan=loan,
            borrower=loan.loan_borrowers.get().borrower if k % 2 else None,
            created_by=user,
        )


CHANGELISTS = {
    "loan": (("lending", "loan"), add_loans),
    "borrower": (("lending", "borrower"), add_borrowers),
    "repayment": (("repayments", "repayment"), add_repayments),
    "journal": (("journals", "journal"), add_journals),
}


def rows_and_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.context["cl"].result_count, len(queries)


@pytest.mark.parametrize("name", sorted(CHANGELISTS))
@pytest.mark.parametrize("who", ["preparer", "superuser"])
def test_changelist_queries_do_not_grow_with_the_number_of_rows(client, alfa, superuser, name, who):
    model, add_rows = CHANGELISTS[name]
    url = admin_url(*model, "changelist")
    client.force_login(superuser if who == "superuser" else alfa.preparer)
    add_rows(alfa.partner, alfa.preparer, 2)  # ALFA's world already has one
    client.get(url)  # warm caches (content types, sessions) before counting

    rows_3, queries_3 = rows_and_queries(client, url)
    add_rows(alfa.partner, alfa.preparer, 27)
    rows_30, queries_30 = rows_and_queries(client, url)

    assert (rows_3, rows_30) == (3, 30)
    assert queries_30 == queries_3
