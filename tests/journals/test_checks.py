"""Checks on a journal (borrower update) before it goes to Kiva (`journal_findings`)."""

from typing import NamedTuple

import factory
import pytest
from django.utils import timezone

from kivaportal.common.checks import Severity
from kivaportal.journals.checks import journal_findings
from kivaportal.journals.models import Journal
from kivaportal.lending.models import LoanAtKiva
from tests.factories import BorrowerFactory, JournalFactory, LoanFactory, PartnerFactory

pytestmark = pytest.mark.django_db


class Seen(NamedTuple):
    """A finding as staff read it: severity, field, message (in English), code."""

    severity: Severity
    field: str
    message: str
    code: str

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR


def seen(findings):
    return [Seen(f.severity, f.field, f.message, f.code) for f in findings]


PHOTO = factory.django.ImageField(width=40, height=30, color="blue")

NO_PHOTO = Seen(
    Severity.WARNING,
    "photo",
    "No photo: updates with a photo engage lenders.",
    "photo_missing",
)


def findings_of(journal):
    return seen(journal_findings(Journal.objects.select_related("loan").get(pk=journal.pk)))


def test_journal_with_subject_body_and_photo_has_no_findings():
    assert findings_of(JournalFactory(photo=PHOTO)) == []


def test_journal_without_photo_is_a_warning_only():
    assert findings_of(JournalFactory()) == [NO_PHOTO]


@pytest.mark.parametrize("field", ["subject", "body"])
@pytest.mark.parametrize("blank", ["", "   \n "])
def test_blank_subject_or_body_is_an_error_naming_it(field, blank):
    journal = JournalFactory(photo=PHOTO, **{field: blank})

    assert findings_of(journal) == [
        Seen(Severity.ERROR, field, f"{field} is required.", "required")
    ]


@pytest.mark.usefixtures("without_partner_guard")
def test_journal_on_another_partners_loan_is_an_error_on_loan():
    loan = LoanFactory(mis_loan_id="L-THEIRS")
    journal = JournalFactory(loan=loan, partner=PartnerFactory(), photo=PHOTO)

    assert findings_of(journal) == [
        Seen(
            Severity.ERROR,
            "loan",
            "Loan L-THEIRS belongs to another partner.",
            "wrong_partner",
        )
    ]


def test_journal_about_a_borrower_of_the_loan_has_no_findings():
    loan = LoanFactory()
    journal = JournalFactory(loan=loan, borrower=loan.loan_borrowers.get().borrower, photo=PHOTO)

    assert findings_of(journal) == []


def test_journal_about_a_borrower_outside_the_loan_is_an_error_on_borrower():
    loan = LoanFactory(mis_loan_id="L-5")
    outsider = BorrowerFactory(partner=loan.partner)
    journal = JournalFactory(loan=loan, borrower=outsider, photo=PHOTO)

    assert findings_of(journal) == [
        Seen(
            Severity.ERROR,
            "borrower",
            "The borrower is not one of loan L-5's borrowers.",
            "borrower_not_in_loan",
        )
    ]


@pytest.mark.parametrize("status", ["fundRaising", "payingBack", "ended"])
def test_journal_for_a_loan_kiva_has_published_has_no_kiva_finding(status):
    assert findings_of(JournalFactory(photo=PHOTO, kiva_status=status)) == []


@pytest.mark.parametrize("status", ["inactive", "issue", "deleted"])
def test_journal_for_a_loan_kiva_shows_unpublished_is_an_error(status):
    journal = JournalFactory(photo=PHOTO, kiva_status=status, loan__mis_loan_id="L-7")

    assert findings_of(journal) == [
        Seen(
            Severity.ERROR,
            "loan",
            f"Kiva shows loan L-7 as {status}, not published; journals are only for loans "
            "Kiva has published. Publish it in PA2, then run the reconciliation with Kiva "
            "(the dashboard's “Reconcile with Kiva now”).",
            "kiva_not_published",
        )
    ]


def test_journal_for_a_loan_kiva_no_longer_lists_is_an_error():
    journal = JournalFactory(photo=PHOTO, loan__mis_loan_id="L-8")
    LoanAtKiva.objects.filter(loan=journal.loan).update(missing_since=timezone.now())

    assert [(f.code, f.is_error) for f in findings_of(journal)] == [("kiva_missing", True)]


NO_ID = (
    "Loan L-9 has no Kiva loan id: Kiva has not published it, or the portal has not read "
    "Kiva's list since. Journals are only for loans Kiva has published. Publish it in PA2, "
    "then run the reconciliation with Kiva (the dashboard's “Reconcile with Kiva now”)."
)


def test_journal_for_a_loan_kiva_has_not_listed_is_a_blocking_error():
    journal = JournalFactory(photo=PHOTO, kiva_status="", loan__mis_loan_id="L-9")

    assert findings_of(journal) == [Seen(Severity.ERROR, "loan", NO_ID, "kiva_unknown")]


def test_journal_for_a_loan_with_a_status_but_no_kiva_loan_id_is_a_blocking_error():
    """Whatever the status says, no Kiva loan id means Kiva cannot take the journal."""
    journal = JournalFactory(photo=PHOTO, kiva_status="payingBack", loan__mis_loan_id="L-9")
    LoanAtKiva.objects.filter(loan=journal.loan).update(kiva_id=None)

    assert findings_of(journal) == [Seen(Severity.ERROR, "loan", NO_ID, "kiva_unknown")]


def test_a_journal_on_a_loan_without_a_kiva_id_cannot_be_submitted():
    from kivaportal.partners.roles import Role
    from kivaportal.review.services import record_submit
    from kivaportal.workflow.errors import BlockingErrors
    from tests.factories import member

    journal = JournalFactory(photo=PHOTO, kiva_status="", loan__mis_loan_id="L-9")
    with pytest.raises(BlockingErrors, match="has no Kiva loan id"):
        record_submit(record=journal, by=member(journal.partner, Role.PREPARER))


@pytest.mark.parametrize(
    ("connection", "row", "codes"),
    [
        ("production", "stage", [("kiva_unknown", True)]),  # stage's ids say nothing here
        ("production", "production", []),
        ("stage", "stage", []),
        ("production", "", []),  # a row from before environments were recorded
    ],
)
def test_the_journal_check_reads_what_the_connections_environment_knows_of_the_loan(
    connection, row, codes
):
    """Once a partner's connection is production, a loan published on stage (its row still
    stage's until production's reconciliation replaces it) has no Kiva loan id there: a
    journal for it would go to production's Kiva, which does not know the loan."""
    from tests.factories import KivaConnectionFactory

    journal = JournalFactory(photo=PHOTO, kiva_status="payingBack", loan__mis_loan_id="L-9")
    LoanAtKiva.objects.filter(loan=journal.loan).update(environment=row)
    KivaConnectionFactory(partner=journal.partner, environment=connection)

    assert [(f.code, f.is_error) for f in findings_of(journal)] == codes
