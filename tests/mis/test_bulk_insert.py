"""The intake's bulk insert (COPY on PostgreSQL): rows with their ids, one "+" history row
each with the importing user, and the table's sequence moved past them."""

from datetime import date
from decimal import Decimal

import pytest

from integrations.mis.importers.bulk import insert_with_history, key_in
from kivaportal.lending.models import ScheduleLine
from kivaportal.repayments.models import Repayment
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db


def new_repayments(loan, n):
    return [
        Repayment(
            partner_id=loan.partner_id,
            loan_id=loan.pk,
            mis_repayment_id=f"T-{k}",
            date=date(2026, 3, k + 1),
            amount=Decimal("110.50"),
            principal=Decimal("100.00"),
            interest=Decimal("10.50"),
        )
        for k in range(n)
    ]


def test_bulk_insert_writes_rows_with_their_ids_and_values(partner, preparer):
    loan = LoanFactory(partner=partner, instalments=1)

    rows = insert_with_history(Repayment, new_repayments(loan, 3), user=preparer)

    stored = {r.pk: r for r in Repayment.objects.filter(loan=loan)}
    assert sorted(stored) == sorted(r.pk for r in rows)
    assert {(r.mis_repayment_id, r.amount, r.interest, r.date) for r in stored.values()} == {
        (f"T-{k}", Decimal("110.50"), Decimal("10.50"), date(2026, 3, k + 1)) for k in range(3)
    }
    assert all(r.created_at is not None and r.updated_at is not None for r in stored.values())


def test_bulk_insert_writes_one_creation_history_row_per_row(partner, preparer):
    loan = LoanFactory(partner=partner, instalments=1)

    rows = insert_with_history(Repayment, new_repayments(loan, 3), user=preparer)

    history = Repayment.history.filter(id__in=[r.pk for r in rows])
    assert sorted((h.id, h.history_type, h.history_user_id) for h in history) == sorted(
        (r.pk, "+", preparer.pk) for r in rows
    )
    assert {h.mis_repayment_id for h in history} == {"T-0", "T-1", "T-2"}


def test_rows_created_after_a_bulk_insert_get_new_ids(partner, preparer):
    loan = LoanFactory(partner=partner, instalments=0)
    lines = [
        ScheduleLine(loan=loan, due_date=date(2026, 4, 10), principal=Decimal("50"), interest=0)
        for _ in range(2)
    ]
    insert_with_history(ScheduleLine, lines, user=preparer)

    later = ScheduleLine.objects.create(
        loan=loan, due_date=date(2026, 5, 10), principal=Decimal("50"), interest=0
    )

    assert later.pk not in {line.pk for line in lines}
    assert ScheduleLine.objects.filter(loan=loan).count() == 3


def test_a_batch_of_keys_finds_the_same_rows_as_a_list(partner, preparer):
    loan = LoanFactory(partner=partner, instalments=1)
    insert_with_history(Repayment, new_repayments(loan, 3), user=preparer)

    found = Repayment.objects.filter(mis_repayment_id__in=key_in(["T-0", "T-2", "T-9"]))

    assert sorted(found.values_list("mis_repayment_id", flat=True)) == ["T-0", "T-2"]
