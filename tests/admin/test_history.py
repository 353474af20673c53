"""Every change is kept in history: who, when, what changed (django-simple-history)."""

from decimal import Decimal

import pytest

from kivaportal.lending.models import Loan
from tests.admin.admin_forms import admin_url, form_data, form_errors
from tests.factories import BorrowerFactory, LoanFactory

pytestmark = pytest.mark.django_db


def changes_of(record, field):
    """The history rows of `record` whose diff against the row before changes `field`."""
    rows = list(record.history.order_by("history_date", "history_id"))
    return [
        (row, row.diff_against(before))
        for before, row in zip(rows, rows[1:], strict=False)
        if field in row.diff_against(before).changed_fields
    ]


def test_changing_a_loan_in_the_admin_records_the_editor_and_the_change(client, alfa):
    url = admin_url("lending", "loan", "change", alfa.loan.pk)
    client.force_login(alfa.preparer)
    data = form_data(client.get(url))
    old_use = alfa.loan.loan_use
    data["loan_use"] = "To buy a second cart."

    response = client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    [(row, delta)] = changes_of(alfa.loan, "loan_use")
    assert row.history_user == alfa.preparer
    assert row.history_type == "~"
    [change] = [c for c in delta.changes if c.field == "loan_use"]
    assert (change.old, change.new) == (old_use, "To buy a second cart.")


def test_admin_history_page_shows_the_editor_and_the_new_value(client, alfa):
    url = admin_url("lending", "loan", "change", alfa.loan.pk)
    client.force_login(alfa.preparer)
    data = form_data(client.get(url))
    data["loan_use"] = "To buy a second cart."
    client.post(url, data)

    page = client.get(admin_url("lending", "loan", "history", alfa.loan.pk))

    content = page.content.decode()
    assert page.status_code == 200
    assert "preparer-alfa" in content
    assert "To buy a second cart." in content


def test_changing_a_borrower_share_in_the_admin_records_history_of_the_share(client, alfa):
    url = admin_url("lending", "loan", "change", alfa.loan.pk)
    share = alfa.loan.loan_borrowers.get()
    client.force_login(alfa.preparer)
    data = form_data(client.get(url))
    data["loan_borrowers-0-amount"] = "1100.00"

    response = client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    [(row, _delta)] = changes_of(share, "amount")
    assert row.history_user == alfa.preparer
    assert row.amount == Decimal("1100.00")


def test_creating_a_loan_records_a_creation_in_history():
    loan = LoanFactory()

    [created] = loan.history.all()

    assert created.history_type == "+"
    assert created.mis_loan_id == loan.mis_loan_id


def test_changing_a_loan_through_the_model_records_history():
    loan = LoanFactory(amount=Decimal("1200.00"))
    loan = Loan.objects.get(pk=loan.pk)
    loan.amount = Decimal("1500.00")
    loan.save()

    [(row, delta)] = changes_of(loan, "amount")

    assert delta.changed_fields == ["amount"]
    assert row.history_type == "~"
    assert row.history_user is None  # no request: nobody to name
    assert (delta.changes[0].old, delta.changes[0].new) == (Decimal("1200"), Decimal("1500"))


def test_borrower_changes_are_kept_in_history():
    borrower = BorrowerFactory(last_name="Quispe")
    borrower.last_name = "Mamani"
    borrower.save()

    [(row, delta)] = changes_of(borrower, "last_name")

    assert row.last_name == "Mamani"
    assert delta.changes[0].old == "Quispe"
