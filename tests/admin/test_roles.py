"""What each role may do in the admin: preparers edit records, reviewers only look, partner
admins also manage members and reference data; sent records are read-only for everyone; the
admin is only for superusers and active members."""

import pytest

from kivaportal.partners.models import Membership
from kivaportal.partners.roles import Role
from kivaportal.reference.models import Activity
from kivaportal.workflow.states import RecordState
from tests.admin.admin_forms import admin_url, form_data, form_errors
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LOAN_ADD = ("lending", "loan", "add")


def loan_change(loan):
    return admin_url("lending", "loan", "change", loan.pk)


# Who gets into the admin -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/", "/admin/lending/loan/", "/admin/partners/membership/"])
def test_anonymous_user_is_redirected_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.url == f"/admin/login/?next={path}"


@pytest.mark.parametrize("kind", ["no membership", "inactive membership", "staff flag only"])
def test_user_without_an_active_membership_is_refused_by_the_admin(client, alfa, kind):
    user = UserFactory(is_staff=kind == "staff flag only")
    if kind == "inactive membership":
        MembershipFactory(user=user, partner=alfa.partner, is_active=False)
    client.force_login(user)

    for path in ("/admin/", "/admin/lending/loan/", loan_change(alfa.loan)):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url.startswith("/admin/login/"), path


@pytest.mark.parametrize("role", ["preparer", "reviewer", "partner_admin"])
def test_active_member_without_staff_flag_enters_the_admin(client, alfa, role):
    user = getattr(alfa, role)
    assert not user.is_staff
    client.force_login(user)

    assert client.get("/admin/").status_code == 200


# Reviewers -------------------------------------------------------------------------------


def test_reviewer_cannot_open_the_add_loan_page(client, alfa):
    client.force_login(alfa.reviewer)

    assert client.get(admin_url(*LOAN_ADD)).status_code == 403


def test_reviewer_sees_a_loan_read_only(client, alfa):
    client.force_login(alfa.reviewer)

    response = client.get(loan_change(alfa.loan))

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert response.context["has_add_permission"] is False
    assert 'name="_save"' not in response.content.decode()
    for inline in response.context["inline_admin_formsets"]:
        assert inline.has_add_permission is False
        assert inline.has_change_permission is False


def test_reviewer_cannot_change_a_loan_by_posting(client, alfa):
    client.force_login(alfa.preparer)
    data = form_data(client.get(loan_change(alfa.loan)))
    data["loan_use"] = "Changed by the reviewer"
    client.force_login(alfa.reviewer)

    response = client.post(loan_change(alfa.loan), data)

    assert response.status_code == 403
    alfa.loan.refresh_from_db()
    assert alfa.loan.loan_use != "Changed by the reviewer"


# Preparers -------------------------------------------------------------------------------


def test_preparer_changes_their_partners_draft_loan(client, alfa):
    client.force_login(alfa.preparer)
    data = form_data(client.get(loan_change(alfa.loan)))
    data["loan_use"] = "To buy a sewing machine."

    response = client.post(loan_change(alfa.loan), data)

    assert response.status_code == 302, form_errors(response)
    alfa.loan.refresh_from_db()
    assert alfa.loan.loan_use == "To buy a sewing machine."
    assert alfa.loan.updated_by == alfa.preparer


@pytest.mark.parametrize(
    "model", [("partners", "membership"), ("reference", "activity"), ("reference", "location")]
)
def test_preparer_cannot_add_memberships_or_reference_data(client, alfa, model):
    client.force_login(alfa.preparer)

    assert client.get(admin_url(*model, "add")).status_code == 403


def test_preparer_sees_memberships_read_only_and_cannot_change_them(client, alfa):
    membership = Membership.objects.get(user=alfa.reviewer)
    url = admin_url("partners", "membership", "change", membership.pk)
    client.force_login(alfa.preparer)

    page = client.get(url)
    response = client.post(
        url, {"user": alfa.reviewer.pk, "partner": alfa.partner.pk, "role": Role.PARTNER_ADMIN}
    )

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.REVIEWER


def test_preparer_cannot_change_reference_data(client, alfa):
    client.force_login(alfa.preparer)

    response = client.post(
        admin_url("reference", "activity", "change", alfa.activity.pk),
        {"partner": alfa.partner.pk, "kiva_id": alfa.activity.kiva_id, "name": "Renamed"},
    )

    assert response.status_code == 403
    alfa.activity.refresh_from_db()
    assert alfa.activity.name != "Renamed"


# Partner admins --------------------------------------------------------------------------


def test_partner_admin_changes_a_members_role(client, alfa):
    membership = Membership.objects.get(user=alfa.reviewer)
    url = admin_url("partners", "membership", "change", membership.pk)
    client.force_login(alfa.partner_admin)
    data = form_data(client.get(url))
    data["role"] = Role.PREPARER

    response = client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    membership.refresh_from_db()
    assert membership.role == Role.PREPARER


def test_partner_admin_adds_a_member_from_another_of_their_partners(client, alfa, beta):
    # A partner admin of both partners brings BETA's reviewer into ALFA.
    MembershipFactory(user=alfa.partner_admin, partner=beta.partner, role=Role.PARTNER_ADMIN)
    client.force_login(alfa.partner_admin)

    response = client.post(
        admin_url("partners", "membership", "add"),
        {
            "user": beta.reviewer.pk,
            "partner": alfa.partner.pk,
            "role": Role.REVIEWER,
            "is_active": "on",
        },
    )

    assert response.status_code == 302, form_errors(response)
    assert Membership.objects.get(user=beta.reviewer, partner=alfa.partner).role == Role.REVIEWER


def test_partner_admin_cannot_add_a_user_from_outside_their_partners(client, alfa, beta):
    client.force_login(alfa.partner_admin)

    response = client.post(
        admin_url("partners", "membership", "add"),
        {"user": beta.reviewer.pk, "partner": alfa.partner.pk, "role": Role.PARTNER_ADMIN},
    )

    assert response.status_code == 200
    assert "user" in form_errors(response)
    assert not Membership.objects.filter(user=beta.reviewer, partner=alfa.partner).exists()


def test_partner_admin_adds_reference_data(client, alfa):
    client.force_login(alfa.partner_admin)

    response = client.post(
        admin_url("reference", "activity", "add"),
        {"partner": alfa.partner.pk, "kiva_id": 777, "name": "Panadería"},
    )

    assert response.status_code == 302, form_errors(response)
    assert Activity.objects.get(partner=alfa.partner, kiva_id=777).name == "Panadería"


def test_partner_admin_removes_a_membership(client, alfa):
    membership = Membership.objects.get(user=alfa.reviewer)
    client.force_login(alfa.partner_admin)

    response = client.post(
        admin_url("partners", "membership", "delete", membership.pk), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


# Sent records ----------------------------------------------------------------------------


@pytest.fixture
def sent_loan(alfa):
    alfa.loan.state = RecordState.SENT
    alfa.loan.save()
    return alfa.loan


@pytest.mark.parametrize("role", ["preparer", "partner_admin"])
def test_sent_loan_is_read_only_for_members(client, alfa, sent_loan, role):
    client.force_login(alfa.preparer)
    data = form_data(client.get(loan_change(sent_loan)))
    client.force_login(getattr(alfa, role))

    page = client.get(loan_change(sent_loan))
    data["loan_use"] = "Changed after sending"
    response = client.post(loan_change(sent_loan), data)

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert response.status_code == 403
    sent_loan.refresh_from_db()
    assert sent_loan.loan_use != "Changed after sending"


def test_superuser_views_a_sent_loan_but_cannot_change_it(client, alfa, sent_loan, superuser):
    client.force_login(superuser)

    page = client.get(loan_change(sent_loan))
    response = client.post(loan_change(sent_loan), {"loan_use": "Changed after sending"})

    assert page.status_code == 200
    assert page.context["has_view_permission"] is True
    assert page.context["has_change_permission"] is False
    for inline in page.context["inline_admin_formsets"]:
        assert inline.has_change_permission is False
    assert response.status_code == 403
    sent_loan.refresh_from_db()
    assert sent_loan.loan_use != "Changed after sending"


def test_superuser_changes_a_draft_loan_of_any_partner(client, alfa, beta, superuser):
    client.force_login(superuser)
    data = form_data(client.get(loan_change(beta.loan)))
    data["loan_use"] = "Corrected by the operator"

    response = client.post(loan_change(beta.loan), data)

    assert response.status_code == 302, form_errors(response)
    beta.loan.refresh_from_db()
    assert beta.loan.loan_use == "Corrected by the operator"


def test_preparer_cannot_set_the_state_through_the_loan_form(client, alfa):
    url = loan_change(alfa.loan)
    client.force_login(alfa.preparer)
    data = form_data(client.get(url))
    data.update({"state": RecordState.SENT, "loan_use": "Edited"})

    response = client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    alfa.loan.refresh_from_db()
    assert alfa.loan.loan_use == "Edited"
    assert alfa.loan.state == RecordState.DRAFT


@pytest.mark.parametrize(
    ("name", "model"),
    [("journal", ("journals", "journal")), ("report", ("repayments", "repaymentreport"))],
)
@pytest.mark.parametrize("who", ["preparer", "superuser"])
def test_sent_journals_and_reports_are_read_only(client, alfa, superuser, name, model, who):
    record = getattr(alfa, name)
    record.state = RecordState.SENT
    record.save()
    client.force_login(superuser if who == "superuser" else alfa.preparer)

    page = client.get(admin_url(*model, "change", record.pk))

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False


@pytest.mark.django_db
def test_the_loan_form_offers_only_kivas_current_reference_values_plus_the_loans_own(client):
    from django.urls import reverse

    from kivaportal.partners.roles import Role
    from tests.factories import ActivityFactory, LoanFactory, member

    loan = LoanFactory()
    retired_own = loan.activity
    retired_own.retired = True
    retired_own.save()
    current = ActivityFactory(partner=loan.partner)
    gone = ActivityFactory(partner=loan.partner, retired=True)
    client.force_login(member(loan.partner, Role.PREPARER))
    page = client.get(reverse("admin:lending_loan_change", args=[loan.pk]))
    choices = set(page.context["adminform"].form.fields["activity"].queryset)
    assert choices == {retired_own, current}
    add = client.get(reverse("admin:lending_loan_add"))
    assert gone not in set(add.context["adminform"].form.fields["activity"].queryset)
