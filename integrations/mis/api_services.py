"""The JSON intake API's services: one call is checked whole, then written whole, or refused
whole with every problem named by its JSON field."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from integrations.mis import api_mapping
from integrations.mis.fields import ISO
from integrations.mis.importers.base import Problem, intake_lock
from integrations.mis.importers.borrowers import BorrowerImporter
from integrations.mis.importers.journals import JournalImporter
from integrations.mis.importers.loans import LoanImporter
from integrations.mis.importers.repayments import RepaymentImporter
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan, LoanBorrower
from kivaportal.review.services import record_submit_from_intake
from kivaportal.workflow.errors import BlockingErrors, IllegalTransition
from kivaportal.workflow.models import SUBMIT_STATES  # read from the transition table

FLAT = {
    "repayments": (api_mapping.repayments, RepaymentImporter),
    "journals": (api_mapping.journals, JournalImporter),
    "borrowers": (api_mapping.borrowers, BorrowerImporter),
}


@dataclass
class IntakeResult:
    status: int
    body: dict


class Refused(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("refused")
        self.problems = problems


def refusal(problems: list[Problem]) -> IntakeResult:
    # One error once: the same message for the same path says nothing more the second time.
    problems = list({(p.column, p.message, p.code): p for p in problems}.values())
    conflict = all(p.code == "conflict" for p in problems)
    return IntakeResult(
        409 if conflict else 400,
        {
            "code": "api.conflict" if conflict else "api.validation_error",
            "message": _("The request has errors; nothing was saved."),
            "errors": [p.as_dict() for p in problems],
        },
    )


def _importer_kwargs(caller):
    return {
        "partner": caller.partner,
        "fmt": ISO,
        "actor": caller.owner,
        "via": caller.audit_data,
        "preview_limit": settings.INTAKE_API_MAX_ITEMS,
    }


def _submit(record, caller):
    try:
        return record_submit_from_intake(record=record, by=caller.owner, data=caller.audit_data)
    except BlockingErrors as exc:
        raise Refused(
            [Problem(None, f.field, f.message, code="blocking") for f in exc.findings]
        ) from exc


def intake_loan_draft(*, caller, body, submit=False, link=str) -> IntakeResult:
    """`link(path)` makes the absolute URL of a review page for the answer."""
    mapped = api_mapping.loan_draft(body)
    if not mapped.sources:
        return refusal(mapped.problems)
    kwargs = _importer_kwargs(caller)
    pending = {
        r.raw["mis_client_id"].strip()
        for r in mapped.borrowers
        if isinstance(r.raw.get("mis_client_id"), str)
    }
    try:
        with transaction.atomic():
            intake_lock(partner=caller.partner)
            found = _earlier_loan(caller.partner, body, mapped.key)
            if found:
                mapped.rekey(found)
            people = BorrowerImporter(sources={"main": mapped.borrowers}, **kwargs)
            loans = LoanImporter(
                sources=mapped.sources, pending_clients=pending, photos=mapped.photos, **kwargs
            )
            people.check()
            loans.check()
            problems = mapped.problems + people.outcome.problems + loans.outcome.problems
            if problems:
                raise Refused(problems)
            people.write()
            loans.write()
            loan = Loan.objects.get(partner=caller.partner, mis_loan_id=mapped.key)
            if submit and loan.state in SUBMIT_STATES:
                loan = _submit(loan, caller)
    except Refused as exc:
        return refusal(exc.problems)
    except IllegalTransition as exc:  # taken for Kiva since it was checked: nothing written
        return refusal([Problem(None, "", exc.message, code="conflict")])
    done = loans.outcome.preview[0]
    return IntakeResult(
        200,
        {
            "code": "api.success",
            "message": _("Loan %(loan)s: %(action)s.") % {"loan": loan, "action": done["action"]},
            # The portal's id and page. Not `loan_draft_uuid`: that is Kiva's draft, which
            # exists only once a reviewer approved the loan and the portal sent it.
            "loan": {
                "portal_id": loan.pk,
                "mis_loan_id": loan.mis_loan_id,
                "state": loan.state,
                "version": loan.version,
                "action": done["action"],
                "changed": done["changed"],
                "review_url": link(review_path(loan, "loans")),
            },
            "ignored_fields": mapped.ignored,
        },
    )


def review_path(record, kind) -> str:
    return reverse("review:record", args=[record.partner_id, kind, record.pk])


def _earlier_loan(partner, body, key) -> str | None:
    """The MIS id of the loan an earlier post of these borrowers made under another key (a
    group loan keyed by internal_loan_id, now posted as an individual loan, or the reverse),
    so a correction updates it instead of making a second loan; None if `key` is known or
    nothing (or more than one loan) matches."""

    def ids(name):  # only what could be an id: the importers refuse the rest, by its path
        values = (e.get(name) for e in body["entreps"] if isinstance(e, dict))
        return {v.strip() for v in values if isinstance(v, str) and v.strip() and "\x00" not in v}

    if "\x00" in key or Loan.objects.filter(partner=partner, mis_loan_id=key).exists():
        return None
    loan_ids, clients = ids("loan_id"), ids("client_id")
    if not loan_ids or not clients:
        return None
    found = set(
        LoanBorrower.objects.filter(
            Q(mis_loan_id__in=loan_ids) | Q(loan__mis_loan_id__in=loan_ids),
            loan__partner=partner,
            borrower__mis_client_id__in=clients,
        ).values_list("loan_id", "loan__mis_loan_id")
    )
    if len(found) != 1:
        return None
    ((loan_id, mis_loan_id),) = found
    # The same borrowers, not one of a group's: a group member's own loan stays its group's.
    if LoanBorrower.objects.filter(loan_id=loan_id).count() != len(body["entreps"]):
        return None
    return mis_loan_id


def intake_records(*, caller, kind, body, submit=False, link=str) -> IntakeResult:
    """Repayments, journals or borrowers: a list of records, all saved or none."""
    mapper, importer_class = FLAT[kind]
    mapped = mapper(body)
    rows = mapped.sources.get("main", [])
    if len(rows) > settings.INTAKE_API_MAX_ITEMS:
        return refusal(
            [
                Problem(
                    None,
                    kind,
                    _("At most %(n)d items per call.") % {"n": settings.INTAKE_API_MAX_ITEMS},
                )
            ]
        )
    if mapped.problems and not rows:
        return refusal(mapped.problems)
    importer = importer_class(sources=mapped.sources, **_importer_kwargs(caller))
    try:
        with transaction.atomic():
            intake_lock(partner=caller.partner)
            importer.check()
            problems = mapped.problems + importer.outcome.problems
            if problems:
                raise Refused(problems)
            importer.write()
            if submit and kind == "journals":
                _submit_journals(rows, caller)
    except Refused as exc:
        return refusal(exc.problems)
    except IllegalTransition as exc:  # taken for Kiva since it was checked: nothing written
        return refusal([Problem(None, "", exc.message, code="conflict")])
    outcome = importer.outcome.as_dict()
    return IntakeResult(
        200,
        {
            "code": "api.success",
            "message": _("%(n)d records received.") % {"n": len(rows)},
            **{k: outcome[k] for k in ("created", "updated", "new_versions", "unchanged")},
            "results": _results(kind, caller, rows, outcome["preview"], link),
            "ignored_fields": mapped.ignored,
        },
    )


def _results(kind, caller, rows, preview, link) -> list[dict]:
    """One result per item, in the request's order; for journals, the record each became."""
    results = [{"key": p["key"], "action": p["action"], "changed": p["changed"]} for p in preview]
    if kind != "journals":
        return results
    found = {
        (j.loan.mis_loan_id, j.borrower.mis_client_id if j.borrower else "", j.subject): j
        for j in Journal.objects.filter(
            partner=caller.partner,
            loan__mis_loan_id__in={_text(r.raw.get("mis_loan_id")) for r in rows},
        ).select_related("loan", "borrower")
    }
    for result, row in zip(results, rows, strict=False):
        raw = row.raw
        journal = found.get(
            (
                _text(raw.get("mis_loan_id")),
                _text(raw.get("mis_client_id")),
                _text(raw.get("subject")),
            )
        )
        if journal is not None:
            result.update(
                portal_id=journal.pk,
                state=journal.state,
                version=journal.version,
                review_url=link(review_path(journal, "journals")),
            )
    return results


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _submit_journals(rows, caller):
    for row in rows:
        for journal in Journal.objects.filter(
            partner=caller.partner,
            loan__mis_loan_id=str(row.raw["mis_loan_id"]).strip(),
            subject=str(row.raw["subject"]).strip(),
            state__in=SUBMIT_STATES,
        ):
            _submit(journal, caller)
