"""What Kiva lists is recorded on the partner's loans: matched by draft uuid, Kiva id or MIS
ids, with a history of status changes, idempotently; a loan Kiva stops listing is flagged."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.kiva.payloads import KivaLoan
from kivaportal.lending.models import KivaStatusChange, LoanAtKiva
from kivaportal.lending.services import (
    loan_at_kiva_draft_sent,
    loans_at_kiva_apply,
    loans_at_kiva_flag_missing,
)
from tests.factories import GroupLoanFactory, LoanFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def kiva_loan(internal_loan_id="", *, uuid_="", kiva_id=None, status="inactive", **extra):
    values = {"funded_amount": None, "delinquent": None, "internal_client_id": ""}
    values.update(extra)
    return KivaLoan(
        kiva_id=kiva_id,
        uuid=uuid_,
        internal_loan_id=internal_loan_id,
        status=status,
        **values,
    )


def test_loans_are_matched_by_draft_uuid_kiva_id_and_mis_ids():
    partner = PartnerFactory()
    by_uuid, by_kiva_id, individual = LoanFactory.create_batch(3, partner=partner)
    group = GroupLoanFactory(partner=partner)
    known_uuid = uuid.uuid4()
    loan_at_kiva_draft_sent(loan_id=by_uuid.pk, draft_uuid=str(known_uuid))
    LoanAtKiva.objects.create(loan=by_kiva_id, kiva_id=2000007)
    now = timezone.now()

    outcome = loans_at_kiva_apply(
        partner=partner,
        items=[
            kiva_loan("renamed-in-pa2", uuid_=str(known_uuid), status="fundRaising", kiva_id=1),
            kiva_loan("?", kiva_id=2000007, status="payingBack", funded_amount=Decimal("5.5")),
            kiva_loan(individual.mis_loan_id, uuid_=str(uuid.uuid4())),
            kiva_loan(group.mis_loan_id, uuid_=str(uuid.uuid4()), status="issue"),
            kiva_loan("entered-in-pa2-directly", kiva_id=99),
        ],
        seen_at=now,
    )

    assert (outcome.matched, outcome.unknown) == (4, 1)
    rows = {row.loan_id: row for row in LoanAtKiva.objects.all()}
    assert (rows[by_uuid.pk].status, rows[by_uuid.pk].kiva_id) == ("fundRaising", 1)
    assert rows[by_kiva_id.pk].funded_amount == Decimal("5.5")
    assert rows[individual.pk].draft_uuid and rows[group.pk].status == "issue"
    assert all(row.seen_at == now for row in rows.values())


def test_a_group_borrowers_own_loan_id_finds_the_group_loan():
    group = GroupLoanFactory()
    borrower_loan_id = group.loan_borrowers.first().mis_loan_id

    loans_at_kiva_apply(
        partner=group.partner, items=[kiva_loan(borrower_loan_id)], seen_at=timezone.now()
    )

    assert LoanAtKiva.objects.get().loan_id == group.pk


def test_status_changes_are_kept_as_history_and_a_second_reading_changes_nothing():
    loan = LoanFactory()
    draft = str(uuid.uuid4())
    first, second, third = (timezone.now() + timedelta(minutes=m) for m in (0, 5, 10))

    loans_at_kiva_apply(
        partner=loan.partner, items=[kiva_loan(loan.mis_loan_id, uuid_=draft)], seen_at=first
    )
    loans_at_kiva_apply(
        partner=loan.partner,
        items=[kiva_loan("x", uuid_=draft, status="fundRaising")],
        seen_at=second,
    )
    again = loans_at_kiva_apply(
        partner=loan.partner,
        items=[kiva_loan("x", uuid_=draft, status="fundRaising")],
        seen_at=third,
    )

    history = list(
        KivaStatusChange.objects.order_by("seen_at").values_list(
            "from_status", "to_status", "seen_at"
        )
    )
    assert history == [("", "inactive", first), ("inactive", "fundRaising", second)]
    assert again.changed == 0
    row = LoanAtKiva.objects.get()
    assert (row.seen_at, row.status_changed_at) == (third, second)


def test_another_draft_with_the_same_mis_id_is_reported_not_guessed():
    loan = LoanFactory()
    loan_at_kiva_draft_sent(loan_id=loan.pk, draft_uuid=str(uuid.uuid4()))
    stranger = kiva_loan(loan.mis_loan_id, uuid_=str(uuid.uuid4()))

    outcome = loans_at_kiva_apply(partner=loan.partner, items=[stranger], seen_at=timezone.now())

    assert outcome.matched == 0 and outcome.other_drafts == [(stranger, loan.pk)]
    assert LoanAtKiva.objects.get().status == ""


def test_a_loan_kiva_no_longer_lists_is_flagged_and_its_last_status_kept():
    partner = PartnerFactory()
    kept, deleted = LoanFactory.create_batch(2, partner=partner)
    start = timezone.now()
    loans_at_kiva_apply(
        partner=partner,
        items=[kiva_loan(kept.mis_loan_id), kiva_loan(deleted.mis_loan_id)],
        seen_at=start,
    )
    later = start + timedelta(hours=1)
    loans_at_kiva_apply(partner=partner, items=[kiva_loan(kept.mis_loan_id)], seen_at=later)

    flagged = loans_at_kiva_flag_missing(partner=partner, seen_before=later, now=later)

    assert flagged == 1
    row = LoanAtKiva.objects.get(loan=deleted)
    assert (row.missing_since, row.status) == (later, "inactive")
    assert KivaStatusChange.objects.filter(loan=deleted, to_status="").count() == 1
    assert loans_at_kiva_flag_missing(partner=partner, seen_before=later, now=later) == 0


def test_a_page_costs_the_same_queries_for_ten_or_a_hundred_loans():
    partner = PartnerFactory()
    loans = LoanFactory.create_batch(100, partner=partner, instalments=0)

    def queries(batch):
        items = [kiva_loan(loan.mis_loan_id, uuid_=str(uuid.uuid4())) for loan in batch]
        with CaptureQueriesContext(connection) as captured:
            loans_at_kiva_apply(partner=partner, items=items, seen_at=timezone.now())
        return len(captured)

    assert queries(loans[:10]) == queries(loans[10:])
