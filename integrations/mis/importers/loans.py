"""Loans with their borrowers and schedules, from three row sources checked together: the loans
(one row per loan), the borrowers in each loan, and the schedule lines.

The check pass reads the loans first, then the borrowers and the schedule, keeping per loan only
a count, a total and a fingerprint (`loan_parts.Lines`); then it decides per loan: create,
update, new version or unchanged. The write pass reads the loans again and writes in bulk; the
new loans' borrowers and schedule lines come from where the check staged them (a file import on
PostgreSQL), other lines are read again. A loan without rows in the borrowers (or schedule)
input keeps the borrowers (or schedule) it has.
"""

import hashlib

from django.core.files.base import ContentFile
from django.db import connection
from django.utils.translation import gettext as _

from integrations.mis.fields import Invalid
from integrations.mis.formats import FileError
from integrations.mis.importers import reviewed
from integrations.mis.importers.base import Importer, batches
from integrations.mis.importers.bulk import Staging, insert_with_history, key_in
from integrations.mis.importers.loan_parts import (
    LOAN_COLUMNS,
    LOAN_FIELDS,
    MEMBER_COLUMNS,
    SCHEDULE_COLUMNS,
    Lines,
    LoanPlan,
    References,
    member_fp,
    schedule_fp,
)
from kivaportal.common.money import currency_decimals, has_currency_precision, quantize
from kivaportal.common.photos import photo_copies_make
from kivaportal.lending.models import Borrower, Loan, LoanBorrower, LoanType, ScheduleLine
from kivaportal.workflow.transitions import audit_records_created

WRITING = ("create", "update", "new_version")
# The staged lines (bulk.Staging): their columns, and how the write selects them into the
# table ("s" the staged line, "k" its loan's key and id).
MEMBER_STAGING = (
    ("mis_loan_id", "text"),
    ("mis_client_id", "text"),
    ("amount", "numeric"),
    ("own_loan_id", "text"),
    ("not_pictured", "boolean"),
    ("position", "integer"),
)
MEMBER_SELECT = {
    "loan_id": "k.loan_id",
    "borrower_id": "b.id",
    "amount": "s.amount",
    "mis_loan_id": "s.own_loan_id",
    "not_pictured": "s.not_pictured",
    "position": "s.position",
}
MEMBER_JOIN = (
    "JOIN lending_borrower b ON b.partner_id = %(partner)s AND b.mis_client_id = s.mis_client_id"
)
SCHEDULE_STAGING = (("mis_loan_id", "text"), ("due_date", "date"), ("principal", "numeric"),
                    ("interest", "numeric"))  # fmt: skip
SCHEDULE_SELECT = {
    "loan_id": "k.loan_id",
    "due_date": "s.due_date",
    "principal": "s.principal",
    "interest": "s.interest",
}


class LoanImporter(Importer):
    kind = "loans"
    columns = LOAN_COLUMNS

    def __init__(self, *, pending_clients=(), photos=None, photo_archive=None, **kwargs):
        super().__init__(**kwargs)
        self.pending_clients = set(pending_clients)  # borrowers the same API call creates
        self.photos = photos or {}
        self.photo_archive = photo_archive  # files: the .zip the `photo` column names into
        self.stored_files: list = []  # photos written to storage (a rehearsal removes them)
        self.plans: dict[str, LoanPlan] = {}
        # A file import on PostgreSQL (`commit`) keeps the new loans' borrowers' and schedule
        # lines' parsed values in temporary tables as it checks them (bulk.Staging), and
        # writes them from there: each line is read and parsed once.
        self.staged: dict[str, Staging] = {}

    def commit(self):
        if connection.vendor == "postgresql" and not self.pending_clients:
            self.staged = {
                "members": Staging("intake_members", MEMBER_STAGING),
                "schedule": Staging("intake_schedule", SCHEDULE_STAGING),
            }
        return super().commit()

    # Reading one source, batch by batch, with its header checked once.
    def _rows(self, name, columns, *, check):
        source = self.sources.get(name)
        if source is None:
            return
        try:
            first = True
            for batch in batches(source):
                if first and check and not self.check_header(source, columns):
                    return
                first = False
                cleaned = [(row, self.clean(row, columns)) for row in batch]
                if name != "main" or not check:
                    cleaned = [(row, values) for row, values in cleaned if values is not None]
                yield cleaned
                self.progress("check" if check else "write", len(batch))
            if first and check:
                self.check_header(source, columns)
        except FileError as exc:
            self.outcome.add(exc.problem)

    def _precision(self, row, column, amount, currency):
        if amount is not None and not has_currency_precision(amount, currency):
            self.problem(
                row,
                column,
                _("More decimals than %(currency)s allows (%(places)d).")
                % {"currency": currency, "places": currency_decimals(currency)},
            )
            return False
        return True

    def _resolve(self, row, values, existing) -> dict | None:
        """The row's values as Loan attributes, references looked up; None on a problem."""
        refs = self.refs
        fields = {}
        ok = True
        cur = values.get("currency") or (existing.currency if existing else "")
        cur = cur or self.partner.default_currency
        lookups = (
            ("activity_id", refs.activities.get),
            ("theme_type_id", refs.themes.get),
            ("description_language_id", lambda v: refs.locale(v, cur)),
            ("location", refs.locations.get),
        )
        for column, lookup in lookups:
            value = values.get(column)
            if value in (None, ""):
                if column in values:
                    fields[LOAN_FIELDS[column]] = None
                continue
            found = lookup(value)
            if found is None:
                self.problem(row, column, _("Not in this partner's Kiva reference list."))
                ok = False
            fields[LOAN_FIELDS[column]] = found
        for column, attname in LOAN_FIELDS.items():
            if column in values and attname not in fields:
                fields[attname] = values[column]
        if values.get("currency") == "" or "currency" not in values:
            fields["currency"] = cur
        if values.get("loan_type") == "":
            fields.pop("loan_type")
        loan_kind = fields.get("loan_type") or (existing.loan_type if existing else "individual")
        if loan_kind == LoanType.INDIVIDUAL:
            for column in ("group_name", "group_client_id"):
                if values.get(column):
                    self.problem(row, column, _("For group loans only; PA2 refuses it otherwise."))
                    ok = False
        if values.get("client_waiver_signed") is None:
            fields.pop("client_waiver_signed", None)
        if row.paths is None:  # from JSON the amount is the entreps' sum, each checked itself
            ok = self._precision(row, "amount", values["amount"], cur) and ok
        return fields if ok else None

    def check(self):
        self.refs = References(self.partner)
        for cleaned in self._rows("main", LOAN_COLUMNS, check=True):
            self._check_loans(cleaned)
        for cleaned in self._rows("members", MEMBER_COLUMNS, check=True):
            self._check_lines(cleaned, "members")
        for cleaned in self._rows("schedule", SCHEDULE_COLUMNS, check=True):
            self._check_lines(cleaned, "schedule")
        self._decide()
        return self.outcome

    def _check_loans(self, cleaned):
        for row, values in cleaned:
            key = row.raw.get("mis_loan_id")
            if values is None and isinstance(key, str) and key.strip() not in self.plans:
                # Its borrowers and schedule lines are skipped, not called orphans.
                self.plans[key.strip()] = LoanPlan(row, 0, "", False, action="error")
        cleaned = [(row, values) for row, values in cleaned if values is not None]
        keys = [v["mis_loan_id"] for _r, v in cleaned]
        existing = {
            loan.mis_loan_id: loan
            for loan in Loan.objects.filter(partner=self.partner, mis_loan_id__in=key_in(keys))
        }
        db_lines = self._db_lines([loan.pk for loan in existing.values()])
        for row, values in cleaned:
            key = values["mis_loan_id"]
            if key in self.plans:
                first = self.plans[key].row.number
                self.problem(
                    row,
                    "mis_loan_id",
                    _("Duplicate: the same id is already on row %(row)d.") % {"row": first}
                    if first
                    else _("Duplicate: the same id appears more than once."),
                )
                continue
            loan = existing.get(key)
            fields = self._resolve(row, values, loan)
            plan = LoanPlan(
                row=type(row)(row.number, {}, row.source, row.paths),
                amount=values["amount"],
                currency=(fields or {}).get("currency") or self.partner.default_currency,
                is_group=((fields or {}).get("loan_type") or getattr(loan, "loan_type", ""))
                == LoanType.GROUP,
            )
            self.plans[key] = plan
            if fields is None or not self._archived_photo(row, key, values):
                plan.action = "error"
                continue
            if loan is not None:
                plan.pk, plan.state, plan.label = loan.pk, loan.state, str(loan)
                plan.changed = [a for a, v in fields.items() if getattr(loan, a) != v]
                if key in self.photos and self.photos[key][2] != photo_digest(loan):
                    plan.changed.append("photo")
                plan.db_members, plan.db_schedule = db_lines.get(loan.pk, (None, None))

    def _archived_photo(self, row, key, values) -> bool:
        """The `photo` column of a file: a valid image in the uploaded .zip, or a problem."""
        name = values.get("photo")
        if not name:
            return True
        if self.photo_archive is None:
            self.problem(row, "photo", _("Upload the .zip of the photos with the file."))
            return False
        try:
            self.photos[key] = self.photo_archive.photo(name)
        except Invalid as exc:
            self.problem(row, "photo", exc.message)
            return False
        return True

    def _db_lines(self, pks):
        found: dict = {pk: (Lines(), Lines()) for pk in pks}
        positions: dict = {}
        for loan_id, client, amount, own_id, not_pictured in (
            LoanBorrower.objects.filter(loan_id__in=pks)
            .order_by("loan_id", "position", "id")
            .values_list(
                "loan_id", "borrower__mis_client_id", "amount", "mis_loan_id", "not_pictured"
            )
        ):
            position = positions[loan_id] = positions.get(loan_id, -1) + 1
            found[loan_id][0].add(amount, member_fp(position, client, amount, own_id, not_pictured))
        for loan_id, due, principal, interest in ScheduleLine.objects.filter(
            loan_id__in=pks
        ).values_list("loan_id", "due_date", "principal", "interest"):
            found[loan_id][1].add(principal, schedule_fp(due, principal, interest))
        return found

    def _check_lines(self, cleaned, kind):
        clients = set()
        if kind == "members":
            wanted = {v["mis_client_id"] for _r, v in cleaned}
            clients = set(
                Borrower.objects.filter(
                    partner=self.partner, mis_client_id__in=key_in(wanted)
                ).values_list("mis_client_id", flat=True)
            ) | (self.pending_clients & wanted)
        staging = self.staged.get(kind)
        staged = []
        for row, values in cleaned:
            plan = self.plans.get(values["mis_loan_id"])
            if plan is None:
                self.problem(row, "mis_loan_id", _("This loan is not in the loans input."))
                continue
            if plan.action == "error":
                continue
            # Staged: the lines of new loans. An existing loan's lines are often unchanged
            # (nothing to write); when they changed they are read again at the write.
            stage = staging is not None and plan.pk is None
            if kind == "members":
                position = plan.members.count if plan.members else 0
                self._check_member(row, values, plan, clients)
                if stage:
                    staged.append((values["mis_loan_id"], values["mis_client_id"],
                                   values["amount"], own_loan_id(values),
                                   bool(values.get("not_pictured")), position))  # fmt: skip
            else:
                self._check_instalment(row, values, plan)
                if stage:
                    staged.append((values["mis_loan_id"], values["due_date"],
                                   values["principal"], values.get("interest") or 0))  # fmt: skip
        if staging and self.outcome.ok:  # after a problem nothing is written: stop copying
            staging.add(staged)

    def _check_member(self, row, values, plan, clients):
        lines = plan.members = plan.members or Lines()
        client = values["mis_client_id"]
        if client not in clients:
            self.problem(
                row,
                "mis_client_id",
                _(
                    "No borrower with this MIS client id: import the borrower first, or give "
                    "first_name, last_name and gender on this row to create them."
                ),
            )
        elif client in lines.clients:
            self.problem(row, "mis_client_id", _("This borrower is already in this loan."))
        if values.get("not_pictured") and not plan.is_group:
            self.problem(row, "not_pictured", _("For group loans only."))
        self._precision(row, "amount", values["amount"], plan.currency)
        lines.clients.add(client)
        own = own_loan_id(values)
        # The fingerprint compares with the loan's lines in the portal: none for a new loan.
        fp = plan.pk and member_fp(
            lines.count, client, values["amount"], own, values.get("not_pictured")
        )
        lines.add(values["amount"], fp or 0)

    def _check_instalment(self, row, values, plan):
        lines = plan.schedule = plan.schedule or Lines()
        principal, interest = values["principal"], values.get("interest") or 0
        if principal == 0 and interest == 0:
            self.problem(row, "principal", _("An instalment needs principal or interest."))
        for column in ("principal", "interest"):
            self._precision(row, column, values.get(column), plan.currency)
        if lines.last_date is not None and values["due_date"] <= lines.last_date:
            self.problem(
                row,
                "due_date",
                _("Not after the loan's previous instalment (%(date)s): list them in date order.")
                % {"date": lines.last_date.isoformat()},
            )
        lines.last_date = values["due_date"]
        lines.add(principal, plan.pk and schedule_fp(values["due_date"], principal, interest) or 0)

    def _check_totals(self, plan):
        """The loan-level checks on a loan's summaries: shares and principal add up."""
        row, members, schedule = plan.row, plan.members, plan.schedule

        def money(amount):  # as the currency writes it: 900.00, not 900.0 or 900.000
            return quantize(amount, plan.currency)

        if members is not None:
            members.clients = frozenset()  # no longer needed: free it (one shared empty set)
            if members.total != plan.amount:
                self.problem(
                    row,
                    "amount",
                    _("The borrowers' amounts add up to %(total)s, not the loan amount %(amount)s.")
                    % {"total": money(members.total), "amount": money(plan.amount)},
                    json_path="entreps",
                )
            if not plan.is_group and members.count > 1:
                self.problem(
                    row,
                    "loan_type",
                    _("An individual loan has exactly one borrower; this one has %(n)d.")
                    % {"n": members.count},
                    json_path="entreps",
                )
        if schedule is not None and schedule.total != plan.amount:
            self.problem(
                row,
                "amount",
                _("The schedule's principal adds up to %(total)s, not the loan amount %(amount)s.")
                % {"total": money(schedule.total), "amount": money(plan.amount)},
                json_path="schedule",
            )

    def _decide(self):
        """After every row was read: per loan, create / update / new version / unchanged."""
        for key, plan in self.plans.items():
            if plan.action == "error":
                continue
            self._check_totals(plan)
            row, members, schedule = plan.row, plan.members, plan.schedule
            if plan.pk is None:
                self.note(row, key, "create")
                continue
            if members is not None and not members.same_as(plan.db_members):
                plan.changed.append("borrowers")
            if schedule is not None and not schedule.same_as(plan.db_schedule):
                plan.changed.append("schedule")
            if not plan.changed:
                plan.action = "unchanged"
            else:
                refused = reviewed.refusal(plan.label, plan.state)
                if refused:
                    self.problem(row, "mis_loan_id", refused, "conflict")
                    plan.action = "error"
                    continue
                plan.action = reviewed.action_for(plan.state)
            self.note(row, key, plan.action, plan.changed)

    def write(self):
        plans = self.plans
        pks: dict[str, int] = {}
        edited = []
        for cleaned in self._rows("main", LOAN_COLUMNS, check=False):
            self._write_loans(cleaned, pks, edited)
        rewrite = {
            "members": {
                k for k, p in plans.items()
                if p.members is not None and (p.action == "create" or "borrowers" in p.changed)
            },
            "schedule": {
                k for k, p in plans.items()
                if p.schedule is not None and (p.action == "create" or "schedule" in p.changed)
            },
        }  # fmt: skip
        old = {name: [pks[k] for k in keys if plans[k].pk] for name, keys in rewrite.items()}
        LoanBorrower.objects.filter(loan_id__in=old["members"]).delete()
        ScheduleLine.objects.filter(loan_id__in=old["schedule"]).delete()
        if self.staged:
            # New loans' lines were staged; an existing loan's changed lines are read again.
            new = {name: {k for k in keys if not plans[k].pk} for name, keys in rewrite.items()}
            self._write_staged(new, pks)
            rest = {name: keys - new[name] for name, keys in rewrite.items()}
            if any(rest.values()):
                self._write_lines(rest, pks)
        else:
            self._write_lines(rewrite, pks)
        for loan, changed in edited:
            reviewed.end_change(loan, self, changed)
        reviewed.recheck_created(Loan, [pks[k] for k, p in plans.items() if p.action == "create"])
        if self.collect_records:
            self.outcome.records = [{"mis_loan_id": k, "id": pk} for k, pk in pks.items()]
        return self.outcome

    def _write_staged(self, rewrite, pks):
        """The lines kept by the check (PostgreSQL), written by PostgreSQL with their history
        rows: those of the loans created or whose borrowers (schedule) changed."""
        for name, model, select, joins in (
            ("members", LoanBorrower, MEMBER_SELECT, MEMBER_JOIN),
            ("schedule", ScheduleLine, SCHEDULE_SELECT, ""),
        ):
            keys = sorted(rewrite[name])
            if not keys:
                continue
            expected = self.staged[name].write(
                model,
                select=select,
                joins=joins,
                params={"partner": self.partner.pk},
                keys=keys,
                loan_ids=[pks[k] for k in keys],
                user=self.actor,
            )
            if expected is not None:
                # Every line was checked; one not written (a borrower gone meanwhile) must
                # not pass silently.
                raise RuntimeError(f"{name}: {expected} lines staged but not written")

    def _write_lines(self, rewrite, pks):
        """The lines read and parsed again from their sources (SQLite, the API)."""
        positions: dict[str, int] = {}
        for cleaned in self._rows("members", MEMBER_COLUMNS, check=False):
            wanted = {v["mis_client_id"] for _r, v in cleaned}
            borrowers = dict(
                Borrower.objects.filter(
                    partner=self.partner, mis_client_id__in=key_in(wanted)
                ).values_list("mis_client_id", "pk")
            )
            shares = []
            for _row, values in cleaned:
                key = values["mis_loan_id"]
                if key not in rewrite["members"]:
                    continue
                position = positions[key] = positions.get(key, -1) + 1
                shares.append(
                    LoanBorrower(
                        loan_id=pks[key],
                        borrower_id=borrowers[values["mis_client_id"]],
                        amount=values["amount"],
                        mis_loan_id=own_loan_id(values),
                        not_pictured=bool(values.get("not_pictured")),
                        position=position,
                    )
                )
            insert_with_history(LoanBorrower, shares, user=self.actor)
        for cleaned in self._rows("schedule", SCHEDULE_COLUMNS, check=False):
            lines = [
                ScheduleLine(
                    loan_id=pks[values["mis_loan_id"]],
                    due_date=values["due_date"],
                    principal=values["principal"],
                    interest=values.get("interest") or 0,
                )
                for _row, values in cleaned
                if values["mis_loan_id"] in rewrite["schedule"]
            ]
            insert_with_history(ScheduleLine, lines, user=self.actor)

    def _write_loans(self, cleaned, pks, edited):
        plans = self.plans
        changing = [v["mis_loan_id"] for _r, v in cleaned if plans[v["mis_loan_id"]].pk]
        existing = {
            loan.mis_loan_id: loan
            for loan in Loan.objects.filter(partner=self.partner, mis_loan_id__in=changing)
        }
        new = []
        for row, values in cleaned:
            key = values["mis_loan_id"]
            plan = plans[key]
            if plan.action not in WRITING:
                if plan.pk:
                    pks[key] = plan.pk
                continue
            if plan.action == "create":
                loan = Loan(
                    partner=self.partner,
                    mis_loan_id=key,
                    created_by=self.actor,
                    updated_by=self.actor,
                    **self._resolve(row, values, None),
                )
                self._set_photo(loan, key)
                new.append(loan)
                continue
            loan = reviewed.begin_change(existing[key], self)
            for attname, value in self._resolve(row, values, loan).items():
                setattr(loan, attname, value)
            self._set_photo(loan, key)
            loan.updated_by = self.actor
            loan.save()
            pks[key] = loan.pk
            edited.append((loan, plan.changed))
        created = insert_with_history(Loan, new, user=self.actor)
        audit_records_created(records=created, actor=self.actor, data=self.audit_data)
        for loan in created:
            pks[loan.mis_loan_id] = loan.pk

    def _set_photo(self, loan, key):
        if key in self.photos:
            data, extension, _digest = self.photos[key]
            data = data() if callable(data) else data  # a file's photo is read from its .zip
            loan.photo.save(f"{key[:40]}.{extension}", ContentFile(data), save=False)
            photo_copies_make(record=loan, save=False)  # the caller's save stores them
            self.stored_files += [loan.photo.name, loan.photo_page.name, loan.photo_kiva.name]


def own_loan_id(values):
    """The borrower's own MIS loan id, empty when it is the loan's (the model's convention)."""
    own = values.get("borrower_loan_id") or ""
    return "" if own == values["mis_loan_id"] else own


def photo_digest(loan):
    if not loan.photo:
        return None
    try:
        with loan.photo.open("rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None
