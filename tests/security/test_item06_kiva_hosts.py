"""Item 6, continued: the Kiva hosts allow-list. A partner admin who knows the secret still
cannot point the connection at a host of their own (the form, the service and the command
refuse it, naming KIVA_ALLOWED_HOSTS), and a connection saved with such a host before (or
written around the service) sends nothing there: the client refuses before any byte leaves."""

import io

import pytest
import responses
from django.core.management import CommandError, call_command

from integrations.kiva.client import KivaClient, KivaNotSentError
from integrations.kiva.models import KivaConnection
from tests.admin.admin_forms import admin_url, form_errors

EVIL_TOKEN = "https://collector.attacker.example/oauth/token"
EVIL_API = "https://api.attacker.example/"


def change_url(connection):
    return admin_url("kiva", "kivaconnection", "change", connection.pk)


def test_a_partner_admin_with_the_secret_cannot_move_the_connection_off_kivas_hosts(
    as_user, partner_a
):
    connection = partner_a.kiva_connection
    saved = (connection.environment, connection.token_url, connection.api_base_url)
    client = as_user("pablo.admin")

    for environment in ("stage", "sandbox"):
        response = client.admin_save(
            change_url(connection),
            environment=environment,
            token_url=EVIL_TOKEN,
            api_base_url=EVIL_API,
            client_secret="the-secret-pablo-knows",
        )
        errors = form_errors(response)
        assert {"token_url", "api_base_url"} <= set(errors), (environment, errors)
        assert "collector.attacker.example is not one of Kiva's hosts" in " ".join(
            errors["token_url"]
        )
        assert "KIVA_ALLOWED_HOSTS" in " ".join(errors["api_base_url"])

    stored = KivaConnection.objects.get(pk=connection.pk)
    assert (stored.environment, stored.token_url, stored.api_base_url) == saved


def test_kivas_own_hosts_are_accepted(as_user, partner_a):
    connection = partner_a.kiva_connection
    client = as_user("pablo.admin")

    response = client.admin_save(
        change_url(connection),
        environment="production",
        token_url="https://auth.k1.kiva.org/oauth/token",
        api_base_url="https://partner-api.k1.kiva.org",
        audience="https://partner-api.k1.kiva.org",
        client_secret="the-production-secret",
    )

    assert response.status_code == 302, form_errors(response)
    stored = KivaConnection.objects.get(pk=connection.pk)
    assert stored.token_url == "https://auth.k1.kiva.org/oauth/token"


def test_the_command_refuses_another_host_too(partner_a, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("the-secret\n"))
    with pytest.raises(CommandError, match="KIVA_ALLOWED_HOSTS"):
        call_command(
            "kiva_connect",
            partner="9001",
            environment="stage",
            client_id="x",
            secret_stdin=True,
            token_url=EVIL_TOKEN,
            api_url=EVIL_API,
            audience="x",
        )
    assert partner_a.kiva_connection.token_url != EVIL_TOKEN


def test_a_connection_saved_with_another_host_sends_nothing_there(as_user, partner_a):
    # Written around the service (an old row, a database edit): the client still refuses.
    KivaConnection.objects.filter(partner=partner_a).update(
        environment="stage", token_url=EVIL_TOKEN, api_base_url=EVIL_API
    )
    client = as_user("pablo.admin")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as web:
        web.post(EVIL_TOKEN, json={"access_token": "x", "expires_in": 3600})
        web.get(EVIL_API + "v3/partner/9001/config/activities", json={})
        client.admin_action(
            admin_url("kiva", "kivaconnection", "changelist"),
            "test_connection",
            [partner_a.kiva_connection.pk],
        )
        with pytest.raises(KivaNotSentError, match="KIVA_ALLOWED_HOSTS"):
            KivaClient(KivaConnection.objects.get(partner=partner_a)).token(fresh=True)
        called = [call.request.url for call in web.calls]

    assert called == []  # the secret went nowhere


def test_the_sandbox_host_is_allowed_only_where_the_sandbox_is_enabled(partner_b, settings):
    connection = KivaConnection.objects.get(partner=partner_b)
    settings.KIVA_SANDBOX_ENABLED = False

    with responses.RequestsMock(assert_all_requests_are_fired=False) as web:
        web.post(connection.token_url, json={"access_token": "x", "expires_in": 3600})
        with pytest.raises(KivaNotSentError, match="not one of Kiva's"):
            KivaClient(connection).token(fresh=True)
        assert len(web.calls) == 0


# Kiva's host to Python's URL parser, another host to the HTTP library that sends.
TWO_FACED = [
    "https://collector.attacker.example\\@auth.k1.kiva.org/oauth/token",
    "https://collector.attacker.example\\.auth.k1.kiva.org/oauth/token",
    "https://auth.k1.kiva.org:443@collector.attacker.example/oauth/token",
]


@pytest.mark.parametrize("url", TWO_FACED)
def test_a_url_read_as_kivas_host_by_one_parser_and_not_the_other_is_refused(
    as_user, partner_a, url
):
    connection = partner_a.kiva_connection
    response = as_user("pablo.admin").admin_save(
        change_url(connection), environment="stage", token_url=url, client_secret="s"
    )
    assert "token_url" in form_errors(response)
    assert KivaConnection.objects.get(pk=connection.pk).token_url != url

    # Written around the service: the client sends nothing, the secret goes nowhere.
    KivaConnection.objects.filter(pk=connection.pk).update(environment="stage", token_url=url)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as web:
        web.post("https://collector.attacker.example/oauth/token", json={"access_token": "x"})
        web.post("https://auth.k1.kiva.org/oauth/token", json={"access_token": "x"})
        with pytest.raises(KivaNotSentError):
            KivaClient(KivaConnection.objects.get(pk=connection.pk)).token(fresh=True)
        assert [call.request.url for call in web.calls] == []
