"""The connection in the admin: partner admins only, the secret write-only, a test action."""

import pytest
import responses
from django.urls import reverse

from integrations.kiva.models import KivaConnection
from kivaportal.partners.roles import Role
from tests.factories import KivaConnectionFactory, PartnerFactory, UserFactory, member

pytestmark = pytest.mark.django_db

SECRET = "s3cret&key=with+specials"


@pytest.fixture
def connection():
    return KivaConnectionFactory(partner__kiva_partner_id="145", client_secret=SECRET)


def change_url(connection):
    return reverse("admin:kiva_kivaconnection_change", args=[connection.pk])


@pytest.mark.parametrize("role", [Role.PREPARER, Role.REVIEWER])
def test_preparers_and_reviewers_cannot_see_the_connection(client, connection, role):
    client.force_login(member(connection.partner, role))
    assert client.get(reverse("admin:kiva_kivaconnection_changelist")).status_code == 403
    assert client.get(change_url(connection)).status_code in (403, 404)


def test_partner_admin_of_another_partner_gets_404(client, connection):
    client.force_login(member(PartnerFactory(), Role.PARTNER_ADMIN))
    assert client.get(change_url(connection)).status_code == 404


def test_partner_admin_sees_the_form_but_never_the_secret(client, connection):
    client.force_login(member(connection.partner, Role.PARTNER_ADMIN))
    page = client.get(change_url(connection))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="client_secret"' in html and 'type="password"' in html
    assert SECRET not in html and connection.client_secret_encrypted not in html


def form_data(connection, **changes):
    data = {
        "partner": connection.partner_id,
        "environment": "stage",
        "token_url": connection.token_url,
        "api_base_url": connection.api_base_url,
        "audience": connection.audience,
        "client_id": connection.client_id,
        "client_secret": "",
        "kiva_partner_id": connection.kiva_partner_id,
        "scopes": connection.scopes,
        "journal_path": connection.journal_path,
        "journal_body_style": "wrapped",
        "repayment_batch_size": 200,
        "is_active": "on",
    }
    data.update(changes)
    return data


def test_saving_without_a_secret_keeps_it_and_a_new_one_replaces_it(client, connection):
    client.force_login(member(connection.partner, Role.PARTNER_ADMIN))

    response = client.post(change_url(connection), form_data(connection, client_id="new-id"))
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.client_id, connection.get_client_secret()) == ("new-id", SECRET)

    client.post(change_url(connection), form_data(connection, client_secret="rotated"))
    connection.refresh_from_db()
    assert connection.get_client_secret() == "rotated"
    for version in connection.history.all():
        assert "rotated" not in str(vars(version)) and SECRET not in str(vars(version))


def test_a_new_connection_needs_a_secret(client):
    partner = PartnerFactory()
    client.force_login(member(partner, Role.PARTNER_ADMIN))
    blank = KivaConnection(
        partner=partner,
        token_url="https://auth.kiva.test/oauth/token",
        api_base_url="https://api.kiva.test",
        audience="a",
        client_id="c",
        kiva_partner_id=partner.kiva_partner_id,
    )
    response = client.post(reverse("admin:kiva_kivaconnection_add"), form_data(blank))
    assert response.status_code == 200
    assert "A client secret is required." in response.content.decode()
    assert not KivaConnection.objects.exists()


def test_test_connection_action_reports_what_happened(client, connection):
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    with responses.RequestsMock() as kiva:
        kiva.post(connection.token_url, status=401, json={"error_description": "Unauthorized"})
        response = client.post(
            reverse("admin:kiva_kivaconnection_changelist"),
            {"action": "test_connection", "_selected_action": [connection.pk]},
            follow=True,
        )
    text = response.content.decode()
    assert "Unauthorized" in text
    connection.refresh_from_db()
    assert connection.last_test_ok is False
