"""Kiva's answers read whatever documented shape they take; what cannot be read is reported as
unreadable, never raised (integrations/kiva/payloads.py, the parse_* functions)."""

from decimal import Decimal

import pytest

from integrations.kiva import payloads
from integrations.kiva.client import KivaClient
from integrations.kiva.sandbox.models import SandboxLoan, SandboxPartner
from integrations.kiva.sandbox.services import sandbox_loan_move
from tests.factories import PartnerFactory
from tests.kiva.fixtures import sandbox_partner

PROBLEM = {"loan_id": "L-1", "code": "loan.not_repaying", "severity": "warning", "details": "x"}


@pytest.mark.parametrize(
    "answer",
    [
        {"loan_draft_uuid": "u-1", "code": "api.success"},
        {"loanDraftUuid": "u-1"},
    ],
)
def test_draft_uuid_is_read_in_snake_or_camel_case(answer):
    assert payloads.parse_loan_draft_answer(answer) == payloads.KivaAnswer(
        readable=True, reference="u-1"
    )


@pytest.mark.parametrize(
    ("answer", "upload"),
    [
        ({"upload_id": "up-1", "problems": [PROBLEM]}, "up-1"),
        ([PROBLEM], ""),
        ([{"upload_id": "up-1", "problems": [PROBLEM]}], "up-1"),
    ],
)
def test_repayments_answer_is_read_as_an_object_or_a_list(answer, upload):
    read = payloads.parse_repayments_answer(answer)
    assert read.readable and read.reference == upload
    assert [p.as_dict() for p in read.problems] == [{**PROBLEM, "index": 0}]


def test_a_problem_with_message_instead_of_details_keeps_kivas_text():
    [problem] = payloads.parse_repayments_answer(
        {"upload_id": "u", "problems": [{"loanId": "L-9", "message": "Unknown loan", "index": 4}]}
    ).problems
    assert (problem.loan_id, problem.details, problem.index) == ("L-9", "Unknown loan", 4)


@pytest.mark.parametrize(
    "answer",
    [
        {"journals": [{"confirm_url": "https://k/1"}, {"confirmUrl": "https://k/2"}]},
        [
            {"confirm_url": "https://k/1"},
            {"confirmUrl": "https://k/2"},
        ],
    ],
)
def test_journals_answer_gives_every_confirm_url_in_either_shape(answer):
    read = payloads.parse_journals_answer(answer)
    assert read.readable and read.confirm_urls == ("https://k/1", "https://k/2")
    assert read.reference == "https://k/1"


@pytest.mark.parametrize(
    ("parse", "answer"),
    [
        (payloads.parse_loan_draft_answer, {"message": "ok"}),
        (payloads.parse_loan_draft_answer, ["u-1"]),
        (payloads.parse_repayments_answer, "uploaded"),
        (payloads.parse_repayments_answer, {"message": "ok"}),
        (payloads.parse_repayments_answer, [1, 2]),
        (payloads.parse_journals_answer, {"ok": True}),
        (payloads.parse_journals_answer, None),
    ],
)
def test_an_answer_in_no_known_shape_is_unreadable_not_an_exception(parse, answer):
    assert parse(answer).readable is False


def test_loans_page_reads_each_loan_and_counts_what_it_cannot_read():
    page = payloads.parse_loans_page(
        {
            "total_records": "12",
            "data": [
                {
                    "kiva_id": 2000001,
                    "uuid": "ABC",
                    "internal_loan_id": "L-1",
                    "status": "payingBack",
                    "funded_amount": "1200.50",
                    "delinquent": False,
                },
                {"name": "no ids at all"},
                7,
            ],
        }
    )
    assert (page.total, page.received, page.unreadable) == (12, 3, 2)
    [loan] = page.loans
    assert (loan.kiva_id, loan.uuid, loan.funded_amount, loan.delinquent) == (
        2000001,
        "abc",
        Decimal("1200.50"),
        False,
    )


@pytest.mark.parametrize("shape", ["object", "list"])
def test_the_sandboxs_repayments_answer_reads_the_same_in_both_shapes(kiva_sandbox, shape):
    partner = PartnerFactory(kiva_partner_id="9003")
    sandboxed, connection = sandbox_partner(partner, kiva_sandbox.url, repayments_answer=shape)
    client = KivaClient(connection)
    for loan_id in ("L-1", "L-2"):
        SandboxLoan.objects.create(
            partner=sandboxed,
            internal_loan_id=loan_id,
            loan_ids=[loan_id],
            name=loan_id,
            amount=Decimal("100"),
            payload={},
        )
    sandbox_loan_move(loan=SandboxLoan.objects.get(internal_loan_id="L-2"), status="payingBack")

    answer = client.post_repayments(
        {"repayments": [{"loan_id": i, "amount": Decimal("5")} for i in ("L-1", "L-2", "NOPE")]}
    )

    read = payloads.parse_repayments_answer(answer.data)
    assert read.readable
    assert bool(read.reference) == (shape == "object")
    assert [(p.loan_id, p.code, p.severity, p.index) for p in read.problems] == [
        ("L-1", "loan.not_repaying", "warning", 0),
        ("NOPE", "loan.not_found", "error", 2),
    ]
    assert SandboxPartner.objects.get(partner_id="9003").repayments_answer == shape
