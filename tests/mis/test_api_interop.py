"""What real integrations send (issue 12, items 4 to 6): exact error paths as the client wrote
them, a Fineract-style individual draft, zero repayment lines, not_pictured per borrower,
far-future dates, a report posted twice, and answers an MIS can follow."""

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan, LoanType
from kivaportal.repayments.models import Repayment
from tests.factories import api_key
from tests.mis.api import LOAN_DRAFT, post


@pytest.fixture
def key(partner):
    return api_key(partner)[1]


def draft(**changes):
    body = copy.deepcopy(LOAN_DRAFT)
    body.update(changes)
    return body


def errors(response):
    assert response.status_code == 400, response.json()
    return [(e["field"], e["message"]) for e in response.json()["errors"]]


# -- exact paths -----------------------------------------------------------------------------


def test_a_missing_field_is_named_by_its_path_in_the_call(client, partner, key):
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    ok = {"loan_id": "L100", "amount": "10.00"}
    response = post(client, "repayments", {"repayments": [ok, ok | {"date": "2026-03-01"},
                                                          {"loan_id": "L100"}, {"amount": 5}]},
                    key=key)  # fmt: skip
    fields = [field for field, _message in errors(response)]
    assert fields == ["repayments[2].amount", "repayments[3].loan_id"]
    journals = [{"internal_loan_id": "L100", "subject": "a", "body": "b"},
                {"internal_loan_id": "L100", "subject": "c"}]  # fmt: skip
    assert [f for f, _m in errors(post(client, "journals", journals, key=key))] == [
        "journals[1].body"
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"entreps": [dict(LOAN_DRAFT["entreps"][0], gender="x")]}, "entreps[0].gender"),
        ({"schedule": [{"date": "2026-02-10", "principal": 1200},
                       {"date": "2026-03-10", "principal": "abc"}]}, "schedule[1].principal"),
        ({"schedule": [{"date": "2026-02-10"}]}, "schedule[0].principal"),
    ],
)  # fmt: skip
def test_an_item_error_names_the_item(client, partner, key, changes, field):
    assert [f for f, _m in errors(post(client, "loan_draft", draft(**changes), key=key))] == [field]


def test_a_schedule_that_does_not_add_up_points_at_the_schedule_with_amounts_as_written(
    client, partner, key
):
    body = draft(schedule=[{"date": "2026-02-10", "principal": 900.0}])
    body["entreps"][0]["amount"] = 1200.0
    assert errors(post(client, "loan_draft", body, key=key)) == [
        ("schedule", "The schedule's principal adds up to 900.00, not the loan amount 1200.00.")
    ]


def test_the_same_error_is_listed_once(client, partner, key):
    line = {"loan_id": "NOPE", "amount": 5, "date": "2026-03-01"}
    lines = [line | {"repayment_id": f"T{i}"} for i in range(6)]
    found = errors(post(client, "repayments", {"repayments": lines}, key=key))
    assert len(found) == len(set(found)) == 6  # one per line, each its own path
    assert {f for f, _m in found} == {f"repayments[{i}].loan_id" for i in range(6)}


def test_a_repeated_line_names_the_first(client, partner, key):
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    line = {"loan_id": "L100", "amount": 5, "date": "2026-03-01"}
    assert errors(post(client, "repayments", {"repayments": [line, line]}, key=key)) == [
        ("repayments[1].loan_id", "Duplicate of repayments[0].")
    ]


# -- individual or group, and re-posts -------------------------------------------------------


FINERACT = draft(group_name=" ", internal_client_id="C100", internal_loan_id="000000123")


def test_a_fineract_style_individual_draft_is_an_individual_loan(client, partner, key):
    response = post(client, "loan_draft", FINERACT, key=key)
    assert response.status_code == 200, response.json()
    loan = Loan.objects.get()
    assert (loan.mis_loan_id, loan.loan_type, loan.group_name, loan.group_client_id) == (
        "L100",
        LoanType.INDIVIDUAL,
        "",
        "",
    )
    assert {"group_name", "internal_client_id", "internal_loan_id"} <= set(
        response.json()["ignored_fields"]
    )


def test_a_corrected_fineract_post_updates_the_same_loan(client, partner, key):
    post(client, "loan_draft", FINERACT, key=key)
    corrected = copy.deepcopy(FINERACT) | {"group_name": "", "loanuse": "Two carts."}
    response = post(client, "loan_draft", corrected, key=key)
    assert response.json()["loan"]["action"] == "update"
    assert Loan.objects.count() == 1


def test_a_loan_first_filed_as_a_group_is_found_by_its_borrowers_ids(client, partner, key):
    # An earlier portal (or MIS) filed it under internal_loan_id with one borrower.
    group = draft(group_name="Las Rosas", internal_loan_id="G1", internal_client_id="GC1")
    assert post(client, "loan_draft", group, key=key).status_code == 200
    assert Loan.objects.get().mis_loan_id == "G1"
    response = post(client, "loan_draft", draft(loanuse="Corrected."), key=key)
    assert response.status_code == 200, response.json()
    assert response.json()["loan"]["action"] == "update"
    loan = Loan.objects.get()
    assert (loan.loan_type, loan.group_name, loan.loan_use) == ("individual", "", "Corrected.")


def test_two_borrowers_make_a_group_loan_keyed_by_internal_loan_id(client, partner, key):
    second = dict(LOAN_DRAFT["entreps"][0], client_id="C101", loan_id="L101", amount="600.00")
    first = dict(LOAN_DRAFT["entreps"][0], amount="600.00")
    body = draft(entreps=[first, second], internal_loan_id="G9", not_pictured=[False, True])
    assert post(client, "loan_draft", body, key=key).status_code == 200, "group"
    assert Loan.objects.get().mis_loan_id == "G9"


def test_not_pictured_needs_one_entry_per_borrower(client, partner, key):
    second = dict(LOAN_DRAFT["entreps"][0], client_id="C101", loan_id="L101", amount="600.00")
    first = dict(LOAN_DRAFT["entreps"][0], amount="600.00")
    body = draft(entreps=[first, second], group_name="Las Rosas", internal_loan_id="G9",
                 not_pictured=[True])  # fmt: skip
    assert [f for f, _m in errors(post(client, "loan_draft", body, key=key))] == ["not_pictured"]


# -- repayments ------------------------------------------------------------------------------


def test_a_zero_repayment_line_is_valid(client, partner, key):
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    response = post(client, "repayments", {"repayments": [{"loan_id": "L100", "amount": 0}]},
                    key=key)  # fmt: skip
    assert response.status_code == 200, response.json()
    assert Repayment.objects.get().amount == 0


def test_a_repayment_far_in_the_future_is_refused(client, partner, key, settings):
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    far = {"loan_id": "L100", "amount": 5, "date": "2100-01-01"}
    assert [f for f, _m in errors(post(client, "repayments", {"repayments": [far]}, key=key))] == [
        "repayments[0].date"
    ]
    soon = (timezone.localdate() + timedelta(days=settings.INTAKE_MAX_FUTURE_DAYS)).isoformat()
    ok = post(client, "repayments", {"repayments": [far | {"date": soon}]}, key=key)
    assert ok.status_code == 200


def test_the_same_report_posted_on_two_days_is_recorded_once(client, partner, key, monkeypatch):
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    report = {"repayments": [{"loan_id": "L100", "amount": "25.00"}]}  # Kiva's shape: no date
    today = timezone.localdate().replace(day=10)
    for day in (today, today + timedelta(days=1)):
        monkeypatch.setattr(timezone, "localdate", lambda day=day: day)
        assert post(client, "repayments", report, key=key).status_code == 200
    assert Repayment.objects.count() == 1


# -- answers ---------------------------------------------------------------------------------


def test_the_journals_answer_names_each_record_and_its_page(client, partner, key):
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    journals = {"journals": [{"internal_loan_id": "L100", "subject": s, "body": "b"}
                             for s in ("First", "Second")]}  # fmt: skip
    results = post(client, "journals", journals, key=key).json()["results"]
    first, second = Journal.objects.order_by("subject")
    assert [(r["portal_id"], r["action"], r["state"]) for r in results] == [
        (first.pk, "create", "draft"),
        (second.pk, "create", "draft"),
    ]
    assert results[0]["review_url"] == f"http://testserver/p/{partner.pk}/journals/{first.pk}/"


def test_a_nul_byte_in_an_id_is_a_400_not_a_500(client, partner, key):
    entrep = dict(LOAN_DRAFT["entreps"][0], client_id="C\u0000", loan_id="L\u0000")
    response = post(client, "loan_draft", draft(entreps=[entrep]), key=key)
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} <= {
        "entreps[0].loan_id",
        "entreps[0].client_id",
    }


def test_a_group_members_own_loan_id_does_not_turn_the_group_into_an_individual_loan(
    client, partner, key
):
    second = dict(LOAN_DRAFT["entreps"][0], client_id="C101", loan_id="L101", amount="600.00")
    first = dict(LOAN_DRAFT["entreps"][0], amount="600.00")
    group = draft(entreps=[first, second], internal_loan_id="G9", group_name="Las Rosas")
    assert post(client, "loan_draft", group, key=key).status_code == 200
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    assert Loan.objects.get(mis_loan_id="G9").loan_borrowers.count() == 2
