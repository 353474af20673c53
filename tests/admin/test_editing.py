"""The admin as staff edit in it: a record's choices come from its own partner's current
reference lists, amounts read and type as the user's language writes them, and the way back
to the record's review page is one click."""

from decimal import Decimal

import pytest
from django.urls import reverse

from kivaportal.lending.models import Loan
from kivaportal.partners.models import Membership
from kivaportal.partners.roles import Role
from tests.admin.admin_forms import admin_url, form_data, form_errors
from tests.factories import ActivityFactory, LoanFactory, UserFactory
from tests.photos import camera_photo_bytes, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_partner_preparer(alfa, beta):
    Membership.objects.create(user=alfa.preparer, partner=beta.partner, role=Role.PREPARER)
    return alfa.preparer


def choices(response, field):
    return {
        str(label) for _value, label in response.context["adminform"].form.fields[field].choices
    }


def test_a_loans_choices_are_its_own_partners_current_reference_lists(
    client, alfa, beta, two_partner_preparer
):
    ActivityFactory(partner=alfa.partner, name="Retirada ALFA", retired=True)
    client.force_login(two_partner_preparer)

    page = client.get(admin_url("lending", "loan", "change", alfa.loan.pk))

    assert choices(page, "activity") == {"---------", "Bordado ALFA"}
    assert choices(page, "theme") == {"---------", "Tema ALFA"}
    assert str(beta.location) not in choices(page, "location")
    assert choices(page, "partner") == {"---------", "Cooperativa Alfa"}


def test_another_partners_borrower_is_refused_in_a_loans_inline(
    client, alfa, beta, two_partner_preparer
):
    client.force_login(two_partner_preparer)
    url = admin_url("lending", "loan", "change", alfa.loan.pk)
    data = form_data(client.get(url))
    data["loan_borrowers-0-borrower"] = str(beta.borrower.pk)

    response = client.post(url, data)

    assert response.status_code == 200
    assert "loan_borrowers-0-borrower" in form_errors(response)


def test_a_new_record_starts_with_its_partner_when_the_user_has_several(
    client, alfa, beta, two_partner_preparer
):
    client.force_login(two_partner_preparer)
    add = admin_url("lending", "loan", "add")

    chooser = client.get(add).content.decode()
    assert f'href="?partner={alfa.partner.pk}"' in chooser
    assert f'href="?partner={beta.partner.pk}"' in chooser

    form = client.get(f"{add}?partner={beta.partner.pk}")
    assert choices(form, "activity") == {"---------", "Bordado BETA"}
    assert form.context["adminform"].form.initial["partner"] == str(beta.partner.pk)


def test_a_user_of_one_partner_gets_the_form_straight_away(client, alfa, beta):
    client.force_login(alfa.preparer)
    form = client.get(admin_url("lending", "loan", "add"))
    assert choices(form, "activity") == {"---------", "Bordado ALFA"}


@pytest.mark.parametrize(
    ("language", "currency", "amount", "shown"),
    [
        ("en", "PEN", Decimal("800"), "800.00"),
        ("es", "PEN", Decimal("800"), "800,00"),
        ("fr", "PEN", Decimal("1234.5"), "1234,50"),
        ("en", "XOF", Decimal("400000"), "400000"),
    ],
)
def test_amounts_show_in_the_currencys_precision_and_the_users_language(
    client, alfa, language, currency, amount, shown
):
    loan = LoanFactory(partner=alfa.partner, amount=amount, currency=currency, instalments=1)
    client.force_login(alfa.preparer)
    client.cookies["django_language"] = language

    html = client.get(admin_url("lending", "loan", "change", loan.pk)).content.decode()

    assert f'name="amount" value="{shown}"' in html
    assert f'name="schedule-0-principal" value="{shown}"' in html


def test_an_amount_typed_with_a_decimal_comma_in_spanish_is_saved(client, alfa):
    client.force_login(alfa.preparer)
    client.cookies["django_language"] = "es"
    url = admin_url("lending", "loan", "change", alfa.loan.pk)
    data = form_data(client.get(url))
    data["amount"] = "1234,50"

    response = client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    assert Loan.objects.get(pk=alfa.loan.pk).amount == Decimal("1234.50")


def test_save_and_return_to_review_goes_back_to_the_records_page(client, alfa):
    client.force_login(alfa.preparer)
    url = admin_url("lending", "loan", "change", alfa.loan.pk)
    review = reverse("review:record", args=[alfa.partner.pk, "loans", alfa.loan.pk])
    page = client.get(url)
    assert f'href="{review}"' in page.content.decode()  # the way back without saving
    data = form_data(page)
    data["loan_use"] = "Para comprar semillas."
    data["_review"] = "Save and return to review"

    response = client.post(url, data)

    assert response.status_code == 302, form_errors(response)
    assert response.url == review
    record_page = client.get(review).content.decode()
    assert f'href="{url}"' in record_page  # Edit opens this form


def test_a_photo_over_the_limit_is_refused_with_the_limit_named(client, alfa, settings):
    settings.PORTAL_PHOTO_MAX_MB = 0.001
    client.force_login(alfa.preparer)
    url = admin_url("lending", "loan", "change", alfa.loan.pk)
    data = form_data(client.get(url))
    data["photo"] = upload(camera_photo_bytes((200, 150)))  # over 1 kB

    response = client.post(url, data)

    assert response.status_code == 200
    assert "the largest accepted is 0.001 MB" in str(form_errors(response)["photo"])


def test_partner_members_log_in_at_the_admins_login_page(client, alfa):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": alfa.preparer.username, "password": "secret-pass-123"},
    )
    assert response.status_code == 302
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_an_account_without_a_partner_is_told_so_at_the_admins_login(client, db):
    UserFactory(username="nobody")
    response = client.post("/admin/login/", {"username": "nobody", "password": "secret-pass-123"})
    assert response.status_code == 200
    assert "not a member of any partner" in response.content.decode()


def test_the_admin_carries_the_portals_navigation(client, alfa):
    client.force_login(alfa.preparer)
    html = client.get("/admin/").content.decode()
    assert f'href="{reverse("review:home")}"' in html
    assert f'href="{reverse("review:audit")}"' in html
    assert 'name="language"' in html


def test_a_loans_borrower_box_suggests_only_its_partners_borrowers(
    client, alfa, beta, two_partner_preparer
):
    client.force_login(two_partner_preparer)
    html = client.get(admin_url("lending", "loan", "change", alfa.loan.pk)).content.decode()
    assert f'data-ajax--url="/admin/autocomplete/?partner={alfa.partner.pk}"' in html

    found = client.get(
        "/admin/autocomplete/",
        {
            "partner": alfa.partner.pk,
            "term": "Rosa",
            "app_label": "lending",
            "model_name": "loanborrower",
            "field_name": "borrower",
        },
    ).json()["results"]

    assert [r["text"] for r in found] == [str(alfa.borrower)]
