"""The loan import's decision per loan (after every row was checked) and its write pass."""

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from integrations.mis.importers import reviewed
from integrations.mis.importers.bulk import insert_with_history, key_in
from integrations.mis.importers.loan_parts import LOAN_COLUMNS, MEMBER_COLUMNS, SCHEDULE_COLUMNS
from integrations.mis.importers.loans import own_loan_id
from kivaportal.common.photos import photo_copies_make
from kivaportal.lending.models import Borrower, Loan, LoanBorrower, ScheduleLine
from kivaportal.workflow.transitions import audit_records_created

WRITING = ("create", "update", "new_version")


def decide(imp):
    """Loan-level checks on the summaries, then create / update / new version / unchanged."""
    for key, plan in imp.plans.items():
        if plan.action == "error":
            continue
        row, members, schedule = plan.row, plan.members, plan.schedule
        if members is not None:
            members.clients = frozenset()  # no longer needed: free it (one shared empty set)
            if members.total != plan.amount:
                imp.problem(
                    row,
                    "amount",
                    _("The borrowers' amounts add up to %(total)s, not the loan amount %(amount)s.")
                    % {"total": members.total, "amount": plan.amount},
                )
            if not plan.is_group and members.count > 1:
                imp.problem(
                    row,
                    "loan_type",
                    _("An individual loan has exactly one borrower; this one has %(n)d.")
                    % {"n": members.count},
                )
        if schedule is not None and schedule.total != plan.amount:
            imp.problem(
                row,
                "amount",
                _("The schedule's principal adds up to %(total)s, not the loan amount %(amount)s.")
                % {"total": schedule.total, "amount": plan.amount},
            )
        if plan.pk is None:
            imp.note(row, key, "create")
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
                imp.problem(row, "mis_loan_id", refused, "conflict")
                plan.action = "error"
                continue
            plan.action = reviewed.action_for(plan.state)
        imp.note(row, key, plan.action, plan.changed)


def write(imp):
    plans = imp.plans
    pks: dict[str, int] = {}
    edited = []
    for cleaned in imp._rows("main", LOAN_COLUMNS, check=False):
        _write_loans(imp, cleaned, pks, edited)
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
    positions: dict[str, int] = {}
    for cleaned in imp._rows("members", MEMBER_COLUMNS, check=False):
        borrowers = dict(
            Borrower.objects.filter(
                partner=imp.partner,
                mis_client_id__in=key_in({v["mis_client_id"] for _r, v in cleaned}),
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
        insert_with_history(LoanBorrower, shares, user=imp.actor)
    for cleaned in imp._rows("schedule", SCHEDULE_COLUMNS, check=False):
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
        insert_with_history(ScheduleLine, lines, user=imp.actor)
    for loan, changed in edited:
        reviewed.end_change(loan, imp, changed)
    if imp.collect_records:
        imp.outcome.records = [{"mis_loan_id": k, "id": pk} for k, pk in pks.items()]


def _write_loans(imp, cleaned, pks, edited):
    plans = imp.plans
    changing = [v["mis_loan_id"] for _r, v in cleaned if plans[v["mis_loan_id"]].pk]
    existing = {
        loan.mis_loan_id: loan
        for loan in Loan.objects.filter(partner=imp.partner, mis_loan_id__in=changing)
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
                partner=imp.partner,
                mis_loan_id=key,
                created_by=imp.actor,
                updated_by=imp.actor,
                **imp._resolve(row, values, None),
            )
            _set_photo(imp, loan, key)
            new.append(loan)
            continue
        loan = reviewed.begin_change(existing[key], imp)
        for attname, value in imp._resolve(row, values, loan).items():
            setattr(loan, attname, value)
        _set_photo(imp, loan, key)
        loan.updated_by = imp.actor
        loan.save()
        pks[key] = loan.pk
        edited.append((loan, plan.changed))
    created = insert_with_history(Loan, new, user=imp.actor)
    audit_records_created(records=created, actor=imp.actor, data=imp.audit_data)
    for loan in created:
        pks[loan.mis_loan_id] = loan.pk


def _set_photo(imp, loan, key):
    if key in imp.photos:
        data, extension, _digest = imp.photos[key]
        loan.photo.save(f"{key[:40]}.{extension}", ContentFile(data), save=False)
        photo_copies_make(record=loan, save=False)  # the caller's save stores them
