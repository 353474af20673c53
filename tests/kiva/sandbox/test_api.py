"""The sandbox behaves as Kiva documents: tokens, config lists, drafts, repayments, journals,
loans, and a record of everything received."""

import time
from decimal import Decimal

import pytest

from integrations.kiva.sandbox.models import SandboxJournal, SandboxLoan, SandboxRequest
from integrations.kiva.sandbox.services import (
    sandbox_loan_move,
    sandbox_loan_publish,
    sandbox_tokens_revoke,
)

from .conftest import BASE, SECRET, Kiva, draft, make_partner

pytestmark = pytest.mark.django_db


# -- tokens ---------------------------------------------------------------------------------


def test_token_carries_scopes_partner_id_as_string_and_expiry(kiva):
    data = kiva.token_response().json()
    assert data["token_type"] == "bearer"
    assert data["partnerId"] == "145"
    assert data["expires_in"] == 43199
    assert data["scope"].split() == [
        "read:loans",
        "create:loan_draft",
        "create:repayment",
        "create:journal_update",
    ]


def test_granted_scope_is_the_intersection_of_requested_and_allowed(kiva, partner):
    client = partner.clients.get()
    client.allowed_scopes = "read:loans create:loan_draft"
    client.save()
    data = kiva.token_response(scope="create:loan_draft create:repayment").json()
    assert data["scope"] == "create:loan_draft"


def test_wrong_secret_is_401_and_wrong_audience_403(kiva):
    assert kiva.token_response(secret="nope").status_code == 401
    assert kiva.token_response(audience="https://elsewhere").status_code == 403


def test_token_request_must_be_form_encoded(client, partner):
    response = client.post(
        BASE + "oauth/token",
        {"grant_type": "client_credentials", "client_id": "client-145", "client_secret": SECRET},
        content_type="application/json",
    )
    assert response.status_code == 400


def test_missing_or_bad_token_is_401(client, partner):
    assert client.get(BASE + "v3/partner/145/config/activities").status_code == 401
    response = client.get(
        BASE + "v3/partner/145/config/activities", HTTP_AUTHORIZATION="Bearer forged.token.x"
    )
    assert response.status_code == 401


def test_revoked_or_early_expired_token_is_401(kiva, partner):
    token = kiva.token()
    assert kiva.get("config/activities", token).status_code == 200
    sandbox_tokens_revoke(partner=partner)
    assert kiva.get("config/activities", token).status_code == 401

    partner.refresh_from_db()
    partner.token_valid_seconds = 1
    partner.save()
    token = kiva.token()
    time.sleep(1.1)
    assert kiva.get("config/activities", token).status_code == 401


def test_missing_scope_is_403(kiva):
    token = kiva.token(scope="read:loans")
    response = kiva.post("loan_draft", draft(), token)
    assert response.status_code == 403
    assert "create:loan_draft" in response.json()["message"]


def test_token_for_another_partner_is_403(client, kiva):
    make_partner("146")
    other = Kiva(client, "146").token()
    assert kiva.get("loans", other).status_code == 403


# -- config lists ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("activities", "activity_id"),
        ("locales", "language_id"),
        ("themes", "theme_type_id"),
        ("locations", "full_name"),
    ],
)
def test_config_lists_come_in_kivas_envelope(kiva, name, key):
    data = kiva.get(f"config/{name}").json()
    assert data["code"] == "api.success"
    assert data["as_of_date_time"].endswith("Z")
    assert key in data[name][0]


# -- loan drafts ----------------------------------------------------------------------------


def test_valid_draft_returns_a_loan_draft_uuid_and_is_stored(kiva):
    response = kiva.post("loan_draft", draft())
    assert response.status_code == 200
    loan = SandboxLoan.objects.get(uuid=response.json()["loan_draft_uuid"])
    assert (loan.internal_loan_id, loan.status, loan.amount) == (
        "L-1",
        "inactive",
        Decimal("1200.5"),
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"activity_id": "61"}, "activity_id"),
        ({"activity_id": 999}, "activity_id"),
        ({"theme_type_id": 0}, "theme_type_id"),
        ({"description_language_id": 7}, "description_language_id"),
        ({"currency": "USD"}, "currency"),
        ({"location": "Lima: Peru"}, "location"),
        ({"disburse_time": "10/01/2026"}, "disburse_time"),
        ({"disburse_time": "2026-02-30"}, "disburse_time"),
        ({"client_waiver_signed": "yes"}, "client_waiver_signed"),
        ({"image_encoded": "not base64!"}, "image_encoded"),
        ({"image_encoded": "R0lGODlhAQABAAAAACw="}, "image_encoded"),  # a GIF
        ({"entreps": []}, "entreps"),
        ({"loan_amount": 5}, "loan_amount"),
        (
            {"schedule": [{"date": "2026-02-10", "principal": "10", "interest": 0}]},
            "schedule[0].principal",
        ),
    ],
)
def test_invalid_draft_is_400_naming_the_field(kiva, change, field):
    response = kiva.post("loan_draft", draft(**change))
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == field
    assert field in body["message"]
    assert not SandboxLoan.objects.exists()


@pytest.mark.parametrize(
    ("entrep_change", "field"),
    [
        ({"amount": "1200.50"}, "entreps[0].amount"),
        ({"amount": Decimal("1200.505")}, "entreps[0].amount"),
        ({"amount": Decimal("0")}, "entreps[0].amount"),
        ({"gender": "F"}, "entreps[0].gender"),
        ({"loan_id": ""}, "entreps[0].loan_id"),
        ({"client_id": 12}, "entreps[0].client_id"),
    ],
)
def test_each_borrower_in_entreps_is_checked(kiva, entrep_change, field):
    entrep = {**draft()["entreps"][0], **entrep_change}
    response = kiva.post("loan_draft", draft(entreps=[entrep]))
    assert response.status_code == 400
    assert response.json()["field"] == field


@pytest.mark.parametrize("field", ["internal_client_id", "internal_loan_id", "not_pictured"])
def test_individual_loan_with_a_group_only_field_is_refused(kiva, field):
    value = [False] if field == "not_pictured" else "X-1"
    response = kiva.post("loan_draft", draft(**{field: value}))
    assert response.status_code == 400
    assert response.json()["field"] == field


def group_draft(**overrides):
    entreps = [
        {**draft()["entreps"][0], "client_id": f"C-{i}", "loan_id": f"G-1-{i}"} for i in range(1, 4)
    ]
    body = draft(
        entreps=entreps,
        group_name="Grupo Las Flores",
        internal_client_id="GC-1",
        internal_loan_id="G-1",
        not_pictured=[False, True, False],
    )
    body.update(overrides)
    return body


def test_group_loan_is_accepted_and_listed_under_its_internal_ids(kiva):
    assert kiva.post("loan_draft", group_draft()).status_code == 200
    loan = SandboxLoan.objects.get()
    assert (loan.internal_loan_id, loan.internal_client_id, loan.borrower_count) == (
        "G-1",
        "GC-1",
        3,
    )


def test_group_loan_needs_one_not_pictured_flag_per_borrower(kiva):
    response = kiva.post("loan_draft", group_draft(not_pictured=[False, True]))
    assert response.status_code == 400
    assert response.json()["field"] == "not_pictured"


def test_several_borrowers_without_group_name_is_refused(kiva):
    body = group_draft()
    for field in ("group_name", "internal_client_id", "internal_loan_id", "not_pictured"):
        del body[field]
    response = kiva.post("loan_draft", body)
    assert response.status_code == 400
    assert response.json()["field"] == "group_name"


def test_body_that_is_not_json_is_400(kiva):
    response = kiva.post("loan_draft", b"\xff{not json")
    assert response.status_code == 400


# -- repayments -----------------------------------------------------------------------------


def test_repayments_return_an_upload_id_and_problems_per_loan(kiva):
    kiva.post("loan_draft", draft())  # L-1, a draft: not yet payingBack
    kiva.post(
        "loan_draft",
        draft(entreps=[{**draft()["entreps"][0], "loan_id": "L-2", "client_id": "C-2"}]),
    )
    sandbox_loan_move(loan=SandboxLoan.objects.get(internal_loan_id="L-2"), status="payingBack")

    response = kiva.post(
        "repayments",
        {
            "repayments": [
                {"loan_id": "L-1", "amount": Decimal("25.00")},
                {"loan_id": "L-2", "amount": Decimal("25.00")},
                {"loan_id": "NOPE", "amount": Decimal("25.00")},
            ]
        },
    )

    assert response.status_code == 200
    data = response.json()
    assert data["upload_id"]
    assert [(p["loan_id"], p["code"], p["severity"]) for p in data["problems"]] == [
        ("L-1", "loan.not_repaying", "warning"),
        ("NOPE", "loan.not_found", "error"),
    ]
    assert data["problems"][1]["details"] == "Unknown loan id NOPE"


def test_repayment_lines_find_a_group_borrowers_own_loan_id(kiva):
    kiva.post("loan_draft", draft())  # L-1, a draft: not yet payingBack
    first = SandboxLoan.objects.get(internal_loan_id="L-1")
    SandboxLoan.objects.create(
        partner=first.partner,
        status="payingBack",
        internal_loan_id="G-9",
        loan_ids=["G-9-1", "G-9-2"],
        client_ids=["C-91", "C-92"],
        name="Grupo",
        amount=Decimal("100"),
        payload={},
    )
    lines = [{"loan_id": i, "amount": Decimal("5.00")} for i in ("G-9-2", "L-1", "G-9", "X")]
    data = kiva.post("repayments", {"repayments": lines}).json()
    assert [(p["index"], p["severity"]) for p in data["problems"]] == [(1, "warning"), (3, "error")]


def test_more_than_300_repayment_lines_is_400(kiva):
    lines = [{"loan_id": f"L-{i}", "amount": Decimal("1.00")} for i in range(301)]
    response = kiva.post("repayments", {"repayments": lines})
    assert response.status_code == 400
    assert response.json()["field"] == "repayments"


def test_client_id_is_required_for_three_column_partners_only(client, kiva, partner):
    line = {"loan_id": "L-1", "client_id": "C-1", "amount": Decimal("1.00")}
    assert kiva.post("repayments", {"repayments": [line]}).json()["field"] == (
        "repayments[0].client_id"
    )
    make_partner("300", three_columns=True)
    three = Kiva(client, "300")
    assert three.post("repayments", {"repayments": [line]}).status_code == 200
    del line["client_id"]
    assert three.post("repayments", {"repayments": [line]}).status_code == 400


# -- journals -------------------------------------------------------------------------------


def test_journals_in_both_shapes_each_get_a_confirm_url(client, kiva):
    kiva.post("loan_draft", draft())
    item = {"internal_loan_id": "L-1", "subject": "Rosa's stall", "body": "It grows."}

    wrapped = kiva.post("journals", {"journals": [item]})
    bare = kiva.post("journals", [item, item])

    assert wrapped.status_code == 200 and bare.status_code == 201
    urls = [j["confirm_url"] for j in wrapped.json()["journals"] + bare.json()["journals"]]
    assert len(set(urls)) == 3
    page = client.get(urls[0])
    assert page.status_code == 200 and b"Rosa&#x27;s stall" in page.content
    client.post(urls[0])
    assert SandboxJournal.objects.filter(confirmed_at__isnull=False).count() == 1


def test_journal_for_an_unknown_loan_is_400(kiva):
    response = kiva.post(
        "journals", {"journals": [{"internal_loan_id": "X", "subject": "s", "body": "b"}]}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "journals[0].internal_loan_id"


# -- loans ----------------------------------------------------------------------------------


def test_posted_drafts_are_listed_and_publishing_gives_a_kiva_id_and_fundraising(kiva):
    uuid = kiva.post("loan_draft", draft()).json()["loan_draft_uuid"]
    listed = kiva.get("loans").json()
    assert listed["total_records"] == 1
    assert listed["data"][0]["uuid"] == uuid and listed["data"][0]["kiva_id"] is None
    assert listed["data"][0]["status"] == "inactive"

    loan = sandbox_loan_publish(loan=SandboxLoan.objects.get(uuid=uuid))

    found = kiva.get("loans", status="fundRaising", query="L-1").json()["data"]
    assert [(x["kiva_id"], x["status"]) for x in found] == [(loan.kiva_id, "fundRaising")]
    assert found[0]["loan_local_price"] == "1200.50" and found[0]["funded_amount"] == "0.00"


def test_loans_are_searched_by_name_client_id_and_kiva_id(kiva):
    kiva.post("loan_draft", group_draft())
    loan = sandbox_loan_publish(loan=SandboxLoan.objects.get())
    for query in ("Flores", "GC-1", "C-2", "G-1-3", str(loan.kiva_id)):
        assert kiva.get("loans", query=query).json()["total_records"] == 1, query
    assert kiva.get("loans", query="nobody").json()["total_records"] == 0


def test_loans_pages_are_at_most_300(kiva):
    assert kiva.get("loans", limit=301).status_code == 400
    for n in range(3):
        body = draft(entreps=[{**draft()["entreps"][0], "loan_id": f"L-{n}"}])
        kiva.post("loan_draft", body)
    page = kiva.get("loans", offset=1, limit=1).json()
    assert page["total_records"] == 3 and len(page["data"]) == 1


# -- what Kiva received ----------------------------------------------------------------------


def test_every_request_is_recorded_with_credentials_redacted(client, kiva):
    kiva.post("loan_draft", draft())

    token_request, draft_request = SandboxRequest.objects.order_by("id")
    assert SECRET not in token_request.body and "client_secret=%5Bredacted%5D" in token_request.body
    assert "[redacted]" in token_request.response_body
    assert "eyJ" not in token_request.response_body  # the JWT itself is never stored
    assert draft_request.headers["Authorization"] == "Bearer [redacted]"
    assert '"amount": 1200.50' in draft_request.body
    assert draft_request.status == 200

    page = client.get(BASE + "requests/?partner=145")
    assert page.status_code == 200
    assert b"/kiva-sandbox/v3/partner/145/loan_draft" in page.content
