"""Checks on a journal (borrower update), each naming its field."""

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_noop

from kivaportal.common.checks import Finding, error, warning
from kivaportal.journals.models import Journal
from kivaportal.lending.models import KIVA_PUBLISHED, LoanAtKiva


def journal_findings(journal: Journal) -> list[Finding]:
    findings: list[Finding] = []
    if not journal.subject.strip():
        findings.append(
            error("subject", gettext_noop("%(field)s is required."), "required", field="subject")
        )
    if not journal.body.strip():
        findings.append(
            error("body", gettext_noop("%(field)s is required."), "required", field="body")
        )
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


def _environment(partner) -> str:
    """The Kiva environment the partner's journals go to now (its connection's), or ""."""
    try:
        return partner.kiva_connection.environment
    except ObjectDoesNotExist:
        return ""


def _kiva_findings(journal: Journal) -> list[Finding]:
    """A journal can only be posted for a loan Kiva knows (Kiva's docs: journals are for
    published loans). Blocking, from what reconciliation last read of the environment the
    journal goes to: Kiva no longer lists the loan (deleted in PA2), shows it unpublished, or
    has given it no Kiva loan id (never published, or not read since)."""
    try:
        at_kiva = journal.loan.kiva
    except LoanAtKiva.DoesNotExist:
        at_kiva = None
    if at_kiva is not None and not at_kiva.known_in(_environment(journal.partner)):
        at_kiva = None  # what stage knows of the loan says nothing of production
    loan = journal.loan.mis_loan_id
    if at_kiva is not None and at_kiva.missing_since is not None:
        return [
            error(
                "loan",
                gettext_noop(
                    "Kiva no longer lists loan %(loan)s (deleted in PA2?); journals are only "
                    "for loans Kiva has published. Send the loan to Kiva again and publish it "
                    "in PA2, then run the reconciliation with Kiva (the dashboard's “Reconcile "
                    "with Kiva now”)."
                ),
                "kiva_missing",
                loan=loan,
            )
        ]
    if at_kiva is not None and at_kiva.status and at_kiva.status not in KIVA_PUBLISHED:
        return [
            error(
                "loan",
                gettext_noop(
                    "Kiva shows loan %(loan)s as %(status)s, not published; journals are only "
                    "for loans Kiva has published. Publish it "
                    "in PA2, then run the reconciliation with Kiva (the dashboard's “Reconcile "
                    "with Kiva now”)."
                ),
                "kiva_not_published",
                loan=loan,
                status=at_kiva.status,
            )
        ]
    if at_kiva is None or not at_kiva.kiva_id:
        return [
            error(
                "loan",
                gettext_noop(
                    "Loan %(loan)s has no Kiva loan id: Kiva has not published it, or the "
                    "portal has not read Kiva's list since. Journals are only for loans Kiva "
                    "has published. Publish it "
                    "in PA2, then run the reconciliation with Kiva (the dashboard's “Reconcile "
                    "with Kiva now”)."
                ),
                "kiva_unknown",
                loan=loan,
            )
        ]
    return []
