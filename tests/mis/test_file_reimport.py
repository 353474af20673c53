"""Importing the same file again changes nothing; a changed file updates the same rows."""

from decimal import Decimal

import pytest

from integrations.mis.importers.borrowers import BorrowerImporter
from integrations.mis.importers.journals import JournalImporter
from integrations.mis.importers.repayments import RepaymentImporter
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Borrower, Loan, LoanBorrower, ScheduleLine
from kivaportal.partners.roles import Role
from kivaportal.repayments.models import Repayment
from kivaportal.review.services import record_submit
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState
from tests.factories import member
from tests.mis.data import LOANS, REPAYMENTS, SCHEDULE, import_loans
from tests.mis.helpers import csv_source

JOURNALS = "mis_loan_id,subject,body\nL1,Rosa's cart,Rosa bought a cart.\n"
BORROWERS = "mis_client_id,first_name,last_name,gender\nC5,Eva,Rojas,female\n"


def footprint():
    """Every row an import could add: records, their history, audit entries."""
    models = (Borrower, Loan, LoanBorrower, ScheduleLine, Repayment, Journal)
    return (
        tuple(m.objects.count() for m in models),
        tuple(m.history.count() for m in models),
        AuditEntry.objects.count(),
    )


def import_everything(partner, actor):
    assert import_loans(partner, actor).ok
    for importer, text in (
        (BorrowerImporter, BORROWERS),
        (RepaymentImporter, REPAYMENTS),
        (JournalImporter, JOURNALS),
    ):
        outcome = importer(
            partner=partner, sources={"main": csv_source(text)}, actor=actor
        ).commit()
        assert outcome.ok, outcome.problems


def test_reimporting_the_same_files_changes_nothing(partner, preparer):
    import_everything(partner, preparer)
    before = footprint()
    assert before[0] == (3, 1, 1, 2, 1, 1)
    import_everything(partner, preparer)
    assert footprint() == before


def test_reimport_reports_every_row_unchanged(partner, preparer):
    import_loans(partner, preparer)
    outcome = import_loans(partner, preparer)
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 0, 1)


def test_a_changed_schedule_updates_the_same_loan_with_history_and_audit(partner, preparer):
    import_loans(partner, preparer)
    loan = Loan.objects.get()
    changed = SCHEDULE.replace("600.00,10", "600.00,12.50")
    outcome = import_loans(partner, preparer, schedule=changed)
    assert (outcome.updated, outcome.created) == (1, 0)
    assert Loan.objects.get().pk == loan.pk
    assert sorted(line.interest for line in loan.schedule.all()) == [Decimal("12.5"), Decimal("20")]
    entry = AuditEntry.objects.filter(object_id=loan.pk, action="review.edited").get()
    assert entry.actor == preparer
    assert entry.data["fields"] == ["schedule"]
    assert ScheduleLine.history.filter(history_type="-").count() == 2


def test_a_change_to_a_submitted_loan_sends_it_back_to_draft(partner, preparer):
    import_loans(partner, preparer)
    loan = record_submit(record=Loan.objects.get(), by=preparer)
    assert loan.state == RecordState.SUBMITTED
    import_loans(partner, preparer, loans=LOANS.replace("A cart.", "A bigger cart."))
    loan.refresh_from_db()
    assert (loan.state, loan.loan_use, loan.version) == (RecordState.DRAFT, "A bigger cart.", 1)
    assert AuditEntry.objects.filter(action="review.returned_to_draft").count() == 1


def test_a_borrower_changed_by_a_file_sends_their_submitted_loan_back_to_draft(partner, preparer):
    """The same rule as a borrower edited in the admin: a part of a loan under review changed,
    the loan goes back to draft and the importer may not approve it (four eyes)."""
    import_loans(partner, preparer)
    loan = record_submit(record=Loan.objects.get(), by=preparer)
    borrower = loan.loan_borrowers.first().borrower
    text = (
        "mis_client_id,first_name,last_name,gender\n"
        f"{borrower.mis_client_id},Rosalinda,{borrower.last_name},{borrower.gender}\n"
    )
    outcome = BorrowerImporter(
        partner=partner, sources={"main": csv_source(text)}, actor=preparer
    ).commit()
    assert outcome.ok, outcome.problems
    loan.refresh_from_db()
    assert loan.state == RecordState.DRAFT
    entry = AuditEntry.objects.get(object_id=loan.pk, action="review.returned_to_draft")
    assert (entry.actor, entry.data["part"], entry.data["fields"]) == (
        preparer,
        "borrower",
        ["first_name"],
    )


def test_a_change_to_a_sent_loan_is_a_new_version_of_the_same_row(partner, preparer):
    import_loans(partner, preparer)
    Loan.objects.update(state=RecordState.SENT)
    outcome = import_loans(
        partner, preparer, members=None, schedule=SCHEDULE.replace("2026-03-10", "2026-03-15")
    )
    assert outcome.new_versions == 1
    loan = Loan.objects.get()
    assert (loan.state, loan.version) == (RecordState.DRAFT, 2)
    assert list(
        AuditEntry.objects.filter(object_id=loan.pk).values_list("action", flat=True).order_by("id")
    ) == ["intake.imported", "review.new_version", "review.edited"]


@pytest.mark.parametrize(
    "state", [RecordState.QUEUED, RecordState.SENDING, RecordState.NEEDS_ATTENTION]
)
def test_a_loan_the_pipeline_holds_cannot_be_changed_by_a_file(partner, preparer, state):
    import_loans(partner, preparer)
    Loan.objects.update(state=state)
    outcome = import_loans(partner, preparer, schedule=SCHEDULE.replace("600.00,10", "600.00,11"))
    assert [(p.row, p.column, p.code) for p in outcome.problems] == [(2, "mis_loan_id", "conflict")]
    assert "L1" in outcome.problems[0].message
    assert Loan.objects.get().schedule.get(due_date="2026-03-10").interest == Decimal("10")


def test_a_reviewer_cannot_approve_what_they_imported_themselves(partner):
    from kivaportal.review.services import record_approve
    from kivaportal.workflow.errors import FourEyesViolation

    admin = member(partner, Role.PARTNER_ADMIN)
    import_loans(partner, admin)
    loan = record_submit(record=Loan.objects.get(), by=admin)
    with pytest.raises(FourEyesViolation):
        record_approve(record=loan, by=admin)


def test_changed_repayment_amount_updates_the_same_transaction(partner, preparer):
    import_loans(partner, preparer)
    RepaymentImporter(partner=partner, sources={"main": csv_source(REPAYMENTS)}).commit()
    changed = REPAYMENTS.replace("620.00", "610.00").replace(",20\n", ",10\n")
    outcome = RepaymentImporter(partner=partner, sources={"main": csv_source(changed)}).commit()
    assert (outcome.updated, outcome.created) == (1, 0)
    assert Repayment.objects.get().amount == Decimal("610.00")
    assert Repayment.history.filter(history_type="~").count() == 1


def test_imported_repayments_have_a_creation_history_row_by_the_importer(partner, preparer):
    import_loans(partner, preparer)
    outcome = RepaymentImporter(
        partner=partner, sources={"main": csv_source(REPAYMENTS)}, actor=preparer
    ).commit()
    assert outcome.ok
    repayment = Repayment.objects.get()
    (row,) = repayment.history.all()
    assert (row.history_type, row.history_user, row.amount, row.loan_id, str(row.date)) == (
        "+",
        preparer,
        Decimal("620.00"),
        repayment.loan_id,
        "2026-02-10",
    )
    assert repayment.created_by == preparer and repayment.created_at is not None


def test_a_loan_taken_for_kiva_after_the_check_is_not_written_over(partner, preparer, monkeypatch):
    """The file was checked while the loan was submitted; a worker queues it before the write:
    the write locks and re-reads it (as the admin does) and refuses, instead of saving the state
    it had read back over the pipeline's (which returned a queued loan to draft)."""
    from integrations.mis.importers import reviewed
    from kivaportal.workflow.errors import IllegalTransition

    import_loans(partner, preparer)
    loan = record_submit(record=Loan.objects.get(), by=preparer)
    begin_change = reviewed.begin_change

    def worker_takes_it(record, importer):
        # The worker's move commits after the import read the loan, before it saves it.
        Loan.objects.filter(pk=record.pk).update(state=RecordState.QUEUED)
        return begin_change(record, importer)

    monkeypatch.setattr(reviewed, "begin_change", worker_takes_it)
    with pytest.raises(IllegalTransition):
        import_loans(partner, preparer, loans=LOANS.replace("A cart.", "A bigger cart."))
    loan.refresh_from_db()
    assert loan.loan_use == "A cart."
