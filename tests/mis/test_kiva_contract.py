"""Kiva's documented requests, replayed against the portal's intake API: an MIS built for Kiva's
Partner API changes only its base URLs and credentials (issue 12). Token, config lists, loans
paging, loan draft, repayments, journals, and each error, as docs/kiva.md describes Kiva's."""

import base64
import copy
import time

import pytest

from integrations.mis import oauth
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan
from kivaportal.partners.roles import Role
from kivaportal.reference.models import Activity
from kivaportal.repayments.models import Repayment
from kivaportal.workflow.models import AuditEntry
from tests.factories import LoanFactory, PartnerFactory, member, mis_client
from tests.mis.api import LOAN_DRAFT

TOKEN_URL = "/api/intake/v1/oauth/token"
BASE = "/api/intake/v1/v3/partner"
AUDIENCE = "https://partner-api.k1.kiva.org"  # what an MIS configured for Kiva still sends


@pytest.fixture
def owner(partner):
    return member(partner, Role.PREPARER)


@pytest.fixture
def credentials(partner, owner):
    row, secret = mis_client(partner, owner=owner)
    return row, secret


def ask_token(client, client_id, secret, scope="create:loan_draft read:loans", **extra):
    # Kiva's documented token request: a form-encoded client-credentials grant.
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "audience": AUDIENCE,
        "scope": scope,
        **extra,
    }
    return client.post(TOKEN_URL, form)


@pytest.fixture
def token(client, credentials):
    row, secret = credentials
    scope = "read:loans create:loan_draft create:repayment create:journal_update"
    return ask_token(client, row.client_id, secret, scope=scope).json()["access_token"]


def call(client, method, path, token=None, body=None, **params):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    headers["HTTP_ACCEPT"] = "application/json"
    if method == "GET":
        return client.get(path, params, **headers)
    import json

    return getattr(client, method.lower())(
        path, data=json.dumps(body), content_type="application/json", **headers
    )


def under(partner, rest):
    return f"{BASE}/{partner.kiva_partner_id}/{rest}"


# -- token ---------------------------------------------------------------------------------


def test_a_kiva_token_request_gets_kivas_token_answer(client, partner, credentials):
    row, secret = credentials
    response = ask_token(client, row.client_id, secret)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "scope",
        "iss",
        "partnerId",
        "jti",
    }
    assert (body["token_type"], body["expires_in"]) == ("bearer", 43199)
    assert body["scope"] == "create:loan_draft read:loans"
    assert body["partnerId"] == str(partner.kiva_partner_id)
    assert isinstance(body["partnerId"], str)
    assert response["Cache-Control"] == "no-store"
    # A JWT whose claims say what the answer says, for clients that read them.
    claims = body["access_token"].split(".")[1]
    assert f'"jti":"{body["jti"]}"' in base64.urlsafe_b64decode(claims + "==").decode()


def test_the_granted_scope_is_the_intersection_of_asked_and_allowed(client, partner):
    row, secret = mis_client(partner, scopes=["read:loans", "create:repayment"])
    response = ask_token(client, row.client_id, secret, scope="create:loan_draft read:loans")
    assert response.json()["scope"] == "read:loans"
    everything = ask_token(client, row.client_id, secret, scope="")
    assert everything.json()["scope"] == "create:repayment read:loans"
    none = ask_token(client, row.client_id, secret, scope="create:journal_update")
    assert none.status_code == 403 and none.json()["error"] == "access_denied"


def test_client_credentials_may_come_in_http_basic(client, credentials):
    row, secret = credentials
    basic = base64.b64encode(f"{row.client_id}:{secret}".encode()).decode()
    response = client.post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 200


def test_wrong_unknown_revoked_or_expired_clients_get_one_401(client, partner):
    from django.utils import timezone

    row, secret = mis_client(partner)
    expired, expired_secret = mis_client(partner, expires_at=timezone.now())
    revoked, revoked_secret = mis_client(partner, revoked_at=timezone.now())
    answers = [
        ask_token(client, row.client_id, secret + "x"),
        ask_token(client, "kpc_unknown", secret),
        ask_token(client, expired.client_id, expired_secret),
        ask_token(client, revoked.client_id, revoked_secret),
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.content for a in answers}) == 1
    assert answers[0].json()["error"] == "access_denied"


def test_only_the_client_credentials_grant(client, credentials):
    row, secret = credentials
    response = ask_token(client, row.client_id, secret, grant_type="password")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_token_is_refused_after_it_expires(client, partner, token, monkeypatch):
    assert call(client, "GET", under(partner, "loans"), token).status_code == 200
    later = time.time() + 43200
    monkeypatch.setattr(oauth.time, "time", lambda: later)
    response = call(client, "GET", under(partner, "loans"), token)
    assert response.status_code == 401
    assert response.json()["code"] == "api.unauthorized"


def test_revoking_the_client_stops_its_tokens_at_once(client, partner, credentials, token):
    from django.utils import timezone

    row, _secret = credentials
    row.revoked_at = timezone.now()
    row.save()
    assert call(client, "GET", under(partner, "loans"), token).status_code == 401


def test_a_token_whose_owner_left_the_partner_is_refused(client, partner, owner, token):
    owner.memberships.update(is_active=False)
    assert call(client, "GET", under(partner, "loans"), token).status_code == 401


def test_a_tampered_token_is_refused(client, partner, token):
    head, body, signature = token.split(".")
    forged = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(body + "==").replace(b"read:loans", b"read:loanz")
    ).decode()
    for bad in (f"{head}.{forged.rstrip('=')}.{signature}", token[:-2], "a.b.c", "x"):
        assert call(client, "GET", under(partner, "loans"), bad).status_code == 401


# -- reads ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "item"),
    [
        ("activities", {"activity_id": 7120}),
        ("themes", {"theme_type_id": 7007}),
        ("locales", {"language_id": 7002, "currency": "PEN"}),
        ("locations", {"full_name": "Pisac: Peru", "country": "Peru", "location": "Pisac"}),
    ],
)
def test_each_config_list_in_kivas_envelope(client, partner, token, name, item):
    response = call(client, "GET", under(partner, f"config/{name}"), token)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"as_of_date_time", name, "code", "message"}
    assert body["code"] == "api.success" and body["as_of_date_time"].endswith("Z")
    (found,) = body[name]
    assert item.items() <= found.items()


def test_retired_reference_values_are_not_listed(client, partner, token):
    Activity.objects.filter(partner=partner).update(retired=True)
    body = call(client, "GET", under(partner, "config/activities"), token).json()
    assert body["activities"] == []


def test_loans_page_as_kiva_pages_them(client, partner, token):
    LoanFactory.create_batch(23, partner=partner, photo=None)
    first = call(client, "GET", under(partner, "loans"), token).json()
    assert first["total_records"] == 23 and len(first["data"]) == 20
    rest = call(client, "GET", under(partner, "loans"), token, offset=20, limit=300).json()
    assert len(rest["data"]) == 3
    seen = [item["internal_loan_id"] for item in first["data"] + rest["data"]]
    assert sorted(seen) == sorted(Loan.objects.values_list("mis_loan_id", flat=True))


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 301}, "limit"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset"),
     ({"limit": "ten"}, "limit"), ({"status": "lost"}, "status")],
)  # fmt: skip
def test_bad_paging_or_status_is_a_400_naming_the_parameter(client, partner, token, params, field):
    response = call(client, "GET", under(partner, "loans"), token, **params)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_loan_as_listed_carries_its_mis_ids_and_portal_state(client, partner, token):
    call(client, "POST", under(partner, "loan_draft"), token, LOAN_DRAFT)
    LoanFactory(partner=partner, photo=None)
    response = call(client, "GET", under(partner, "loans"), token, query="C100")
    (item,) = response.json()["data"]
    loan = Loan.objects.get(mis_loan_id="L100")
    assert item["internal_loan_id"] == "L100" and item["internal_client_id"] == "C100"
    assert (item["name"], item["loan_currency"], item["loan_local_price"]) == (
        "Rosa Quispe",
        "PEN",
        "1200.00",
    )
    assert (item["portal_id"], item["portal_state"], item["borrower_count"]) == (
        loan.pk,
        "draft",
        1,
    )
    assert item["review_url"].endswith(f"/p/{partner.pk}/loans/{loan.pk}/")
    by_state = call(client, "GET", under(partner, "loans"), token, status="draft").json()
    assert by_state["total_records"] == 2
    Loan.objects.filter(pk=loan.pk).update(state="submitted")
    by_state = call(client, "GET", under(partner, "loans"), token, status="submitted").json()
    assert [i["internal_loan_id"] for i in by_state["data"]] == ["L100"]


# -- writes --------------------------------------------------------------------------------


def test_a_loan_draft_with_a_token_is_the_owners_draft(client, partner, owner, token):
    response = call(client, "POST", under(partner, "loan_draft"), token, LOAN_DRAFT)
    assert response.status_code == 200, response.json()
    assert response.json()["code"] == "api.success"
    loan = Loan.objects.get()
    assert (loan.created_by, loan.updated_by) == (owner, owner)
    entry = AuditEntry.objects.get(object_id=loan.pk)
    assert entry.actor == owner and entry.data == {"mis_client": entry.data["mis_client"]}


def test_repayments_and_journals_with_a_token(client, partner, token):
    call(client, "POST", under(partner, "loan_draft"), token, LOAN_DRAFT)
    repayments = {"repayments": [{"loan_id": "L100", "amount": 25.00}]}
    assert call(client, "POST", under(partner, "repayments"), token, repayments).status_code == 200
    journals = {"journals": [{"internal_loan_id": "L100", "subject": "Cart", "body": "Bought."}]}
    assert call(client, "POST", under(partner, "journals"), token, journals).status_code == 200
    assert (Repayment.objects.count(), Journal.objects.count()) == (1, 1)


# -- errors --------------------------------------------------------------------------------


def test_a_missing_token_is_a_json_401(client, partner):
    response = call(client, "GET", under(partner, "loans"))
    assert response.status_code == 401
    assert response.json()["code"] == "api.unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_without_the_endpoints_scope_is_a_403(client, partner):
    row, secret = mis_client(partner, scopes=["read:loans"])
    token = ask_token(client, row.client_id, secret).json()["access_token"]
    assert call(client, "GET", under(partner, "loans"), token).status_code == 200
    response = call(client, "POST", under(partner, "loan_draft"), token, LOAN_DRAFT)
    assert response.status_code == 403
    assert response.json() == {
        "code": "api.forbidden",
        "message": "Missing scope create:loan_draft.",
    }
    assert Loan.objects.count() == 0


def test_another_partners_path_is_a_403(client, partner, token):
    other = PartnerFactory()
    for rest in ("loans", "config/activities"):
        response = call(client, "GET", f"{BASE}/{other.kiva_partner_id}/{rest}", token)
        assert response.status_code == 403
        assert response.json()["code"] == "api.forbidden"


@pytest.mark.parametrize(
    "path",
    ["/api/intake/v1/nothing", "/api/intake/v1/v3/partner/1/unknown", "/api/intake/v1/loan_draft/"],
)
def test_unknown_paths_are_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "api.not_found"


def test_an_unknown_config_list_is_a_json_404(client, partner, token):
    response = call(client, "GET", under(partner, "config/sectors"), token)
    assert response.status_code == 404 and response.json()["code"] == "api.not_found"


@pytest.mark.parametrize(
    ("method", "rest", "allow"),
    [("GET", "loan_draft", "POST"), ("PUT", "repayments", "POST"), ("POST", "loans", "GET"),
     ("DELETE", "config/activities", "GET")],
)  # fmt: skip
def test_a_wrong_method_is_a_405_with_allow(client, partner, token, method, rest, allow):
    response = call(client, method, under(partner, rest), token, body={})
    assert response.status_code == 405
    assert response["Allow"] == allow
    assert response.json()["code"] == "api.method_not_allowed"


def test_the_token_endpoint_answers_405_to_get(client):
    response = client.get(TOKEN_URL)
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_a_draft_posted_twice_with_a_token_is_one_loan(client, partner, token):
    for _ in range(2):
        call(client, "POST", under(partner, "loan_draft"), token, copy.deepcopy(LOAN_DRAFT))
    assert Loan.objects.count() == 1
