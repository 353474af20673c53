"""Partner scoping in the admin: a member of partner ALFA cannot list, open, search or pick the
records of partner BETA, and another partner's record id in a URL is a 404."""

import warnings
from decimal import Decimal

import pytest
from django.core.paginator import UnorderedObjectListWarning

from kivaportal.common.admin import partner_id_of
from kivaportal.lending.models import Loan
from kivaportal.partners.models import Membership
from kivaportal.partners.roles import Role
from tests.admin.admin_forms import admin_url, form_data, form_errors
from tests.admin.conftest import RECORDS, build_side
from tests.factories import LoanFactory, MembershipFactory

pytestmark = pytest.mark.django_db

ALL_RECORDS = sorted(RECORDS)


def record_of(side, name):
    return getattr(side, name)


def result_partners(response):
    return {partner_id_of(obj) for obj in response.context["cl"].result_list}


# Lists -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_RECORDS)
def test_preparer_lists_only_their_partners_records(client, alfa, beta, name):
    client.force_login(alfa.preparer)

    response = client.get(admin_url(*RECORDS[name], "changelist"))

    assert response.status_code == 200
    listed = {obj.pk for obj in response.context["cl"].result_list}
    assert record_of(alfa, name).pk in listed
    assert record_of(beta, name).pk not in listed
    assert result_partners(response) == {alfa.partner.pk}


@pytest.mark.parametrize("name", ALL_RECORDS)
def test_superuser_lists_both_partners_records(client, alfa, beta, superuser, name):
    client.force_login(superuser)

    response = client.get(admin_url(*RECORDS[name], "changelist"))

    assert response.status_code == 200
    assert result_partners(response) >= {alfa.partner.pk, beta.partner.pk}


FILTERED = [name for name in ALL_RECORDS if name != "partner"]  # every list but partners'


@pytest.mark.parametrize("name", FILTERED)
def test_partner_filter_offers_only_the_users_partners(client, alfa, beta, name):
    # The filter shows once there is a choice: give ALFA's preparer a second partner.
    gamma = build_side("GAMMA")
    MembershipFactory(user=alfa.preparer, partner=gamma.partner, role=Role.PREPARER)
    client.force_login(alfa.preparer)

    response = client.get(admin_url(*RECORDS[name], "changelist"))

    [partner_filter] = [
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "field_path", None) == "partner"
    ]
    offered = {pk for pk, _label in partner_filter.lookup_choices}
    assert offered == {alfa.partner.pk, gamma.partner.pk}
    content = response.content.decode()
    assert gamma.partner.name in content
    assert beta.partner.name not in content


def test_superusers_partner_filter_offers_both_partners(client, alfa, beta, superuser):
    client.force_login(superuser)

    response = client.get(admin_url("lending", "loan", "changelist"))

    content = response.content.decode()
    assert alfa.partner.name in content
    assert beta.partner.name in content


# Opening a record by id ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["preparer", "reviewer", "partner_admin"])
@pytest.mark.parametrize("name", ALL_RECORDS)
def test_other_partners_change_page_is_404(client, alfa, beta, name, role):
    client.force_login(getattr(alfa, role))

    response = client.get(admin_url(*RECORDS[name], "change", record_of(beta, name).pk))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ALL_RECORDS)
def test_own_partners_change_page_opens(client, alfa, beta, name):
    client.force_login(alfa.preparer)

    response = client.get(admin_url(*RECORDS[name], "change", record_of(alfa, name).pk))

    assert response.status_code == 200


@pytest.mark.parametrize("name", ALL_RECORDS)
def test_other_partners_history_page_is_404(client, alfa, beta, name):
    client.force_login(alfa.preparer)

    response = client.get(admin_url(*RECORDS[name], "history", record_of(beta, name).pk))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ALL_RECORDS)
def test_other_partners_historical_version_page_is_404(client, alfa, beta, name):
    record = record_of(beta, name)
    version = record.history.latest("history_date")
    client.force_login(alfa.preparer)

    response = client.get(admin_url(*RECORDS[name], "simple_history", record.pk, version.pk))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ALL_RECORDS)
def test_own_partners_history_page_opens(client, alfa, beta, name):
    client.force_login(alfa.preparer)

    response = client.get(admin_url(*RECORDS[name], "history", record_of(alfa, name).pk))

    assert response.status_code == 200


@pytest.mark.parametrize("name", ALL_RECORDS)
def test_other_partners_delete_page_is_404_for_a_preparer(client, alfa, beta, name):
    client.force_login(alfa.preparer)

    response = client.get(admin_url(*RECORDS[name], "delete", record_of(beta, name).pk))

    assert response.status_code == 404


def test_other_partners_membership_delete_page_is_404_for_a_partner_admin(client, alfa, beta):
    client.force_login(alfa.partner_admin)

    response = client.get(admin_url("partners", "membership", "delete", beta.membership.pk))

    assert response.status_code == 404
    assert Membership.objects.filter(pk=beta.membership.pk).exists()


def test_posting_to_other_partners_change_url_is_404_and_changes_nothing(client, alfa, beta):
    client.force_login(alfa.preparer)

    response = client.post(
        admin_url("lending", "loan", "change", beta.loan.pk), {"loan_use": "Hijacked"}
    )

    assert response.status_code == 404
    beta.loan.refresh_from_db()
    assert beta.loan.loan_use != "Hijacked"


def test_reviewer_posting_to_other_partners_change_url_is_404(client, alfa, beta):
    client.force_login(alfa.reviewer)

    response = client.post(
        admin_url("lending", "loan", "change", beta.loan.pk), {"loan_use": "Hijacked"}
    )

    assert response.status_code == 404


# Search ----------------------------------------------------------------------------------

# A term that matches the record of both sides.
SHARED_TERMS = {
    "loan": ["-L1", "Quispe", "-C1"],
    "borrower": ["Quispe", "-C1", "Rosa"],
    "repayment": ["-P1", "-L1", "-C1"],
    "journal": ["Noticias", "-L1"],
    "activity": ["Bordado"],
    "theme": ["Tema"],
    "locale": ["Idioma"],
    "location": ["Pueblo"],
    "membership": ["preparer-"],
    "partner": ["Cooperativa"],
}


@pytest.mark.parametrize(
    ("name", "term"), [(name, term) for name, terms in SHARED_TERMS.items() for term in terms]
)
def test_admin_search_finds_only_the_users_partners_records(client, alfa, beta, name, term):
    if name == "repayment" and term == "-C1":
        for side in (alfa, beta):  # repayments are searched by the borrower they name
            side.repayment.borrower = side.borrower
            side.repayment.save()
    client.force_login(alfa.preparer)

    response = client.get(admin_url(*RECORDS[name], "changelist"), {"q": term})

    assert response.status_code == 200
    assert [obj.pk for obj in response.context["cl"].result_list] == [record_of(alfa, name).pk]


def test_superuser_search_finds_both_partners_records(client, alfa, beta, superuser):
    client.force_login(superuser)

    response = client.get(admin_url("lending", "loan", "changelist"), {"q": "-L1"})

    assert {obj.pk for obj in response.context["cl"].result_list} == {alfa.loan.pk, beta.loan.pk}


# Picking related records in forms --------------------------------------------------------

FORM_CHOICES = [
    ("loan", "partner", "partner"),
    ("loan", "activity", "activity"),
    ("loan", "theme", "theme"),
    ("loan", "description_language", "locale"),
    ("loan", "location", "location"),
    ("repayment", "partner", "partner"),
    ("repayment", "loan", "loan"),
    ("repayment", "borrower", "borrower"),
    ("journal", "partner", "partner"),
    ("journal", "loan", "loan"),
    ("journal", "borrower", "borrower"),
    ("borrower", "partner", "partner"),
]


@pytest.mark.parametrize(("name", "field", "target"), FORM_CHOICES)
def test_foreign_key_choices_hold_only_the_users_partners_records(
    client, alfa, beta, name, field, target
):
    client.force_login(alfa.preparer)

    response = client.get(admin_url(*RECORDS[name], "add"))

    choices = set(response.context["adminform"].form.fields[field].queryset)
    assert record_of(alfa, target) in choices
    assert record_of(beta, target) not in choices


def test_borrower_choices_in_the_loan_form_hold_only_the_users_partners_borrowers(
    client, alfa, beta
):
    client.force_login(alfa.preparer)

    response = client.get(admin_url("lending", "loan", "add"))

    [borrowers_inline] = [
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == "loan_borrowers"
    ]
    choices = set(borrowers_inline.formset.empty_form.fields["borrower"].queryset)
    assert alfa.borrower in choices
    assert beta.borrower not in choices


def new_loan_post(client, partner, borrower, overrides=None):
    """Post the admin's add-loan form with one borrower taking the whole amount."""
    url = admin_url("lending", "loan", "add")
    data = form_data(client.get(url))
    data.update(
        {
            "partner": str(partner.pk),
            "mis_loan_id": "NEW-LOAN",
            "loan_type": "individual",
            "amount": "500.00",
            "currency": "PEN",
            "loan_borrowers-TOTAL_FORMS": "1",
            "loan_borrowers-0-position": "0",
            "loan_borrowers-0-borrower": str(borrower.pk),
            "loan_borrowers-0-amount": "500.00",
        }
    )
    data.update(overrides or {})
    return client.post(url, data)


def test_preparer_can_add_a_loan_with_their_partners_borrower(client, alfa, beta):
    client.force_login(alfa.preparer)

    response = new_loan_post(client, alfa.partner, alfa.borrower)

    assert response.status_code == 302, form_errors(response)
    loan = Loan.objects.get(mis_loan_id="NEW-LOAN")
    assert [lb.borrower for lb in loan.loan_borrowers.all()] == [alfa.borrower]
    assert loan.amount == Decimal("500.00")


def test_submitting_another_partners_borrower_in_the_loan_form_is_refused(client, alfa, beta):
    client.force_login(alfa.preparer)

    response = new_loan_post(client, alfa.partner, beta.borrower)

    assert response.status_code == 200
    assert "loan_borrowers-0-borrower" in form_errors(response)
    assert not Loan.objects.filter(mis_loan_id="NEW-LOAN").exists()


@pytest.mark.parametrize(
    ("field", "target"),
    [
        ("partner", "partner"),
        ("activity", "activity"),
        ("theme", "theme"),
        ("description_language", "locale"),
        ("location", "location"),
    ],
)
def test_submitting_another_partners_value_in_the_loan_form_is_refused(
    client, alfa, beta, field, target
):
    client.force_login(alfa.preparer)

    response = new_loan_post(
        client, alfa.partner, alfa.borrower, {field: str(record_of(beta, target).pk)}
    )

    assert response.status_code == 200
    assert field in form_errors(response)
    assert not Loan.objects.filter(mis_loan_id="NEW-LOAN").exists()


# Autocomplete ----------------------------------------------------------------------------


def autocomplete(client, app_label, model_name, field_name, term):
    return client.get(
        "/admin/autocomplete/",
        {
            "app_label": app_label,
            "model_name": model_name,
            "field_name": field_name,
            "term": term,
        },
    )


AUTOCOMPLETES = [
    ("lending", "loanborrower", "borrower", "Quispe", "borrower"),
    ("lending", "loanborrower", "borrower", "", "borrower"),
    ("repayments", "repayment", "loan", "-L1", "loan"),
    ("repayments", "repayment", "borrower", "-C1", "borrower"),
    ("journals", "journal", "loan", "", "loan"),
    ("journals", "journal", "borrower", "Rosa", "borrower"),
    ("lending", "loan", "partner", "Cooperativa", "partner"),
    ("lending", "loan", "activity", "Bordado", "activity"),
    ("lending", "loan", "location", "Pueblo", "location"),
]


@pytest.mark.parametrize(("app_label", "model_name", "field_name", "term", "target"), AUTOCOMPLETES)
def test_autocomplete_offers_only_the_users_partners_records(
    client, alfa, beta, app_label, model_name, field_name, term, target
):
    client.force_login(alfa.preparer)

    response = autocomplete(client, app_label, model_name, field_name, term)

    assert response.status_code == 200
    ids = [item["id"] for item in response.json()["results"]]
    assert ids == [str(record_of(alfa, target).pk)]


def test_loan_autocomplete_pages_through_every_loan_in_a_stable_order(client, alfa, beta):
    for n in range(25):
        LoanFactory(partner=alfa.partner, mis_loan_id=f"ALFA-X{n:02d}")
    client.force_login(alfa.preparer)

    with warnings.catch_warnings():
        warnings.simplefilter("error", UnorderedObjectListWarning)
        pages = [
            client.get(
                "/admin/autocomplete/",
                {
                    "app_label": "repayments",
                    "model_name": "repayment",
                    "field_name": "loan",
                    "term": "",
                    "page": page,
                },
            ).json()["results"]
            for page in (1, 2)
        ]

    ids = [item["id"] for page in pages for item in page]
    assert sorted(ids) == sorted(
        str(pk) for pk in alfa.partner.loan_set.values_list("pk", flat=True)
    )


def test_superuser_autocomplete_offers_both_partners_borrowers(client, alfa, beta, superuser):
    client.force_login(superuser)

    response = autocomplete(client, "lending", "loanborrower", "borrower", "Quispe")

    ids = {item["id"] for item in response.json()["results"]}
    assert ids == {str(alfa.borrower.pk), str(beta.borrower.pk)}


def test_member_cannot_list_user_accounts_through_autocomplete(client, alfa, beta):
    client.force_login(alfa.partner_admin)

    response = autocomplete(client, "partners", "membership", "user", "")

    assert response.status_code == 403


def test_member_cannot_list_user_accounts(client, alfa, beta):
    client.force_login(alfa.partner_admin)

    response = client.get(admin_url("auth", "user", "changelist"))

    assert response.status_code == 403
