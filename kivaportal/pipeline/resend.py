"""Sending again the lines Kiva refused on a sent repayment report: a new version of the
report holding just those lines (`repayments.ResendLine`), corrected by staff, reviewed
(four eyes) and sent once through the outbox like any version (docs/pipeline.md, section 6).
"""

import json
from decimal import Decimal, InvalidOperation

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.translation import gettext as _

from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.pipeline.models import Submission, SubmissionKind, SubmissionState
from kivaportal.repayments.models import RepaymentReport, ResendLine
from kivaportal.repayments.selectors import loans_by_sent_id
from kivaportal.repayments.services import report_loans_sent
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import IllegalTransition, NotAllowed, ReviewError
from kivaportal.workflow.states import RecordState
from kivaportal.workflow.transitions import record_lock, record_recheck, record_transition

# Kiva took a line with a problem of these severities (it reported, it did not refuse).
NOT_REFUSED = ("warning", "info")


def _line_of(items: list, problem: dict):
    """The line of a sent chunk a problem is about: by its index, checked against its loan
    id, else the first line with that loan id."""
    loan_id = str(problem.get("loan_id") or "")
    index = problem.get("index")
    item = items[index] if isinstance(index, int) and 0 <= index < len(items) else None
    if isinstance(item, dict) and (not loan_id or str(item.get("loan_id", "")) == loan_id):
        return item
    if loan_id:
        for item in items:
            if isinstance(item, dict) and str(item.get("loan_id", "")) == loan_id:
                return item
    return None


def _refused(problem) -> bool:
    return isinstance(problem, dict) and (
        str(problem.get("severity") or "").lower() not in NOT_REFUSED
    )


def report_chunk_taken(submission):
    """A chunk of a report is sent: record the loans of the lines Kiva took as reported for
    the month (`repayments.SentRepaymentLoan`), so later months expect them. Call in the
    transaction that writes the outcome."""
    if submission.kind != SubmissionKind.REPAYMENTS:
        return
    try:
        items = json.loads(submission.payload).get("repayments", [])
    except (ValueError, AttributeError):
        return
    sent = [str(item.get("loan_id", "")) for item in items if isinstance(item, dict)]
    refused = set()
    for problem in submission.problems or ():
        if _refused(problem):
            item = _line_of(items, problem)
            refused.add(str(item.get("loan_id", "")) if item else str(problem.get("loan_id", "")))
    report_loans_sent(
        report_id=submission.object_id,
        loan_ids=sent,
        refused=refused,
        environment=submission.environment,
    )


def report_refused_lines(report, version=None) -> list[tuple[dict, dict]]:
    """(line as sent, Kiva's problem) for each line Kiva refused on a version of the report
    (the current one by default), across all its chunks, read from the exact JSON each chunk
    sent. A problem of severity warning is not a refusal; one naming no line is left out."""
    submissions = Submission.objects.filter(
        content_type=ContentType.objects.get_for_model(report),
        object_id=report.pk,
        record_version=report.version if version is None else version,
        kind=SubmissionKind.REPAYMENTS,
        state=SubmissionState.SENT,
    ).order_by("chunk")
    found: dict[tuple[str, str], tuple[dict, dict]] = {}
    for submission in submissions.exclude(problems=[]):
        try:
            items = json.loads(submission.payload).get("repayments", [])
        except (ValueError, AttributeError):
            continue
        for problem in submission.problems:
            if not _refused(problem):
                continue
            item = _line_of(items, problem)
            if item is not None:
                key = (str(item.get("loan_id", "")), str(item.get("client_id", "")))
                found.setdefault(key, (item, problem))
    return list(found.values())


def _amount(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal("0")


@transaction.atomic
def report_resend_refused(*, report, by, comment=""):
    """Staff: reopen a sent report as a new version holding just the lines Kiva refused on
    the sent one, to correct and send again. Audited; the sent version keeps its
    submissions, Kiva's answer and its history."""
    if not isinstance(report, RepaymentReport):
        raise ReviewError(_("Only a repayment report has lines to send again."))
    report = record_lock(report)
    if not user_can(by, Action.EDIT, report.partner_id):
        raise NotAllowed(_("Your role does not allow preparing reports."))
    if report.state != RecordState.SENT:
        raise IllegalTransition(
            _("Only a sent report's refused lines can be sent again; this one is %(state)s.")
            % {"state": report.get_state_display().lower()}
        )
    refused = report_refused_lines(report)
    if not refused:
        raise ReviewError(_("Kiva refused no line of this version: nothing to send again."))
    from_version = report.version
    report = record_transition(
        report,
        "start_new_version",
        by=by,
        action=AuditAction.RESEND_REFUSED,
        comment=comment,
        data={"from_version": from_version, "lines": len(refused)},
    )
    type(report).objects.filter(pk=report.pk).update(updated_by=by)
    report.updated_by = by
    loans = loans_by_sent_id(report.partner_id, {str(item.get("loan_id")) for item, _p in refused})
    ResendLine.objects.bulk_create(
        ResendLine(
            report=report,
            version=report.version,
            from_version=from_version,
            loan_id=loans.get(str(item.get("loan_id"))),
            mis_loan_id=str(item.get("loan_id", ""))[:64],
            client_id=str(item.get("client_id", ""))[:64],
            amount=_amount(item.get("amount")),
            sent_amount=_amount(item.get("amount")),
            code=str(problem.get("code") or "")[:100],
            severity=str(problem.get("severity") or "")[:20],
            details=str(problem.get("details") or problem.get("message") or ""),
        )
        for item, problem in refused
    )
    record_recheck(record=report)
    return report
