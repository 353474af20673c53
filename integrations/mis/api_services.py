"""The JSON intake API's services: one call is checked whole, then written whole, or refused
whole with every problem named by its JSON field."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from integrations.mis import api_mapping
from integrations.mis.fields import ISO
from integrations.mis.importers.base import Problem, intake_lock
from integrations.mis.importers.borrowers import BorrowerImporter
from integrations.mis.importers.journals import JournalImporter
from integrations.mis.importers.loans import LoanImporter
from integrations.mis.importers.repayments import RepaymentImporter
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan
from kivaportal.review.errors import BlockingErrors
from kivaportal.review.services import record_submit_from_intake
from kivaportal.review.states import RecordState

FLAT = {
    "repayments": (api_mapping.repayments, RepaymentImporter),
    "journals": (api_mapping.journals, JournalImporter),
    "borrowers": (api_mapping.borrowers, BorrowerImporter),
}
DRAFT_NAMESPACE = uuid.UUID("6f1c1e0a-3d4b-5a8e-9c2f-4b7d8e9a0c11")


@dataclass
class IntakeResult:
    status: int
    body: dict


class Refused(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("refused")
        self.problems = problems


def refusal(problems: list[Problem]) -> IntakeResult:
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


def intake_loan_draft(*, caller, body, submit=False) -> IntakeResult:
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
            if submit and loan.state == RecordState.DRAFT:
                loan = _submit(loan, caller)
    except Refused as exc:
        return refusal(exc.problems)
    done = loans.outcome.preview[0]
    return IntakeResult(
        200,
        {
            "code": "api.success",
            "message": _("Loan %(loan)s: %(action)s.") % {"loan": loan, "action": done["action"]},
            "loan_draft_uuid": str(uuid.uuid5(DRAFT_NAMESPACE, str(loan.pk))),
            "loan": {
                "id": loan.pk,
                "mis_loan_id": loan.mis_loan_id,
                "state": loan.state,
                "version": loan.version,
                "action": done["action"],
                "changed": done["changed"],
            },
            "ignored_fields": mapped.ignored,
        },
    )


def intake_records(*, caller, kind, body, submit=False) -> IntakeResult:
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
    outcome = importer.outcome.as_dict()
    return IntakeResult(
        200,
        {
            "code": "api.success",
            "message": _("%(n)d records received.") % {"n": len(rows)},
            **{k: outcome[k] for k in ("created", "updated", "new_versions", "unchanged")},
            "results": [
                {"key": p["key"], "action": p["action"], "changed": p["changed"]}
                for p in outcome["preview"]
            ],
            "ignored_fields": mapped.ignored,
        },
    )


def _submit_journals(rows, caller):
    for row in rows:
        for journal in Journal.objects.filter(
            partner=caller.partner,
            loan__mis_loan_id=str(row.raw["mis_loan_id"]).strip(),
            subject=str(row.raw["subject"]).strip(),
            state=RecordState.DRAFT,
        ):
            _submit(journal, caller)
