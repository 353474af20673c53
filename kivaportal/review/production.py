"""Stage and production: what staff do with the records that were only ever sent to Kiva's
stage once the partner's connection is production. The rule (a submission belongs to one
environment; a record's "sent" is per environment): docs/kiva.md, "Stage and production".
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from integrations.kiva.models import Environment
from integrations.kiva.selectors import partner_connection
from kivaportal.common.messages import message
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.pipeline.models import Submission, SubmissionState
from kivaportal.review.services import record_start_new_version, record_submit
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import IllegalTransition, NotAllowed, ReviewError
from kivaportal.workflow.transitions import audit_record, record_lock


@dataclass
class ProductionResult:
    done: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # (record, reason)


def records_send_to_production(*, records, by) -> ProductionResult:
    """Each record sent only to stage goes to production the normal way: a new version,
    submitted for review (another person approves it under four eyes); its approval sends it
    through the production connection. Each record on its own; a refusal names the reason."""
    return _each(records, lambda record: _send_one(record, by))


def records_leave_out_of_production(*, records, by) -> ProductionResult:
    """Staff decide a record sent only to stage is not to go to production: it leaves the
    list, audited; its stage submissions stay as they were."""
    return _each(records, lambda record: _leave_one(record, by))


def _each(records, act) -> ProductionResult:
    result = ProductionResult()
    for record in records:
        try:
            result.done.append(act(record))
        except ReviewError as refusal:
            result.refused.append((record, refusal.message))
    return result


def _stage_submissions(record):
    """The current version's submissions, when all of them were sent to another environment
    than the partner's production connection and none was left out: else a refusal."""
    connection = partner_connection(record.partner_id, active_only=True)
    if connection is None or connection.environment != Environment.PRODUCTION:
        raise IllegalTransition(_("The partner's Kiva connection is not production yet."))
    submissions = list(
        Submission.objects.filter(
            content_type__model=record._meta.model_name,
            content_type__app_label=record._meta.app_label,
            object_id=record.pk,
            record_version=record.version,
        )
    )
    if (
        record.state != "sent"
        or not submissions
        or any(
            s.state != SubmissionState.SENT
            or s.environment in (Environment.PRODUCTION, "")
            or s.left_out_at is not None
            for s in submissions
        )
    ):
        raise IllegalTransition(_("It is not a record sent to stage only (any more)."))
    return submissions


@transaction.atomic
def _send_one(record, by):
    record = record_lock(record)
    stage = _stage_submissions(record)
    record = record_start_new_version(
        record=record,
        by=by,
        comment=message(gettext_noop("To send to Kiva production: it was sent to stage only.")),
    )
    record = record_submit(record=record, by=by)
    audit_record(
        record=record,
        actor=by,
        action=AuditAction.SENT_TO_PRODUCTION,
        from_state=record.state,
        to_state=record.state,
        data={"stage_submissions": [s.pk for s in stage], "environment": stage[0].environment},
    )
    return record


@transaction.atomic
def _leave_one(record, by):
    if not user_can(by, Action.APPROVE, record.partner_id):
        raise NotAllowed(_("Only reviewers and partner admins decide what goes to production."))
    record = record_lock(record)
    stage = _stage_submissions(record)
    Submission.objects.filter(pk__in=[s.pk for s in stage]).update(left_out_at=timezone.now())
    audit_record(
        record=record,
        actor=by,
        action=AuditAction.LEFT_OUT_OF_PRODUCTION,
        from_state=record.state,
        to_state=record.state,
        data={"stage_submissions": [s.pk for s in stage], "environment": stage[0].environment},
    )
    return record
