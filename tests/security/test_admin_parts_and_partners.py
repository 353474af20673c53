"""Hostile insiders in the admin: a new part added to an approved record, a loan's parts edited
after approval, and a user of two partners moving a record or a borrower between them."""

from datetime import date

import pytest

from kivaportal.lending.models import Borrower, Loan
from kivaportal.partners.models import Membership
from kivaportal.partners.roles import Role
from kivaportal.repayments.models import Repayment
from kivaportal.workflow.states import RecordState
from tests.admin.admin_forms import (
    _add_form,
    admin_url,
    browser,
    form_data,
    form_errors,
    post_form,
)
from tests.factories import (
    BorrowerFactory,
    LoanFactory,
    PartnerFactory,
    RepaymentReportFactory,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    partner = PartnerFactory(name="Cooperativa Cuatro Ojos")
    return {
        "partner": partner,
        "preparer": member(partner, Role.PREPARER, username="ana"),
        "reviewer": member(partner, Role.REVIEWER, username="rosa"),
    }


def approved_loan(team):
    return LoanFactory(
        partner=team["partner"],
        state=RecordState.APPROVED,
        created_by=team["preparer"],
        updated_by=team["preparer"],
    )


def test_editing_an_approved_loans_schedule_line_sends_it_back(team):
    loan = approved_loan(team)
    assert loan.schedule.exists()
    response = post_form(
        browser(team["preparer"]),
        admin_url("lending", "loan", "change", loan.pk),
        {"schedule-0-principal": "1"},
    )
    assert response.status_code == 302, form_errors(response)
    loan.refresh_from_db()
    assert loan.state == RecordState.DRAFT


def test_editing_an_approved_loans_borrower_share_sends_it_back(team):
    loan = approved_loan(team)
    response = post_form(
        browser(team["preparer"]),
        admin_url("lending", "loan", "change", loan.pk),
        {"loan_borrowers-0-amount": "1"},
    )
    assert response.status_code == 302, form_errors(response)
    loan.refresh_from_db()
    assert loan.state == RecordState.DRAFT


def test_adding_a_repayment_to_an_approved_reports_month_sends_the_report_back(team):
    loan = LoanFactory(partner=team["partner"], state=RecordState.SENT)
    borrower = loan.loan_borrowers.get().borrower
    report = RepaymentReportFactory(
        partner=team["partner"],
        month=date(2026, 3, 1),
        state=RecordState.APPROVED,
        created_by=team["preparer"],
        updated_by=team["preparer"],
    )
    client = browser(team["preparer"])
    url = admin_url("repayments", "repayment", "add") + f"?partner={team['partner'].pk}"
    response = post_form(
        client,
        url,
        {
            "partner": str(team["partner"].pk),
            "loan": str(loan.pk),
            "borrower": str(borrower.pk),
            "mis_repayment_id": "R-NEW",
            "date": "2026-03-15",
            "amount": "10",
            "principal": "10",
            "interest": "0",
        },
    )
    assert response.status_code == 302, form_errors(response)
    assert Repayment.objects.filter(mis_repayment_id="R-NEW").exists()
    report.refresh_from_db()
    assert report.state == RecordState.DRAFT


@pytest.fixture
def two_partners():
    a = PartnerFactory(name="Cooperativa Alfa")
    b = PartnerFactory(name="Cooperativa Beta")
    user = member(a, Role.PREPARER, username="dos")
    Membership.objects.create(user=user, partner=b, role=Role.PREPARER)
    return a, b, user


def test_a_borrower_on_a_loan_cannot_move_to_the_users_other_partner(two_partners):
    a, b, user = two_partners
    loan = LoanFactory(partner=a, created_by=user, updated_by=user)
    borrower = loan.loan_borrowers.get().borrower
    response = post_form(
        browser(user),
        admin_url("lending", "borrower", "change", borrower.pk),
        {"partner": str(b.pk)},
    )
    assert response.status_code == 200
    assert "partner" in form_errors(response)
    assert Borrower.objects.get(pk=borrower.pk).partner == a


def test_a_loan_with_borrowers_cannot_move_to_the_users_other_partner(two_partners):
    a, b, user = two_partners
    loan = LoanFactory(
        partner=a,
        created_by=user,
        updated_by=user,
        activity=None,
        theme=None,
        description_language=None,
        location=None,
    )
    response = post_form(
        browser(user), admin_url("lending", "loan", "change", loan.pk), {"partner": str(b.pk)}
    )
    assert response.status_code == 200, response.status_code
    assert form_errors(response)
    assert Loan.objects.get(pk=loan.pk).partner == a


def test_a_loan_cannot_take_the_other_partners_borrower_as_a_new_row(two_partners):
    a, b, user = two_partners
    loan = LoanFactory(partner=a, created_by=user, updated_by=user)
    other = BorrowerFactory(partner=b)
    client = browser(user)
    url = admin_url("lending", "loan", "change", loan.pk)
    page = client.get(url)
    data = {**form_data(page), "csrfmiddlewaretoken": page.context["csrf_token"]}
    data["loan_borrowers-TOTAL_FORMS"] = "2"
    data.update(
        {
            "loan_borrowers-1-borrower": str(other.pk),
            "loan_borrowers-1-amount": "1",
            "loan_borrowers-1-position": "1",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert not loan.loan_borrowers.filter(borrower=other).exists()


def version_form_data(page):
    """What an old version's page would post back (it has no inlines)."""
    data = {"csrfmiddlewaretoken": page.context["csrf_token"]}
    _add_form(data, page.context["adminform"].form)
    return data


def history_url(record, model):
    version = record.history.order_by("history_id").first().history_id
    return admin_url("lending", model, "change", record.pk).replace(
        "/change/", f"/history/{version}/"
    )


def test_a_history_version_page_cannot_be_posted_back_as_an_edit(team):
    """Reverting is off (SIMPLE_HISTORY_REVERT_DISABLED), on every path: a forged POST to an
    old version's page, by a reviewer (who may only view), changes nothing."""
    loan = approved_loan(team)
    client = browser(team["reviewer"])
    url = history_url(loan, "loan")
    page = client.get(url)
    assert page.status_code == 200
    data = {**version_form_data(page), "description": "Forged"}

    response = client.post(url, data)

    assert response.status_code == 405
    assert Loan.objects.get(pk=loan.pk).description != "Forged"


def test_an_old_approved_version_cannot_be_restored_after_an_edit(team):
    loan = approved_loan(team)
    client = browser(team["preparer"])
    assert (
        post_form(
            client, admin_url("lending", "loan", "change", loan.pk), {"schedule-0-principal": "1"}
        ).status_code
        == 302
    )
    assert Loan.objects.get(pk=loan.pk).state == RecordState.DRAFT
    approved = loan.history.filter(state=RecordState.APPROVED).order_by("history_id").last()
    url = admin_url("lending", "loan", "change", loan.pk).replace(
        "/change/", f"/history/{approved.history_id}/"
    )
    client.post(url, version_form_data(client.get(url)))

    assert Loan.objects.get(pk=loan.pk).state == RecordState.DRAFT
