"""Admin lists whose cost does not grow with the table: counts exact up to a cap and estimated
above it, and a partner filter read from the partner table."""

import pytest
from django.db import connection

from kivaportal.common import paging
from kivaportal.partners.models import Membership
from kivaportal.partners.roles import Role
from tests.admin.admin_forms import admin_url
from tests.factories import LoanFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def loan_list(client, user, **params):
    client.force_login(user)
    response = client.get(admin_url("lending", "loan", "changelist"), params)
    assert response.status_code == 200
    return response


def test_loan_list_counts_exactly_up_to_the_cap(client, alfa, monkeypatch):
    monkeypatch.setattr(paging, "EXACT_UP_TO", 5)
    LoanFactory.create_batch(2, partner=alfa.partner, instalments=1)

    response = loan_list(client, alfa.preparer)

    cl = response.context["cl"]
    assert (cl.result_count, cl.paginator.estimated) == (3, False)
    assert "about" not in response.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the estimate is PostgreSQL's")
def test_loan_list_shows_an_estimate_above_the_cap(client, alfa, monkeypatch):
    monkeypatch.setattr(paging, "EXACT_UP_TO", 2)
    LoanFactory.create_batch(3, partner=alfa.partner, instalments=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE lending_loan")

    response = loan_list(client, alfa.preparer)

    cl = response.context["cl"]
    assert cl.paginator.estimated
    assert cl.result_count >= 3  # never fewer than the rows it counted
    assert f"about {cl.result_count}" in response.content.decode()


def test_a_filtered_loan_list_still_counts_exactly(client, alfa, monkeypatch):
    monkeypatch.setattr(paging, "EXACT_UP_TO", 2)
    LoanFactory.create_batch(3, partner=alfa.partner, instalments=1)

    response = loan_list(client, alfa.preparer, q="ALFA-L1")

    assert (response.context["cl"].result_count, response.context["cl"].paginator.estimated) == (
        1,
        False,
    )


def partner_choices(response):
    spec = next(f for f in response.context["cl"].filter_specs if f.field_path == "partner")
    return {name for _pk, name in spec.lookup_choices}


def test_partner_filter_offers_the_users_partners_only(client, alfa, beta):
    Membership.objects.create(user=alfa.preparer, partner=beta.partner, role=Role.PREPARER)
    PartnerFactory(name="Cooperativa Ajena")

    choices = partner_choices(loan_list(client, alfa.preparer))

    assert choices == {alfa.partner.name, beta.partner.name}


def test_partner_filter_offers_a_superuser_every_partner(client, alfa, beta, superuser):
    empty = PartnerFactory(name="Cooperativa Sin Prestamos")

    choices = partner_choices(loan_list(client, superuser))

    assert choices == {alfa.partner.name, beta.partner.name, empty.name}


def test_partner_filter_narrows_the_list(client, alfa, beta, superuser):
    response = loan_list(client, superuser, partner__id__exact=beta.partner.pk)

    assert [loan.mis_loan_id for loan in response.context["cl"].result_list] == ["BETA-L1"]
