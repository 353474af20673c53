"""The JSON intake API's services: one call is checked whole, then written whole, or refused
whole with every problem named by its JSON field."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from integrations.mis import payloads
from integrations.mis.fields import ISO
from integrations.mis.importers.base import Problem
from integrations.mis.importers.borrowers import BorrowerImporter
from integrations.mis.importers.journals import JournalImporter
from integrations.mis.importers.loans import LoanImporter
from integrations.mis.importers.repayments import RepaymentImporter
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan
from kivaportal.partners.models import Partner
from kivaportal.review.services import record_submit_from_intake
from kivaportal.workflow.errors import BlockingErrors
from kivaportal.workflow.states import RecordState

FLAT = {
    "repayments": (payloads.repayments, RepaymentImporter),
    "journals": (payloads.journals, JournalImporter),
    "borrowers": (payloads.borrowers, BorrowerImporter),
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


def _importer_kwargs(api_key):
    return {
        "partner": api_key.partner,
        "fmt": ISO,
        "api_key_label": api_key.prefix,
        "preview_limit": settings.INTAKE_API_MAX_ITEMS,
    }


def _lock(partner):
    # The same lock the file import takes: one intake at a time per partner.
    list(Partner.objects.select_for_update().filter(pk=partner.pk).values_list("pk"))


def _submit(record, api_key):
    try:
        return record_submit_from_intake(record=record, api_key_label=api_key.prefix)
    except BlockingErrors as exc:
        raise Refused(
            [Problem(None, f.field, f.message, code="blocking") for f in exc.findings]
        ) from exc


def intake_loan_draft(*, api_key, body, submit=False) -> IntakeResult:
    mapped = payloads.loan_draft(body)
    if not mapped.sources:
        return refusal(mapped.problems)
    kwargs = _importer_kwargs(api_key)
    pending = {
        r.raw["mis_client_id"].strip()
        for r in mapped.borrowers
        if isinstance(r.raw.get("mis_client_id"), str)
    }
    try:
        with transaction.atomic():
            _lock(api_key.partner)
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
            loan = Loan.objects.get(partner=api_key.partner, mis_loan_id=mapped.key)
            if submit and loan.state == RecordState.DRAFT:
                loan = _submit(loan, api_key)
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


def intake_records(*, api_key, kind, body, submit=False) -> IntakeResult:
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
    importer = importer_class(sources=mapped.sources, **_importer_kwargs(api_key))
    try:
        with transaction.atomic():
            _lock(api_key.partner)
            importer.check()
            problems = mapped.problems + importer.outcome.problems
            if problems:
                raise Refused(problems)
            importer.write()
            if submit and kind == "journals":
                _submit_journals(rows, api_key)
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


def _submit_journals(rows, api_key):
    for row in rows:
        for journal in Journal.objects.filter(
            partner=api_key.partner,
            loan__mis_loan_id=str(row.raw["mis_loan_id"]).strip(),
            subject=str(row.raw["subject"]).strip(),
            state=RecordState.DRAFT,
        ):
            _submit(journal, api_key)
