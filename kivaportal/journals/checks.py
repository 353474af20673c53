"""Checks on a journal (borrower update), each naming its field."""

from django.utils.translation import gettext_noop

from kivaportal.common.checks import Finding, error, warning
from kivaportal.journals.models import Journal
from kivaportal.lending.models import KIVA_PUBLISHED, LoanAtKiva


def journal_findings(journal: Journal) -> list[Finding]:
    findings: list[Finding] = []
    if not journal.subject.strip():
        findings.append(error("subject", gettext_noop("subject is required."), "required"))
    if not journal.body.strip():
        findings.append(error("body", gettext_noop("body is required."), "required"))
    if journal.loan.partner_id != journal.partner_id:
        findings.append(
            error(
                "loan",
                gettext_noop("Loan %(loan)s belongs to another partner."),
                "wrong_partner",
                loan=journal.loan.mis_loan_id,
            )
        )
    if (
        journal.borrower_id is not None
        and not journal.loan.loan_borrowers.filter(borrower_id=journal.borrower_id).exists()
    ):
        findings.append(
            error(
                "borrower",
                gettext_noop("The borrower is not one of loan %(loan)s's borrowers."),
                "borrower_not_in_loan",
                loan=journal.loan.mis_loan_id,
            )
        )
    findings += _kiva_findings(journal)
    if not journal.photo:
        findings.append(
            warning(
                "photo",
                gettext_noop("No photo: updates with a photo engage lenders."),
                "photo_missing",
            )
        )
    return findings


def _kiva_findings(journal: Journal) -> list[Finding]:
    """Journals are for loans Kiva has published (Kiva's docs). What reconciliation last read
    decides: not published (a draft, sent back, deleted) or no longer listed is an error;
    a loan Kiva has not listed yet (never reconciled) is a warning, as nothing is known."""
    try:
        at_kiva = journal.loan.kiva
    except LoanAtKiva.DoesNotExist:
        at_kiva = None
    loan = journal.loan.mis_loan_id
    if at_kiva is None or not at_kiva.status:
        return [
            warning(
                "loan",
                gettext_noop(
                    "Kiva has not listed loan %(loan)s yet; journals are only for loans Kiva "
                    "has published."
                ),
                "kiva_unknown",
                loan=loan,
            )
        ]
    if at_kiva.missing_since is not None:
        return [
            error(
                "loan",
                gettext_noop(
                    "Kiva no longer lists loan %(loan)s; journals are only for loans Kiva has "
                    "published."
                ),
                "kiva_missing",
                loan=loan,
            )
        ]
    if at_kiva.status not in KIVA_PUBLISHED:
        return [
            error(
                "loan",
                gettext_noop(
                    "Kiva shows loan %(loan)s as %(status)s, not published; journals are only "
                    "for loans Kiva has published."
                ),
                "kiva_not_published",
                loan=loan,
                status=at_kiva.status,
            )
        ]
    return []
