"""Repayment transactions, matched by the MIS's transaction id, for loans the portal knows."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_update_with_history

from integrations.mis.fields import parse_date, parse_money
from integrations.mis.importers.base import BATCH_SIZE, Column
from integrations.mis.importers.borrowers import text
from integrations.mis.importers.bulk import copy_with_history, insert_with_history, key_in
from integrations.mis.importers.flat import FlatImporter
from kivaportal.common.money import currency_decimals, has_currency_precision
from kivaportal.lending.models import Borrower, Loan, LoanBorrower
from kivaportal.repayments.models import Repayment
from kivaportal.repayments.services import repayment_reports_touched


def money(value, fmt):
    return parse_money(value, fmt)


def part(value, fmt):
    return parse_money(value, fmt, allow_zero=True)


COLUMNS = (
    Column(
        "mis_repayment_id",
        text(64),
        True,
        gettext_lazy("The transaction's id in the MIS."),
        "T-2026-0001",
    ),
    Column("mis_loan_id", text(64), True, gettext_lazy("A loan the portal already has."), "L-1001"),
    Column(
        "mis_client_id",
        text(64),
        False,
        gettext_lazy("For a repayment by one borrower of a group loan (three-column partners)."),
        "",
    ),
    Column("date", parse_date, True, gettext_lazy("In the partner's date format."), "2026-03-10"),
    # Zero is a line too: Kiva expects one for each loan that paid nothing this period.
    Column("amount", part, True, gettext_lazy("Zero or more, in the loan's currency."), "110.50"),
    Column(
        "principal",
        part,
        False,
        gettext_lazy("The principal part, if the MIS splits it."),
        "100.00",
    ),
    Column("interest", part, False, gettext_lazy("The interest part."), "10.50"),
)
# A new repayment's row for COPY (bulk.copy_with_history), in `_new`'s order.
NEW_COLUMNS = ["mis_repayment_id", "loan_id", "borrower_id", "date", "amount", "principal",
               "interest"]  # fmt: skip
FIELDS = {
    "loan_id": "loan_id",
    "borrower_id": "borrower_id",
    "date": "date",
    "amount": "amount",
    "principal": "principal",
    "interest": "interest",
}


class RepaymentImporter(FlatImporter):
    kind = "repayments"
    columns = COLUMNS
    key_column = "mis_repayment_id"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._touched: set = set()  # the dates written: their months' reports learn it
        self._copy = connection.vendor == "postgresql"

    def prepare(self, cleaned):
        loan_ids = {v["mis_loan_id"] for _r, v in cleaned}
        client_ids = {v["mis_client_id"] for _r, v in cleaned if v.get("mis_client_id")}
        loans = {
            loan["mis_loan_id"]: loan
            for loan in Loan.objects.filter(
                partner=self.partner, mis_loan_id__in=key_in(loan_ids)
            ).values("id", "mis_loan_id", "currency")
        }
        borrowers = dict(
            Borrower.objects.filter(
                partner=self.partner, mis_client_id__in=key_in(client_ids)
            ).values_list("mis_client_id", "id")
        )
        shares = set()
        if borrowers:
            shares = set(
                LoanBorrower.objects.filter(
                    loan_id__in=[loan["id"] for loan in loans.values()],
                    borrower_id__in=borrowers.values(),
                ).values_list("loan_id", "borrower_id")
            )
        existing = {
            r.mis_repayment_id: r
            for r in Repayment.objects.filter(
                partner=self.partner,
                mis_repayment_id__in=key_in(v["mis_repayment_id"] for _r, v in cleaned),
            )
        }
        horizon = timezone.localdate() + timedelta(days=settings.INTAKE_MAX_FUTURE_DAYS)
        return {
            "loans": loans,
            "borrowers": borrowers,
            "shares": shares,
            "existing": existing,
            "horizon": horizon,
        }

    def _resolve(self, row, values, context) -> bool:
        loan = context["loans"].get(values["mis_loan_id"])
        if loan is None:
            self.problem(row, "mis_loan_id", _("No loan with this MIS id in the portal."))
            return False
        values["loan_id"] = loan["id"]
        ok = True
        if values["date"] > context["horizon"]:
            # A repayment in 2100 is a typing error, not a plan.
            self.problem(
                row,
                "date",
                _("Later than %(date)s: a repayment cannot be that far in the future.")
                % {"date": context["horizon"].isoformat()},
            )
            ok = False
        for column in ("amount", "principal", "interest"):
            amount = values.get(column)
            if amount is not None and not has_currency_precision(amount, loan["currency"]):
                self.problem(
                    row,
                    column,
                    _("More decimals than %(currency)s allows (%(places)d).")
                    % {"currency": loan["currency"], "places": currency_decimals(loan["currency"])},
                )
                ok = False
        client = values.pop("mis_client_id", None)
        if client is not None:
            values["borrower_id"] = context["borrowers"].get(client) if client else None
            if client and values["borrower_id"] is None:
                self.problem(row, "mis_client_id", _("No borrower with this MIS client id."))
                ok = False
            elif client and (loan["id"], values["borrower_id"]) not in context["shares"]:
                self.problem(row, "mis_client_id", _("This client is not a borrower of the loan."))
                ok = False
        return ok

    def process(self, row, values, context, *, write):
        if not self._resolve(row, values, context):
            return
        key = values["mis_repayment_id"]
        self.upsert(
            row,
            key,
            context["existing"].get(key),
            values,
            FIELDS,
            write=write,
            build=lambda: self._new(key, values),
        )

    def _new(self, key, values):
        """A new repayment: on PostgreSQL the row's values for COPY (`NEW_COLUMNS`), else an
        instance (ids, not instances, for its relations: a related descriptor is slow)."""
        if self._copy:
            get = values.get
            return (key, values["loan_id"], get("borrower_id"), values["date"],
                    values["amount"], get("principal"), get("interest"))  # fmt: skip
        return Repayment(
            partner_id=self.partner.pk,
            mis_repayment_id=key,
            created_by_id=getattr(self.actor, "pk", None),
            updated_by_id=getattr(self.actor, "pk", None),
            **{k: v for k, v in values.items() if k in FIELDS},
        )

    def written(self):
        # Once per import: the months' reports must not keep showing (or queue) what no longer
        # holds.
        repayment_reports_touched(
            partner=self.partner, dates=self._touched, by=self.actor, data=self.audit_data
        )

    def flush(self):
        if self._create and isinstance(self._create[0], tuple):
            self._touched |= {r[3] for r in self._create}
            actor = getattr(self.actor, "pk", None)
            copy_with_history(
                Repayment,
                NEW_COLUMNS,
                self._create,
                fixed={"partner_id": self.partner.pk, "created_by_id": actor,
                       "updated_by_id": actor},
                user=self.actor,
            )  # fmt: skip
        else:
            self._touched |= {r.date for r in self._create}
            insert_with_history(Repayment, self._create, user=self.actor)
        self._touched |= {r.date for r in self._update}
        if self._update:
            bulk_update_with_history(
                self._update,
                Repayment,
                [*self._fields, "updated_by", "updated_at"],
                batch_size=BATCH_SIZE,
                default_user=self.actor,
            )
