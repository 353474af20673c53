"""Item 6: the write-only Kiva secret cannot be taken out. Moving the connection (token URL,
API URL, audience, environment) needs the secret again; outside the sandbox only https; the
connection test sends the secret nowhere but the saved token URL."""

import responses

from integrations.kiva.models import KivaConnection
from tests.admin.admin_forms import admin_url, form_errors

EVIL = "https://collector.attacker.example/token"


def change_url(connection):
    return admin_url("kiva", "kivaconnection", "change", connection.pk)


def test_partner_admin_cannot_point_the_token_url_elsewhere_without_the_secret(as_user, partner_a):
    connection = partner_a.kiva_connection
    saved = connection.token_url
    client = as_user("pablo.admin")

    response = client.admin_save(change_url(connection), token_url=EVIL)

    assert response.status_code == 200
    assert "client secret again" in " ".join(form_errors(response)["client_secret"])
    connection.refresh_from_db()
    assert connection.token_url == saved


def test_api_url_and_audience_need_the_secret_too(as_user, partner_a):
    connection = partner_a.kiva_connection
    client = as_user("pablo.admin")

    for field, value in (
        ("api_base_url", "https://api.attacker.example/"),
        ("audience", "https://api.attacker.example"),
    ):
        response = client.admin_save(change_url(connection), **{field: value})
        assert "client_secret" in form_errors(response), field
    stored = KivaConnection.objects.get(pk=connection.pk)
    assert (stored.api_base_url, stored.audience) == (connection.api_base_url, connection.audience)


def test_connection_test_after_an_attempted_move_sends_the_secret_only_to_the_saved_url(
    as_user, partner_a
):
    connection = partner_a.kiva_connection
    client = as_user("pablo.admin")
    client.admin_save(change_url(connection), token_url=EVIL)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as web:
        web.post(EVIL, json={"access_token": "x", "expires_in": 3600})
        web.post(connection.token_url, status=401, json={"error": "invalid_client"})
        client.admin_action(
            admin_url("kiva", "kivaconnection", "changelist"), "test_connection", [connection.pk]
        )
        called = [call.request.url for call in web.calls]

    assert called == [connection.token_url]


def test_stage_and_production_refuse_plain_http_urls(as_user, partner_a):
    connection = partner_a.kiva_connection
    client = as_user("pablo.admin")

    response = client.admin_save(
        change_url(connection),
        environment="production",
        token_url="http://auth.k1.kiva.org/oauth/token",
        api_base_url="http://partner-api.k1.kiva.org",
        client_secret="the-production-secret",
    )

    errors = form_errors(response)
    assert {"token_url", "api_base_url"} <= set(errors)
    assert KivaConnection.objects.get(pk=connection.pk).environment == "sandbox"


def test_where_the_sandbox_is_off_no_connection_can_use_its_plain_http_urls(
    as_user, partner_b, settings
):
    settings.KIVA_SANDBOX_ENABLED = False
    connection = partner_b.kiva_connection
    client = as_user("moussa.admin")

    response = client.admin_save(
        change_url(connection),
        token_url="http://169.254.169.254/latest/meta-data/",
        client_secret="sandbox-demo-secret-9002",
    )

    assert "environment" in form_errors(response)
    connection.refresh_from_db()
    assert connection.token_url.startswith("http://127.0.0.1")
