"""Checks on a journal (borrower update), each naming its field."""

from django.utils.translation import gettext_noop

from kivaportal.common.checks import Finding, error, warning
from kivaportal.journals.models import Journal


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
    if not journal.photo:
        findings.append(
            warning(
                "photo",
                gettext_noop("No photo: updates with a photo engage lenders."),
                "photo_missing",
            )
        )
    return findings
