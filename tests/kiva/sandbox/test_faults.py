"""Fault injection: each fault as the sandbox serves it, and as the real client meets it over a
real socket (the `kiva_sandbox` fixture)."""

import time

import pytest

from integrations.kiva.client import KivaClient
from integrations.kiva.errors import KivaAmbiguousError, KivaRetryableError
from integrations.kiva.sandbox.models import SandboxLoan, SandboxPartner, SandboxRequest
from integrations.kiva.sandbox.services import sandbox_faults_set
from tests.factories import PartnerFactory
from tests.kiva.fixtures import sandbox_partner

from .conftest import draft

# -- in-process: the sandbox's answers -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", [500, 502, 503])
def test_error_share_answers_the_configured_status(kiva, partner, status):
    token = kiva.token()
    sandbox_faults_set(partner=partner, error_share=1.0, error_statuses=str(status))
    response = kiva.post("loan_draft", draft(), token)
    assert response.status_code == status
    assert not SandboxLoan.objects.exists()  # refused before doing anything
    assert SandboxRequest.objects.order_by("id").last().fault == "error"


@pytest.mark.django_db
def test_rate_limit_answers_429_with_retry_after(kiva, partner):
    token = kiva.token()
    sandbox_faults_set(partner=partner, rate_limit_share=1.0, retry_after=17)
    response = kiva.get("loans", token)
    assert response.status_code == 429 and response["Retry-After"] == "17"


@pytest.mark.django_db
def test_faults_remaining_counts_faults_down_then_they_stop(kiva, partner):
    token = kiva.token()
    sandbox_faults_set(partner=partner, error_share=1.0, faults_remaining=2)
    statuses = [kiva.get("loans", token).status_code for _ in range(3)]
    assert statuses[:2] != [200, 200] and statuses[2] == 200
    assert SandboxPartner.objects.get().faults_remaining == 0


@pytest.mark.django_db
def test_faults_target_the_api_and_leave_the_token_endpoint_alone_by_default(kiva, partner):
    sandbox_faults_set(partner=partner, error_share=1.0)
    assert kiva.token_response().status_code == 200
    sandbox_faults_set(partner=partner, fault_target="token")
    assert kiva.token_response().status_code >= 500


@pytest.mark.django_db
def test_latency_delays_the_answer(kiva, partner):
    token = kiva.token()
    sandbox_faults_set(partner=partner, latency_ms=300)
    started = time.monotonic()
    assert kiva.get("loans", token).status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.django_db
def test_reset_mounted_in_the_portal_becomes_a_502_after_processing(kiva, partner):
    token = kiva.token()
    sandbox_faults_set(partner=partner, reset_share=1.0)
    response = kiva.post("loan_draft", draft(), token)
    assert response.status_code == 502
    assert SandboxLoan.objects.count() == 1


# -- over a real socket: what the client makes of each fault ---------------------------------


@pytest.fixture
def live(kiva_sandbox):
    partner = PartnerFactory(kiva_partner_id="145")
    sandboxed, connection = sandbox_partner(partner, kiva_sandbox.url)
    return sandboxed, connection


def test_hang_past_the_read_timeout_is_ambiguous_and_the_draft_exists(live):
    sandboxed, connection = live
    connection.read_timeout = 0.5
    client = KivaClient(connection)
    client.token()
    sandbox_faults_set(partner=sandboxed, hang_share=1.0, hang_seconds=1.5, faults_remaining=1)

    with pytest.raises(KivaAmbiguousError, match="No answer"):
        client.create_loan_draft(_draft_for_live())

    # Kiva did create it: exactly why a timeout after sending must not be retried blindly.
    time.sleep(1.2)  # let the hanging thread finish before the test's data is flushed
    assert client.loans()["total_records"] == 1


def test_connection_reset_after_sending_is_ambiguous_for_a_post(live):
    sandboxed, connection = live
    client = KivaClient(connection)
    client.token()
    sandbox_faults_set(partner=sandboxed, reset_share=1.0, faults_remaining=1)

    with pytest.raises(KivaAmbiguousError, match="broke"):
        client.create_loan_draft(_draft_for_live())

    assert client.loans()["total_records"] == 1


def test_get_survives_a_reset_a_503_and_a_429_by_retrying(live):
    sandboxed, connection = live
    slept = []
    client = KivaClient(connection, sleep=slept.append)
    client.token()

    sandbox_faults_set(partner=sandboxed, reset_share=1.0, faults_remaining=1)
    assert client.config_list("activities") is not None
    sandbox_faults_set(partner=sandboxed, reset_share=0.0, error_share=1.0, error_statuses="503")
    sandbox_faults_set(partner=sandboxed, faults_remaining=1)
    assert client.config_list("themes") is not None
    sandbox_faults_set(partner=sandboxed, error_share=0.0, rate_limit_share=1.0, retry_after=2)
    sandbox_faults_set(partner=sandboxed, faults_remaining=1)
    assert client.config_list("locales") is not None

    assert slept == [0.5, 0.5, 2.0]


def test_post_answered_503_is_retryable_and_nothing_was_created(live):
    sandboxed, connection = live
    client = KivaClient(connection)
    client.token()
    sandbox_faults_set(partner=sandboxed, error_share=1.0, error_statuses="503")

    with pytest.raises(KivaRetryableError):
        client.create_loan_draft(_draft_for_live())
    assert not SandboxLoan.objects.exists()


def test_early_token_expiry_is_handled_with_one_fresh_token(live):
    sandboxed, connection = live
    client = KivaClient(connection)
    client.token()
    # Token times are whole seconds (JWT `iat`): two seconds leave the fresh token valid
    # however close to a second's end it is issued.
    sandbox_faults_set(partner=sandboxed, token_valid_seconds=2)
    time.sleep(2.1)

    assert client.config_list("activities") is not None

    statuses = list(
        SandboxRequest.objects.order_by("id").values_list("path", "status")[1:]  # after 1st token
    )
    assert [s for _p, s in statuses] == [401, 200, 200]
    assert statuses[1][0].endswith("oauth/token")


def _draft_for_live():
    # The live partner's reference data comes from the portal's (empty) lists: a draft with
    # no reference ids and one borrower is still a valid draft.
    body = draft()
    for field in ("activity_id", "description_language_id", "currency", "location"):
        del body[field]
    return body
