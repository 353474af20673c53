"""Only an active key of the partner gets in, and a key only ever reaches its own partner."""

import pytest
from django.utils import timezone

from integrations.mis.models import ApiKey
from kivaportal.lending.models import Loan
from kivaportal.repayments.models import Repayment
from tests.factories import LoanFactory, PartnerFactory, api_key
from tests.mis.api import LOAN_DRAFT, post

PATHS = ["loan_draft", "repayments", "journals", "borrowers"]


@pytest.mark.parametrize("path", PATHS)
def test_no_key_is_refused(client, partner, path):
    response = post(client, path, LOAN_DRAFT)
    assert response.status_code == 401
    assert response.json()["code"] == "api.unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Loan.objects.count() == 0


@pytest.mark.parametrize(
    "presented",
    ["kp_nothere_x", "not-a-key", "", "kp__", "Basic abc"],
)
def test_a_wrong_key_is_refused(client, partner, presented):
    _row, full = api_key(partner)
    response = post(client, "loan_draft", LOAN_DRAFT, key=presented)
    assert response.status_code == 401
    assert Loan.objects.count() == 0


def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused(client, partner):
    _row, full = api_key(partner)
    response = post(client, "loan_draft", LOAN_DRAFT, key=full[:-4] + "AAAA")
    assert response.status_code == 401


def test_a_revoked_key_is_refused(client, partner):
    row, full = api_key(partner)
    row.revoked_at = timezone.now()
    row.save()
    response = post(client, "loan_draft", LOAN_DRAFT, key=full)
    assert response.status_code == 401
    assert Loan.objects.count() == 0


def test_the_key_also_works_in_the_x_api_key_header_and_records_its_use(client, partner):
    row, full = api_key(partner)
    response = client.post(
        "/api/intake/v1/loan_draft",
        data=LOAN_DRAFT,
        content_type="application/json",
        HTTP_X_API_KEY=full,
    )
    assert response.status_code == 200, response.json()
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_only_the_hash_of_a_key_is_stored(partner):
    row, full = api_key(partner)
    stored = ApiKey.objects.filter(pk=row.pk).values().get()
    assert full not in str(stored)
    assert row.matches(full) and not row.matches(full + "x")


def test_another_partners_key_reaches_neither_our_loans_nor_our_reference_data(client, partner):
    other = PartnerFactory()
    _row, theirs = api_key(other)
    LoanFactory(partner=partner, mis_loan_id="L100", state="sent")
    response = post(client, "loan_draft", LOAN_DRAFT, key=theirs)
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {
        "activity_id",
        "theme_type_id",
        "description_language_id",
        "location",
    }
    bare = {
        k: v
        for k, v in LOAN_DRAFT.items()
        if k not in {"activity_id", "theme_type_id", "description_language_id", "location"}
    }
    response = post(client, "loan_draft", bare, key=theirs)
    assert response.status_code == 200, response.json()
    assert response.json()["loan"]["action"] == "create"
    theirs_loan = Loan.objects.get(partner=other, mis_loan_id="L100")
    ours = Loan.objects.get(partner=partner, mis_loan_id="L100")
    assert theirs_loan.pk != ours.pk
    assert (ours.state, ours.version) == ("sent", 1)
    assert partner.name not in response.content.decode()


def test_another_partners_key_cannot_post_repayments_on_our_loans(client, partner):
    other = PartnerFactory()
    _row, theirs = api_key(other)
    LoanFactory(partner=partner, mis_loan_id="L100")
    response = post(
        client, "repayments", {"repayments": [{"loan_id": "L100", "amount": 10}]}, key=theirs
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "repayments[0].loan_id",
            "message": "No loan with this MIS id in the portal.",
            "code": "invalid",
        }
    ]
    # The same answer as for an id that exists nowhere: nothing tells our loan exists.
    nowhere = post(
        client, "repayments", {"repayments": [{"loan_id": "L404", "amount": 10}]}, key=theirs
    )
    assert nowhere.json()["errors"][0]["message"] == response.json()["errors"][0]["message"]
    assert Repayment.objects.count() == 0


def test_kiva_paths_with_another_partners_id_are_forbidden_as_kiva_answers(client, partner):
    other = PartnerFactory()
    _row, full = api_key(partner)
    for partner_id in (other.kiva_partner_id, "999999"):  # existing or not: the same answer
        response = post(client, f"v3/partner/{partner_id}/loan_draft", LOAN_DRAFT, key=full)
        assert response.status_code == 403
        assert response.json() == {
            "code": "api.forbidden",
            "message": f"This token is for partner {partner.kiva_partner_id}.",
        }
    mine = post(client, f"v3/partner/{partner.kiva_partner_id}/loan_draft", LOAN_DRAFT, key=full)
    assert mine.status_code == 200, mine.json()
