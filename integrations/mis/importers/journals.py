"""Journals (borrower updates). Kiva's journal has no id of its own, so a journal is matched by
its loan, its client (if any) and its subject: posting the same again changes the body of that
journal, never adds a second one."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from integrations.mis.importers import reviewed
from integrations.mis.importers.base import BATCH_SIZE, Column
from integrations.mis.importers.borrowers import text
from integrations.mis.importers.flat import FlatImporter
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Borrower, Loan, LoanBorrower
from kivaportal.workflow.transitions import audit_records_created

COLUMNS = (
    Column("mis_loan_id", text(64), True, gettext_lazy("A loan the portal already has."), "L-1001"),
    Column(
        "mis_client_id",
        text(64),
        False,
        gettext_lazy("One borrower of the loan, if the update is about them."),
        "",
    ),
    Column("subject", text(200), True, "", "Rosa's stall is growing"),
    Column("body", text(10000), True, "", "With the loan Rosa bought a cart."),
)


class JournalImporter(FlatImporter):
    kind = "journals"
    columns = COLUMNS
    key_column = "subject"
    one_pass = False  # `process` notes only when checking: a check pass, then a write pass

    def key(self, values):
        return (values["mis_loan_id"], values.get("mis_client_id", ""), values["subject"])

    def prepare(self, cleaned):
        loans = dict(
            Loan.objects.filter(
                partner=self.partner, mis_loan_id__in={v["mis_loan_id"] for _r, v in cleaned}
            ).values_list("mis_loan_id", "id")
        )
        borrowers = dict(
            Borrower.objects.filter(
                partner=self.partner,
                mis_client_id__in={v.get("mis_client_id") for _r, v in cleaned} - {None, ""},
            ).values_list("mis_client_id", "id")
        )
        shares = set(
            LoanBorrower.objects.filter(
                loan_id__in=loans.values(), borrower_id__in=borrowers.values()
            ).values_list("loan_id", "borrower_id")
        )
        existing: dict = {}
        for journal in Journal.objects.filter(partner=self.partner, loan_id__in=loans.values()):
            existing.setdefault((journal.loan_id, journal.borrower_id, journal.subject), []).append(
                journal
            )
        return {"loans": loans, "borrowers": borrowers, "shares": shares, "existing": existing}

    def _resolve(self, row, values, context):
        loan_id = context["loans"].get(values["mis_loan_id"])
        if loan_id is None:
            self.problem(row, "mis_loan_id", _("No loan with this MIS id in the portal."))
            return None
        client = values.get("mis_client_id")
        borrower_id = context["borrowers"].get(client) if client else None
        if client and borrower_id is None:
            self.problem(row, "mis_client_id", _("No borrower with this MIS client id."))
            return None
        if client and (loan_id, borrower_id) not in context["shares"]:
            self.problem(row, "mis_client_id", _("This client is not a borrower of the loan."))
            return None
        return loan_id, borrower_id

    def process(self, row, values, context, *, write):
        found = self._resolve(row, values, context)
        if found is None:
            return
        loan_id, borrower_id = found
        key = f"{values['mis_loan_id']}: {values['subject']}"
        matches = context["existing"].get((loan_id, borrower_id, values["subject"]), [])
        if len(matches) > 1:
            self.problem(row, "subject", _("Several journals of this loan have this subject."))
            return
        if not matches:
            if write:
                self._create.append(
                    Journal(
                        partner=self.partner,
                        loan_id=loan_id,
                        borrower_id=borrower_id,
                        subject=values["subject"],
                        body=values["body"],
                        created_by=self.actor,
                        updated_by=self.actor,
                    )
                )
            else:
                self.note(row, key, "create")
            return
        journal = matches[0]
        if journal.body == values["body"]:
            if not write:
                self.note(row, key, "unchanged")
            return
        refused = reviewed.refusal(str(journal), journal.state)
        if refused:
            self.problem(row, "subject", refused, "conflict")
            return
        if not write:
            self.note(row, key, reviewed.action_for(journal.state), ["body"])
            return
        journal = reviewed.begin_change(journal, self)
        journal.body = values["body"]
        journal.updated_by = self.actor
        journal.save()
        reviewed.end_change(journal, self, ["body"])

    def flush(self):
        if self._create:
            created = bulk_create_with_history(
                self._create, Journal, batch_size=BATCH_SIZE, default_user=self.actor
            )
            audit_records_created(records=created, actor=self.actor, data=self.audit_data)
            reviewed.recheck_created(Journal, [j.pk for j in created])
