"""Checks on a journal (borrower update), each naming its field."""

from django.utils.translation import gettext as _

from kivaportal.common.checks import Finding, Severity
from kivaportal.journals.models import Journal


def journal_findings(journal: Journal) -> list[Finding]:
    findings: list[Finding] = []
    if not journal.subject.strip():
        findings.append(Finding(Severity.ERROR, "subject", _("subject is required."), "required"))
    if not journal.body.strip():
        findings.append(Finding(Severity.ERROR, "body", _("body is required."), "required"))
    if journal.loan.partner_id != journal.partner_id:
        findings.append(
            Finding(
                Severity.ERROR,
                "loan",
                _("Loan %(loan)s belongs to another partner.") % {"loan": journal.loan},
                "wrong_partner",
            )
        )
    if (
        journal.borrower_id is not None
        and not journal.loan.loan_borrowers.filter(borrower_id=journal.borrower_id).exists()
    ):
        findings.append(
            Finding(
                Severity.ERROR,
                "borrower",
                _("The borrower is not one of loan %(loan)s's borrowers.") % {"loan": journal.loan},
                "borrower_not_in_loan",
            )
        )
    if not journal.photo:
        findings.append(
            Finding(
                Severity.WARNING,
                "photo",
                _("No photo: updates with a photo engage lenders."),
                "photo_missing",
            )
        )
    return findings
