"""The Kiva client against HTTP faked at the seam (`responses`): tokens, retries, error types."""

import logging
import socket
import time
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.core.cache import caches

import kivaportal
from integrations.kiva.client import KivaClient
from integrations.kiva.errors import (
    KivaAmbiguousError,
    KivaAuthError,
    KivaPermanentError,
    KivaRetryableError,
)
from integrations.kiva.token_cache import Token
from tests.factories import KivaConnectionFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://auth.kiva.test/oauth/token"
API = "https://api.kiva.test/v3/partner/{pid}/"


def token_json(n=1, expires_in=43199):
    return {
        "access_token": f"token-{n}",
        "token_type": "bearer",
        "expires_in": expires_in,
        "scope": "read:loans create:loan_draft create:repayment create:journal_update",
        "partnerId": "145",
        "jti": f"j{n}",
    }


@pytest.fixture
def connection():
    return KivaConnectionFactory(partner__kiva_partner_id="145")


@pytest.fixture
def slept():
    return []


@pytest.fixture
def client(connection, slept):
    return KivaClient(connection, sleep=slept.append)


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def url(path):
    return API.format(pid="145") + path


def activities(items=None):
    return {
        "as_of_date_time": "2026-11-01T00:00:00Z",
        "activities": items or [{"activity_id": 1, "activity": "Agriculture"}],
        "code": "api.success",
        "message": "ok",
    }


def test_token_request_is_a_properly_form_encoded_client_credentials_grant(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("config/activities"), json=activities())

    client.config_list("activities")

    request = fake.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body) == {
        "grant_type": ["client_credentials"],
        "client_id": ["portal-client"],
        "client_secret": ["s3cret&key=with+specials"],
        "audience": ["https://api.kiva.test"],
        "scope": ["read:loans create:loan_draft create:repayment create:journal_update"],
    }


def test_api_calls_carry_bearer_token_accept_and_portal_user_agent(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("config/activities"), json=activities())

    client.config_list("activities")

    headers = fake.calls[1].request.headers
    assert headers["Authorization"] == "Bearer token-1"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith(f"KivaPartnerPortal/{kivaportal.__version__}")


def test_every_request_has_connect_and_read_timeouts(connection, settings, fake):
    settings.KIVA_CONNECT_TIMEOUT, settings.KIVA_READ_TIMEOUT = 3.0, 20.0
    connection.read_timeout = 7.5
    seen = []

    class Session(requests.Session):
        def request(self, *args, **kwargs):
            seen.append(kwargs["timeout"])
            return super().request(*args, **kwargs)

    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("config/activities"), json=activities())
    KivaClient(connection, session=Session()).config_list("activities")

    assert seen == [(3.0, 7.5), (3.0, 7.5)]


def test_two_clients_share_one_token_through_the_cache(connection, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("config/activities"), json=activities())

    KivaClient(connection).config_list("activities")
    KivaClient(connection).config_list("activities")

    token_calls = [c for c in fake.calls if c.request.url == TOKEN_URL]
    assert len(token_calls) == 1
    assert fake.calls[2].request.headers["Authorization"] == "Bearer token-1"


def test_token_is_shared_through_redis_across_separate_cache_clients(connection, settings, fake):
    """Two cache backends on the same Redis database stand for two processes."""
    settings.CACHES = {
        **settings.CACHES,
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/3",
            "KEY_PREFIX": f"kp-test-{time.time_ns()}",
        },
    }
    fake.add_passthru("redis://")
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("config/activities"), json=activities())
    try:
        KivaClient(connection, cache_alias="shared").config_list("activities")
        caches["shared"].close()  # a new connection, as another process would have
        KivaClient(connection, cache_alias="shared").config_list("activities")
        stored = [caches["shared"].get(k) for k in (KivaClient(connection).tokens.key,)]
    finally:
        caches["shared"].clear()

    assert len([c for c in fake.calls if c.request.url == TOKEN_URL]) == 1
    assert "token-1" not in str(stored)  # kept encrypted in the cache


def test_token_is_renewed_before_it_expires(connection, settings, fake):
    settings.KIVA_TOKEN_RENEW_MARGIN = 300
    fake.post(TOKEN_URL, json=token_json(1, expires_in=200))  # renew point: 20 s before expiry
    fake.get(url("config/activities"), json=activities())
    client = KivaClient(connection)
    client.config_list("activities")
    cached = client.tokens.get()
    assert cached is not None and cached.renew_at == pytest.approx(cached.expires_at - 20)

    fake.replace(responses.POST, TOKEN_URL, json=token_json(2))
    # Pretend the renew point has passed for the cached token.
    now = time.time()
    stale = cached.__class__(**{**cached.__dict__, "issued_at": now - 3600, "expires_at": now + 60})
    client.tokens.put(stale)
    client.config_list("activities")

    assert fake.calls[-1].request.headers["Authorization"] == "Bearer token-2"


def test_an_edited_connection_never_uses_the_old_token(connection, fake):
    fake.post(TOKEN_URL, json=token_json(1))
    fake.get(url("config/activities"), json=activities())
    KivaClient(connection).config_list("activities")

    connection.set_client_secret("a-new-secret")
    fake.replace(responses.POST, TOKEN_URL, json=token_json(2))
    KivaClient(connection).config_list("activities")

    assert fake.calls[-1].request.headers["Authorization"] == "Bearer token-2"


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_gets_one_fresh_token_and_one_retry(client, fake, status):
    fake.post(TOKEN_URL, json=token_json(1))
    fake.post(TOKEN_URL, json=token_json(2))
    fake.post(url("loan_draft"), status=status, json={"message": "expired"})
    fake.post(url("loan_draft"), json={"loan_draft_uuid": "u-1"})

    response = client.create_loan_draft({"entreps": []})

    assert response.data == {"loan_draft_uuid": "u-1"}
    drafts = [c.request for c in fake.calls if c.request.url.endswith("loan_draft")]
    assert [r.headers["Authorization"] for r in drafts] == ["Bearer token-1", "Bearer token-2"]


def test_refused_twice_is_a_permanent_auth_error(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.post(url("repayments"), status=403, json={"message": "missing scope create:repayment"})

    with pytest.raises(KivaAuthError) as caught:
        client.post_repayments({"repayments": []})

    assert caught.value.status == 403
    assert caught.value.message == "missing scope create:repayment"
    assert len([c for c in fake.calls if c.request.url.endswith("repayments")]) == 2


def test_wrong_credentials_are_an_auth_error_with_kivas_description(client, fake):
    fake.post(
        TOKEN_URL,
        status=401,
        json={"error": "access_denied", "error_description": "Unauthorized"},
    )
    with pytest.raises(KivaAuthError, match="Unauthorized"):
        client.config_list("activities")


def test_validation_error_is_permanent_and_keeps_status_message_and_body(client, fake):
    body = '{"code": "api.validation_error", "message": "entreps[0].amount must be a number"}'
    fake.post(TOKEN_URL, json=token_json())
    fake.post(url("loan_draft"), status=400, body=body, content_type="application/json")

    with pytest.raises(KivaPermanentError) as caught:
        client.create_loan_draft({"entreps": []})

    assert not isinstance(caught.value, KivaAuthError)
    assert (caught.value.status, caught.value.body) == (400, body)
    assert caught.value.message == "entreps[0].amount must be a number"


def test_text_error_body_is_kept_as_the_message(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.post(url("loan_draft"), status=409, body="Duplicate loan")
    with pytest.raises(KivaPermanentError, match="Duplicate loan"):
        client.create_loan_draft({})


def test_get_is_retried_on_503_honouring_retry_after(client, fake, slept):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("config/activities"), status=503, headers={"Retry-After": "7"})
    fake.get(url("config/activities"), status=429, headers={"Retry-After": "2"})
    fake.get(url("config/activities"), json=activities())

    assert client.config_list("activities") == activities()["activities"]
    assert slept == [7.0, 2.0]


@pytest.mark.parametrize("status", [502, 504])
def test_get_is_retried_on_gateway_errors_with_backoff(client, fake, slept, status):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("loans"), status=status)
    fake.get(url("loans"), json={"total_records": 0, "data": []})

    assert client.loans() == {"total_records": 0, "data": []}
    assert slept == [0.5]


def test_get_is_retried_on_connection_errors_then_gives_up_as_retryable(client, fake, slept):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("loans"), body=requests.ConnectionError("connection reset"))

    with pytest.raises(KivaRetryableError):
        client.loans()
    assert slept == [0.5, 1.0, 2.0]  # KIVA_GET_ATTEMPTS = 4


def test_get_is_retried_on_500_too_a_get_changes_nothing(client, fake, slept):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("loans"), status=500)
    fake.get(url("loans"), json={"total_records": 0, "data": []})
    assert client.loans() == {"total_records": 0, "data": []}
    assert slept == [0.5]


def test_get_answered_500_every_time_gives_up_as_retryable(client, fake, slept):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("loans"), status=500)
    with pytest.raises(KivaRetryableError) as caught:
        client.loans()
    assert caught.value.status == 500 and slept == [0.5, 1.0, 2.0]


def test_retry_after_longer_than_the_maximum_is_raised_not_slept(client, fake, slept, settings):
    settings.KIVA_RETRY_AFTER_MAX = 60
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("loans"), status=429, headers={"Retry-After": "3600"})
    with pytest.raises(KivaRetryableError) as caught:
        client.loans()
    assert caught.value.retry_after == 3600 and slept == []


@pytest.mark.parametrize("status", [429, 503])
def test_post_refused_for_a_transient_reason_is_retryable_and_not_retried(client, fake, status):
    fake.post(TOKEN_URL, json=token_json())
    fake.post(url("loan_draft"), status=status, headers={"Retry-After": "30"})

    with pytest.raises(KivaRetryableError) as caught:
        client.create_loan_draft({})

    assert (caught.value.status, caught.value.retry_after) == (status, 30.0)
    assert len([c for c in fake.calls if c.request.url.endswith("loan_draft")]) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_post_server_error_is_ambiguous(client, fake, status):
    fake.post(TOKEN_URL, json=token_json())
    fake.post(url("loan_draft"), status=status)
    with pytest.raises(KivaAmbiguousError):
        client.create_loan_draft({})
    assert len([c for c in fake.calls if c.request.url.endswith("loan_draft")]) == 1


def test_post_read_timeout_is_ambiguous(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.post(url("journals"), body=requests.ReadTimeout("read timed out"))
    with pytest.raises(KivaAmbiguousError):
        client.post_journals({"journals": []})


def test_post_connection_broken_after_sending_is_ambiguous(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.post(url("repayments"), body=requests.ConnectionError("Connection aborted."))
    with pytest.raises(KivaAmbiguousError):
        client.post_repayments({"repayments": []})


def test_post_success_with_unreadable_body_is_ambiguous(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.post(url("loan_draft"), body="<html>ok</html>")
    with pytest.raises(KivaAmbiguousError, match="not JSON"):
        client.create_loan_draft({})


def test_connection_refused_is_retryable_even_for_a_post(connection):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    connection.token_url = f"http://127.0.0.1:{port}/oauth/token"
    connection.api_base_url = f"http://127.0.0.1:{port}/"
    client = KivaClient(connection, sleep=lambda s: None)
    # A token already cached, so the refused connection is the API call's own.
    client.tokens.put(Token("t", time.time(), time.time() + 3600, "", "145"))
    with pytest.raises(KivaRetryableError, match="Could not connect"):
        client.create_loan_draft({})


def test_redirect_is_a_permanent_error_naming_the_new_location(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.post(url("loan_draft"), status=301, headers={"Location": "https://new.kiva.test/"})
    with pytest.raises(KivaPermanentError, match="new.kiva.test"):
        client.create_loan_draft({})


def test_all_loans_reads_every_page_with_at_most_the_page_size(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("loans"), json={"total_records": 3, "data": [{"kiva_id": 1}, {"kiva_id": 2}]})
    fake.get(url("loans"), json={"total_records": 3, "data": [{"kiva_id": 3}]})

    loans = client.all_loans(status="payingBack", page_size=2)

    assert [loan["kiva_id"] for loan in loans] == [1, 2, 3]
    queries = [parse_qs(c.request.url.split("?")[1]) for c in fake.calls[1:]]
    assert queries[0] == {"offset": ["0"], "limit": ["2"], "status": ["payingBack"]}
    assert queries[1]["offset"] == ["2"]


def test_page_size_above_300_is_refused_before_sending(client):
    with pytest.raises(ValueError):
        client.loans(limit=301)


def test_journals_go_to_the_connections_configured_path(connection, fake):
    connection.journal_path = "v3/partners/{partner_id}/journals"
    fake.post(TOKEN_URL, json=token_json())
    fake.post("https://api.kiva.test/v3/partners/145/journals", status=201, json={"ok": 1})

    assert KivaClient(connection).post_journals([]).status == 201


def test_post_body_is_sent_as_exact_utf8_json(client, fake):
    from decimal import Decimal

    fake.post(TOKEN_URL, json=token_json())
    fake.post(url("loan_draft"), json={"loan_draft_uuid": "u"})
    client.create_loan_draft({"location": "Ñuñoa: Chile", "amount": Decimal("1200.50")})

    request = fake.calls[1].request
    assert request.body == '{"location": "Ñuñoa: Chile", "amount": 1200.50}'.encode()
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"


def test_logs_carry_path_and_status_but_never_secret_or_token(client, fake, caplog):
    caplog.set_level(logging.DEBUG)
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("loans"), json={"total_records": 0, "data": []})
    client.loans(query="Rosa Quispe")

    text = caplog.text
    assert "v3/partner/145/loans" in text and "200" in text
    for secret in ("s3cret", "token-1", "Rosa"):
        assert secret not in text


def test_all_loans_without_a_total_stops_at_a_short_page(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(url("loans"), json={"data": [{"kiva_id": 1}, {"kiva_id": 2}]})
    fake.get(url("loans"), json={"data": [{"kiva_id": 3}]})
    assert len(client.all_loans(page_size=2)) == 3


def test_loan_pages_yield_typed_pages_from_an_offset_to_the_total(client, fake):
    fake.post(TOKEN_URL, json=token_json())
    fake.get(
        url("loans"),
        json={"total_records": 5, "data": [{"kiva_id": 3, "status": "payingBack"}, "junk"]},
    )
    fake.get(url("loans"), json={"total_records": 5, "data": [{"kiva_id": 5, "uuid": "A-B"}]})

    pages = list(client.loan_pages(status="payingBack", offset=2, page_size=2))

    assert [(offset, page.received, page.unreadable) for offset, page in pages] == [
        (2, 2, 1),
        (4, 1, 0),
    ]
    assert pages[0][1].loans[0].status == "payingBack" and pages[1][1].loans[0].uuid == "a-b"
    queries = [parse_qs(c.request.url.split("?")[1]) for c in fake.calls[1:]]
    assert [q["offset"] for q in queries] == [["2"], ["4"]]
