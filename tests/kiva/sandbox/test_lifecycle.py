"""The sandbox follows Kiva's loan lifecycle: a published draft fundraises, is raised, pays
back and ends (or defaults, is refunded, expires); a deleted draft disappears; GET loans
filters by status and pages; the repayments answer comes in either documented shape."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from integrations.kiva.sandbox.models import SandboxLoan
from integrations.kiva.sandbox.services import (
    SandboxLifecycleError,
    sandbox_loan_move,
    sandbox_loan_publish,
)

from .conftest import BASE, draft

pytestmark = pytest.mark.django_db


def post_drafts(kiva, n):
    for i in range(n):
        body = draft(
            entreps=[{**draft()["entreps"][0], "loan_id": f"L-{i}", "client_id": f"C-{i}"}]
        )
        assert kiva.post("loan_draft", body).status_code == 200
    return list(SandboxLoan.objects.order_by("created_at", "id"))


def statuses(kiva, **params):
    return [
        (x["internal_loan_id"], x["status"]) for x in kiva.get("loans", **params).json()["data"]
    ]


def test_a_published_loan_fundraises_is_raised_pays_back_and_ends(kiva):
    [loan] = post_drafts(kiva, 1)

    loan = sandbox_loan_publish(loan=loan)
    assert (loan.status, loan.funded_amount) == ("fundRaising", Decimal("0"))
    loan = sandbox_loan_move(loan=loan, status="raised")
    assert loan.funded_amount == loan.amount
    loan = sandbox_loan_move(loan=loan, status="payingBack", delinquent=True)
    [item] = kiva.get("loans").json()["data"]
    assert (item["status"], item["funded_amount"], item["delinquent"]) == (
        "payingBack",
        "1200.50",
        True,
    )
    assert item["ended_time"] is None

    sandbox_loan_move(loan=loan, status="ended")

    [item] = kiva.get("loans").json()["data"]
    assert item["status"] == "ended" and item["ended_time"]


def test_moving_a_draft_to_paying_back_takes_every_step_and_gives_a_kiva_id(kiva):
    [loan] = post_drafts(kiva, 1)
    loan = sandbox_loan_move(loan=loan, status="payingBack")
    assert loan.kiva_id and loan.published_at and loan.funded_amount == loan.amount


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (["payingBack"], "fundRaising"),
        (["payingBack", "ended"], "payingBack"),
        (["fundRaising"], "deleted"),
        ([], "ended"),
    ],
)
def test_a_move_kivas_lifecycle_does_not_allow_is_refused_saying_what_is(kiva, path, refused):
    [loan] = post_drafts(kiva, 1)
    for status in path:
        loan = sandbox_loan_move(loan=loan, status=status)
    with pytest.raises(SandboxLifecycleError, match=f"cannot become {refused}; it may become"):
        sandbox_loan_move(loan=loan, status=refused)


def test_a_deleted_draft_disappears_from_get_loans_repayments_and_journals(kiva):
    first, second = post_drafts(kiva, 2)

    sandbox_loan_move(loan=first, status="deleted")

    listed = kiva.get("loans").json()
    assert listed["total_records"] == 1 and statuses(kiva) == [("L-1", "inactive")]
    assert statuses(kiva, status="deleted") == [("L-0", "deleted")]
    answer = kiva.post("repayments", {"repayments": [{"loan_id": "L-0", "amount": 1}]}).json()
    assert answer["problems"][0]["code"] == "loan.not_found"
    journal = {"internal_loan_id": "L-0", "subject": "s", "body": "b"}
    assert kiva.post("journals", {"journals": [journal]}).status_code == 400


def test_get_loans_filters_by_status_and_pages_with_a_total(kiva):
    loans = post_drafts(kiva, 5)
    for loan in loans[:3]:
        sandbox_loan_move(loan=loan, status="payingBack")
    sandbox_loan_move(loan=loans[0], status="defaulted")

    assert statuses(kiva, status="payingBack") == [("L-1", "payingBack"), ("L-2", "payingBack")]
    page = kiva.get("loans", status="payingBack", offset=1, limit=1).json()
    assert page["total_records"] == 2 and [x["internal_loan_id"] for x in page["data"]] == ["L-2"]
    assert statuses(kiva, status="defaulted") == [("L-0", "defaulted")]
    assert kiva.get("loans", status="bogus").json()["field"] == "status"


def test_repayments_answer_as_a_list_when_the_sandbox_partner_says_so(kiva, partner):
    partner.repayments_answer = "list"
    partner.save()
    post_drafts(kiva, 1)

    response = kiva.post("repayments", {"repayments": [{"loan_id": "L-0", "amount": 5}]})

    assert response.status_code == 200
    assert [(p["loan_id"], p["code"], p["severity"]) for p in response.json()] == [
        ("L-0", "loan.not_repaying", "warning")
    ]
    assert "inactive" in response.json()[0]["details"]


def test_command_moves_loans_by_status_or_id_and_refuses_an_illegal_move(kiva):
    loans = post_drafts(kiva, 3)

    call_command("kiva_sandbox_loans", "145", "--to", "payingBack")
    call_command("kiva_sandbox_loans", "145", "--to", "ended", "--loan", "L-0")
    call_command("kiva_sandbox_loans", "145", "--to", "defaulted", "--loan", str(loans[1].uuid))
    call_command(
        "kiva_sandbox_loans",
        "145",
        "--to",
        "payingBack",
        "--delinquent",
        "--limit",
        "1",
        "--from",
        "payingBack",
    )

    assert statuses(kiva) == [("L-0", "ended"), ("L-1", "defaulted"), ("L-2", "payingBack")]
    assert SandboxLoan.objects.get(internal_loan_id="L-2").delinquent
    with pytest.raises(CommandError, match="cannot become payingBack"):
        call_command("kiva_sandbox_loans", "145", "--to", "payingBack", "--loan", "L-0")


def test_loans_page_moves_a_loan_to_a_status_it_may_take(client, kiva):
    [loan] = post_drafts(kiva, 1)
    sandbox_loan_publish(loan=loan)
    page = client.get(BASE + "loans/")
    assert b"<option>raised</option>" in page.content

    assert client.post(BASE + f"loans/{loan.uuid}/move", {"status": "raised"}).status_code == 302
    assert client.post(BASE + f"loans/{loan.uuid}/move", {"status": "inactive"}).status_code == 400
    loan.refresh_from_db()
    assert loan.status == "raised"
