"""What a record's review page shows beyond the record: what its kind adds (the registry,
kivaportal/kinds.py), its checks, its timeline, the JSON for Kiva, what was sent and, for a
new version, what changed since Kiva last received it."""

from django.urls import reverse

from kivaportal.common.checks import errors, warnings
from kivaportal.kinds import kind_of
from kivaportal.pipeline.diff import changes_since_sent
from kivaportal.pipeline.preview import payload_preview
from kivaportal.pipeline.resend import report_refused_lines
from kivaportal.pipeline.selectors import (
    record_send_progress,
    record_submissions,
    version_problems,
)
from kivaportal.repayments.models import RepaymentReport
from kivaportal.repayments.selectors import resend_lines
from kivaportal.review.timeline import record_timeline
from kivaportal.workflow.states import RecordState


def detail_context(record, page_number=None, params=None) -> dict:
    """`params`: the page's query (a report's line search and filter)."""
    submissions = record_submissions(record)
    problems_now = version_problems(submissions, record.version)
    params = {key: params.get(key) for key in params or {}}
    # A report's "lines with Kiva problems" filter: the loans Kiva named on this version.
    params["problem_loans"] = {str(p.get("loan_id")) for _c, p in problems_now if p.get("loan_id")}
    context = kind_of(record).page(record, page_number, params)
    findings = context.pop("findings")
    related = context.pop("timeline_related", ())
    context["errors"], context["warnings"] = errors(findings), warnings(findings)
    context["timeline"] = record_timeline(record, related=related)
    totals = context.get("totals")
    first_lines = context.pop("first_lines", None)
    if record.state != RecordState.SENT and context.get("lines_fresh", True):
        # A sent record shows what was sent (its submissions), not what would be sent now;
        # a report whose lines are being computed again, nothing until they are.
        context["payload"] = payload_preview(
            record, line_count=totals.lines if totals else None, first_lines=first_lines
        )
    context["submissions"] = submissions
    context["problems_now"] = problems_now
    if isinstance(record, RepaymentReport):
        # A loan's review page is its queue's URL and its id (one reverse, not one a line).
        context["loans_url"] = reverse("review:queue", args=[record.partner_id, "loans"])
        context["progress"] = record_send_progress(record)
        context["resend_lines"] = list(resend_lines(record).select_related("loan"))
        if record.state == RecordState.SENT:
            context["refused_lines"] = len(report_refused_lines(record))
    if record.version > 1:
        context["since_sent"] = changes_since_sent(record)
    return context
