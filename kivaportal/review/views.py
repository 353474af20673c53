"""The review pages: dashboard, queues, record pages and the actions on them.

Views stay thin: they scope, read through selectors, act through `review.services`, and
turn a refusal into a message that says why.
"""

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_fsm import can_proceed

from integrations.kiva.models import Environment, KivaConnection
from integrations.kiva.services import connection_stage_approval_record
from kivaportal.common.csv_export import CsvWriter
from kivaportal.common.paging import LargeTablePaginator
from kivaportal.kinds import KINDS, kind_of
from kivaportal.lending.selectors import kiva_summary
from kivaportal.partners.models import Partner
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import partner_kiva_environment, user_can
from kivaportal.pipeline import services as outbox
from kivaportal.pipeline.models import Submission, SubmissionState
from kivaportal.pipeline.resend import report_resend_refused
from kivaportal.pipeline.selectors import (
    needs_attention_cases,
    partner_last_reconciliation,
    record_send_progress,
    record_submissions,
    records_sent_elsewhere,
    sent_with_problems_counts,
    version_problems,
)
from kivaportal.pipeline.tasks import kiva_reconcile_partner
from kivaportal.reference.models import Activity, Location
from kivaportal.repayments.models import RepaymentReport, ResendLine
from kivaportal.repayments.pages import report_stored_lines
from kivaportal.repayments.services import repayment_report_open
from kivaportal.review import production, selectors, services
from kivaportal.review.details import detail_context
from kivaportal.review.forms import QueueFilterForm
from kivaportal.review.review_time import review_opened
from kivaportal.workflow.errors import ReviewError
from kivaportal.workflow.states import RecordState

PAGE_SIZE = 50
# A searched queue counts its matches up to this many, then says "more than" (paging.py).
SEARCH_COUNTED_UP_TO = 1000


def _partner(request, partner_id):
    # Another partner's id is a 404: the page must not tell it exists.
    return get_object_or_404(Partner.objects.for_user(request.user), pk=partner_id)


def _kind(slug):
    try:
        return KINDS[slug]
    except KeyError:
        raise Http404 from None


def _record(request, partner, kind, pk):
    queryset = kind.model.objects.for_user(request.user).filter(partner=partner)
    return get_object_or_404(kind.load(queryset), pk=pk)


@login_required
def home(request):
    partners = list(Partner.objects.for_user(request.user).filter(is_active=True))
    if len(partners) == 1:
        return redirect("review:dashboard", partner_id=partners[0].pk)
    return render(request, "review/home.html", {"partners": partners})


@login_required
def dashboard(request, partner_id):
    partner = _partner(request, partner_id)
    return render(
        request,
        "review/dashboard.html",
        {
            "partner": partner,
            "summaries": selectors.dashboard_summary(partner),
            "states": RecordState.choices,
            "kiva": kiva_summary(
                partner,
                waiting_days=settings.KIVA_PUBLISH_WAIT_DAYS,
                environment=partner_kiva_environment(partner.pk),
            ),
            "last_reconciliation": partner_last_reconciliation(partner),
            "sent_with_problems": sent_with_problems_counts(partner),
            "needs_attention": Submission.objects.filter(
                partner=partner, state=SubmissionState.NEEDS_ATTENTION
            ).count(),
            "stage_only": _stage_only_count(partner),
            "can_manage": user_can(request.user, Action.MANAGE, partner.pk),
            "returned": selectors.returned_to(partner, request.user),
            "time_saved": selectors.time_saved(partner),
        },
    )


def _stage_only_count(partner) -> int:
    """How many records were sent to stage only, once the connection is production."""
    connection = KivaConnection.objects.filter(partner=partner).first()
    if connection is None or connection.environment != Environment.PRODUCTION:
        return 0
    return len(records_sent_elsewhere(partner, connection.environment))


# The queue's columns: (sort key or None, label, numeric), per kind.
COLUMNS = {
    "loans": (
        ("record", gettext_lazy("Record"), False),
        ("state", gettext_lazy("State"), False),
        ("amount", gettext_lazy("Amount"), True),
        (None, gettext_lazy("At Kiva"), False),  # Kiva's side: shown and filtered, not sorted
        ("preparer", gettext_lazy("Prepared by"), False),
        ("created", gettext_lazy("Created"), False),
        ("errors", gettext_lazy("Errors"), True),
        ("warnings", gettext_lazy("Warnings"), True),
    ),
    "journals": (
        ("record", gettext_lazy("Record"), False),
        ("state", gettext_lazy("State"), False),
        ("loan", gettext_lazy("Loan"), False),
        ("preparer", gettext_lazy("Prepared by"), False),
        ("created", gettext_lazy("Created"), False),
        ("errors", gettext_lazy("Errors"), True),
        ("warnings", gettext_lazy("Warnings"), True),
    ),
    "reports": (
        ("record", gettext_lazy("Record"), False),
        ("state", gettext_lazy("State"), False),
        ("preparer", gettext_lazy("Prepared by"), False),
        ("created", gettext_lazy("Created"), False),
        ("errors", gettext_lazy("Errors"), True),
        ("warnings", gettext_lazy("Warnings"), True),
    ),
}


def _columns(kind, query, sort):
    """Each column's header: a link that sorts by it (again: the other way round); a column
    without a sort key is a plain header."""
    columns = []
    for key, label, numeric in COLUMNS[kind.slug]:
        if key is None:
            columns.append({"label": label, "numeric": numeric, "url": None, "sort": None})
            continue
        current = "ascending" if sort == key else "descending" if sort == f"-{key}" else None
        query["sort"] = f"-{key}" if current == "ascending" else key
        columns.append(
            {"label": label, "numeric": numeric, "url": "?" + query.urlencode(), "sort": current}
        )
    return columns


@login_required
@require_POST
def kiva_reconcile(request, partner_id):
    """A partner admin's "Reconcile with Kiva now": queued, as it pages through every loan."""
    partner = _partner(request, partner_id)
    if not user_can(request.user, Action.MANAGE, partner.pk):
        raise PermissionDenied
    if not KivaConnection.objects.filter(partner=partner, is_active=True).exists():
        messages.error(request, _("This partner has no active Kiva connection."))
        return redirect("review:dashboard", partner_id=partner.pk)
    user_id = request.user.pk
    transaction.on_commit(lambda: kiva_reconcile_partner.delay(partner.pk, user_id))
    messages.success(
        request, _("Reconciliation with Kiva started: the figures update as it reads each page.")
    )
    return redirect("review:dashboard", partner_id=partner.pk)


@login_required
def queue(request, partner_id, kind):
    partner = _partner(request, partner_id)
    kind = _kind(kind)
    preparers = get_user_model().objects.filter(memberships__partner=partner).order_by("username")
    lists = {}
    if kind.slug == "loans":
        lists = {
            "activities": Activity.objects.filter(partner=partner).order_by("name"),
            "locations": Location.objects.filter(partner=partner).order_by("full_name"),
        }
    form = QueueFilterForm(
        request.GET or None, preparers=preparers, kiva=kind.slug == "loans", **lists
    )
    filters = form.filters()
    records = selectors.queue_queryset(kind, partner, **filters)
    page = LargeTablePaginator(
        records, PAGE_SIZE, at_most=SEARCH_COUNTED_UP_TO if filters.get("q") else None
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    for transient in ("page", "selected"):
        query.pop(transient, None)
    can_approve = user_can(request.user, Action.APPROVE, partner.pk)
    can_submit = user_can(request.user, Action.SUBMIT, partner.pk)
    return render(
        request,
        "review/queue.html",
        {
            "partner": partner,
            "kind": kind,
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "columns": _columns(kind, query.copy(), filters.get("sort") or ""),
            "selected": {int(i) for i in request.GET.getlist("selected") if i.isdigit()},
            "can_approve": can_approve,
            "can_submit": can_submit,
            "can_select": can_approve or can_submit,
            "can_edit": user_can(request.user, Action.EDIT, partner.pk),
        },
    )


@login_required
@require_POST
def report_open(request, partner_id):
    partner = _partner(request, partner_id)
    try:
        month = date.fromisoformat(request.POST.get("month", "") + "-01")
    except ValueError:
        messages.error(request, _("Give the month as YYYY-MM."))
        return redirect("review:queue", partner_id=partner.pk, kind="reports")
    try:
        report, _created = repayment_report_open(partner=partner, month=month, by=request.user)
    except ReviewError as refusal:
        messages.error(request, refusal.message)
        return redirect("review:queue", partner_id=partner.pk, kind="reports")
    return redirect("review:record", partner_id=partner.pk, kind="reports", pk=report.pk)


@login_required
def record_detail(request, partner_id, kind, pk):
    partner = _partner(request, partner_id)
    kind = _kind(kind)
    record = _record(request, partner, kind, pk)
    context = {
        "partner": partner,
        "kind": kind,
        "record": record,
        "can_submit": user_can(request.user, Action.SUBMIT, partner.pk),
        "can_approve": user_can(request.user, Action.APPROVE, partner.pk),
        "can_edit": user_can(request.user, Action.EDIT, partner.pk),
        "four_eyes_refusal": services.four_eyes_refusal(record, request.user),
        "submittable": can_proceed(record.submit),
        "changes_request": selectors.record_changes_request(record),
        "can_withdraw": can_proceed(record.withdraw),
        "can_start_new_version": can_proceed(record.start_new_version),
        "admin_url": reverse(
            f"admin:{record._meta.app_label}_{record._meta.model_name}_change", args=[record.pk]
        ),
    }
    context.update(detail_context(record, request.GET.get("page"), request.GET))
    if context["can_approve"] and context["four_eyes_refusal"] is None:
        review_opened(record=record, by=request.user)  # the review time starts (first time)
    return render(request, f"review/{kind.slug}_detail.html", context)


@login_required
def report_progress(request, partner_id, pk):
    """How far a report's sending is, as JSON for the page's progress bar (polled)."""
    from django.http import JsonResponse

    partner = _partner(request, partner_id)
    report = get_object_or_404(
        RepaymentReport.objects.for_user(request.user).filter(partner=partner), pk=pk
    )
    progress = record_send_progress(report)
    progress["state_label"] = report.get_state_display()
    return JsonResponse(progress, headers={"Cache-Control": "no-store"})


@login_required
def report_csv(request, partner_id, pk):
    """A report's lines as CSV (the page's search and filter apply), for a spreadsheet."""
    partner = _partner(request, partner_id)
    report = get_object_or_404(
        RepaymentReport.objects.for_user(request.user).filter(partner=partner), pk=pk
    )
    problems = version_problems(record_submissions(report), report.version)
    problem_loans = {str(p.get("loan_id")) for _chunk, p in problems if p.get("loan_id")}
    lines = report_stored_lines(report, request.GET, problem_loans)
    if lines is None:  # being computed (the task is enqueued): not a file of old lines
        messages.info(
            request,
            _("The report's lines are being computed again; download them in a moment."),
        )
        url = reverse("review:record", args=[partner.pk, "reports", report.pk])
        return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"repayments-{partner.kiva_partner_id}-{report.month:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = CsvWriter(response)
    writer.writerow(["loan_id", "client_id", "transactions", "repaid_in_month", "amount"])
    for line in lines:
        writer.writerow(
            [
                line.mis_loan_id,
                line.client_id,
                line.transactions,
                line.period_amount,
                line.amount,
            ]
        )
    return response


@login_required
@require_POST
def report_resend_line(request, partner_id, pk, line_pk):
    """Correct (or leave out) one line a report's new version sends again."""
    partner = _partner(request, partner_id)
    line = get_object_or_404(
        ResendLine.objects.select_related("report", "loan").filter(
            report__in=RepaymentReport.objects.for_user(request.user).filter(partner=partner),
            report_id=pk,
        ),
        pk=line_pk,
    )
    try:
        if request.POST.get("action") == "remove":
            services.report_resend_line_remove(line=line, by=request.user)
        else:
            services.report_resend_line_edit(
                line=line,
                by=request.user,
                mis_loan_id=request.POST.get("mis_loan_id", ""),
                client_id=request.POST.get("client_id", line.client_id),
                amount=request.POST.get("amount", ""),
            )
    except ReviewError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Line saved."))
    url = reverse("review:record", args=[partner.pk, "reports", pk])
    return redirect(f"{url}#resend-lines")


ACTIONS = {
    "submit": lambda record, by, comment: services.record_submit(record=record, by=by),
    "approve": lambda record, by, comment: services.record_approve(
        record=record, by=by, comment=comment
    ),
    "request_changes": lambda record, by, comment: services.record_request_changes(
        record=record, by=by, comment=comment
    ),
    "withdraw": lambda record, by, comment: services.record_withdraw(
        record=record, by=by, comment=comment
    ),
    "new_version": lambda record, by, comment: services.record_start_new_version(
        record=record, by=by, comment=comment
    ),
    "recheck": lambda record, by, comment: services.record_recheck_by(record=record, by=by),
    "resend_refused": lambda record, by, comment: report_resend_refused(
        report=record, by=by, comment=comment
    ),
}
DONE = {
    "submit": gettext_lazy("submitted for review"),
    "approve": gettext_lazy("approved"),
    "request_changes": gettext_lazy("sent back with your comment"),
    "withdraw": gettext_lazy("withdrawn"),
    "new_version": gettext_lazy("reopened as a new version"),
    "recheck": gettext_lazy("checked again"),
    "resend_refused": gettext_lazy("reopened as a new version holding the lines Kiva refused"),
}


@login_required
@require_POST
def record_act(request, partner_id, kind, pk):
    partner = _partner(request, partner_id)
    kind = _kind(kind)
    record = get_object_or_404(kind.model.objects.for_user(request.user), partner=partner, pk=pk)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, _("Unknown action."))
        return redirect("review:record", partner_id=partner.pk, kind=kind.slug, pk=pk)
    try:
        record = ACTIONS[action](record, request.user, request.POST.get("comment", ""))
    except ReviewError as refusal:
        messages.error(request, refusal.message)
        return redirect("review:record", partner_id=partner.pk, kind=kind.slug, pk=pk)
    messages.success(request, _("%(record)s %(done)s.") % {"record": record, "done": DONE[action]})
    if action in ("approve", "request_changes"):
        following = selectors.next_in_queue(record)
        if following is not None:
            return redirect("review:record", partner_id=partner.pk, kind=kind.slug, pk=following.pk)
        return redirect("review:queue", partner_id=partner.pk, kind=kind.slug)
    return redirect("review:record", partner_id=partner.pk, kind=kind.slug, pk=pk)


def _back_to_queue(request, partner, kind, keep=()):
    """The queue as it was (filters, sort, page), with `keep` still selected."""
    back = reverse("review:queue", kwargs={"partner_id": partner.pk, "kind": kind.slug})
    query = QueryDict(request.POST.get("query", ""), mutable=True)
    query.setlist("selected", [str(pk) for pk in keep])
    return redirect(f"{back}?{query.urlencode()}")


def _selected(request, partner, kind):
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    return kind.model.objects.for_user(request.user).filter(partner=partner, pk__in=ids)


@login_required
@require_POST
def bulk_approve(request, partner_id, kind):
    partner = _partner(request, partner_id)
    kind = _kind(kind)
    records = _selected(request, partner, kind)
    if not request.POST.get("acknowledge_warnings"):
        # Nothing approved, nothing lost: the selection stays, and the rows to read are named.
        selected = list(records.order_by("pk"))
        with_warnings = [str(r) for r in selected if r.check_warnings]
        message = _("Tick the box to confirm you have read the warnings.")
        if with_warnings:
            message += " " + _("Selected records with warnings: %(records)s.") % {
                "records": ", ".join(with_warnings)
            }
        messages.error(request, message)
        return _back_to_queue(request, partner, kind, keep=[r.pk for r in selected])
    result = services.records_bulk_approve(records=records, by=request.user)
    if result.approved:
        messages.success(request, _("%(n)d approved.") % {"n": len(result.approved)})
    for record, reason in result.refused:
        messages.warning(request, f"{record}: {reason}")
    return _back_to_queue(request, partner, kind, keep=[r.pk for r, _reason in result.refused])


@login_required
@require_POST
def bulk_submit(request, partner_id, kind):
    partner = _partner(request, partner_id)
    kind = _kind(kind)
    result = services.records_bulk_submit(
        records=_selected(request, partner, kind), by=request.user
    )
    if result.submitted:
        messages.success(request, _("%(n)d submitted for review.") % {"n": len(result.submitted)})
    for record, reason in result.refused:
        messages.warning(request, f"{record}: {reason}")
    return _back_to_queue(request, partner, kind, keep=[r.pk for r, _reason in result.refused])


@login_required
@require_POST
def submission_act(request, partner_id, pk):
    """Staff actions on a submission to Kiva: retry now, cancel, or settle an unknown
    outcome (mark as sent, send again). Each is audited by the outbox services."""
    partner = _partner(request, partner_id)
    submission = get_object_or_404(
        Submission.objects.for_user(request.user).filter(partner=partner), pk=pk
    )
    action = request.POST.get("action", "")
    try:
        if action == "retry_now":
            outbox.submission_retry_now(submission=submission, by=request.user)
        elif action == "cancel":
            outbox.submission_cancel(submission=submission, by=request.user)
        elif action in ("mark_sent", "send_again"):
            outbox.submission_resolve(
                submission=submission,
                by=request.user,
                decision="sent" if action == "mark_sent" else "send_again",
                kiva_reference=request.POST.get("kiva_reference", ""),
            )
        else:
            messages.error(request, _("Unknown action."))
    except ReviewError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Done."))
    kind = kind_of(submission.record)
    url = reverse("review:record", args=[partner.pk, kind.slug, submission.object_id])
    return redirect(f"{url}#submission-{submission.pk}")


# The needs-attention page shows this many submissions, the oldest first.
ATTENTION_PAGE = 200


@login_required
def needs_attention(request, partner_id):
    """Every submission of the partner that needs attention, with the evidence (attempts,
    look-ups, the draft found at Kiva) and the bulk actions (docs/pipeline.md)."""
    partner = _partner(request, partner_id)
    waiting = Submission.objects.for_user(request.user).filter(
        partner=partner, state=SubmissionState.NEEDS_ATTENTION
    )
    cases = needs_attention_cases(waiting, limit=ATTENTION_PAGE)
    for case in cases:
        case.kind_slug = kind_of(
            ContentType.objects.get_for_id(case.submission.content_type_id).model_class()
        ).slug
    return render(
        request,
        "review/needs_attention.html",
        {
            "partner": partner,
            "cases": cases,
            "total": waiting.count(),
            "limit": ATTENTION_PAGE,
            "can_approve": user_can(request.user, Action.APPROVE, partner.pk),
        },
    )


@login_required
@require_POST
def needs_attention_act(request, partner_id):
    partner = _partner(request, partner_id)
    ids = {int(i) for i in request.POST.getlist("ids") if i.isdigit()}
    back = redirect("review:needs_attention", partner_id=partner.pk)
    if not ids:
        messages.error(request, _("Select at least one submission."))
        return back
    if not user_can(request.user, Action.APPROVE, partner.pk):
        raise PermissionDenied
    # Scoped to the user and this partner: a forged id of another partner's submission is
    # simply not there, and is named as refused.
    found = list(
        Submission.objects.for_user(request.user).filter(partner=partner, pk__in=ids).order_by("id")
    )
    try:
        result = outbox.submissions_bulk_resolve(
            submissions=found,
            by=request.user,
            action=request.POST.get("action", ""),
            confirmed=bool(request.POST.get("confirm_pa2")),
        )
    except ReviewError as refusal:
        messages.error(request, refusal.message)
        return back
    for missing in sorted(ids - {s.pk for s in found}):
        messages.warning(
            request, _("Submission %(id)s: not found among this partner's.") % {"id": missing}
        )
    if result.done:
        messages.success(request, _("%(n)d done.") % {"n": len(result.done)})
    for label, reason in result.refused:
        messages.warning(request, f"{label}: {reason}")
    return back


@login_required
def kiva_production(request, partner_id):
    """Stage and production: the connection's environment, Kiva's approval of the stage tests,
    and, once the connection is production, what was only ever sent to stage (docs/kiva.md)."""
    partner = _partner(request, partner_id)
    connection = KivaConnection.objects.filter(partner=partner).first()
    elsewhere = []
    if connection is not None and connection.environment == Environment.PRODUCTION:
        elsewhere = [
            {"record": record, "environment": where, "slug": kind_of(record).slug}
            for record, where in records_sent_elsewhere(partner, connection.environment)
        ]
    return render(
        request,
        "review/kiva_production.html",
        {
            "partner": partner,
            "connection": connection,
            "elsewhere": elsewhere,
            "can_manage": user_can(request.user, Action.MANAGE, partner.pk),
            "can_act": user_can(request.user, Action.APPROVE, partner.pk)
            or user_can(request.user, Action.SUBMIT, partner.pk),
        },
    )


@login_required
@require_POST
def kiva_stage_approval(request, partner_id):
    partner = _partner(request, partner_id)
    connection = get_object_or_404(KivaConnection, partner=partner)
    back = redirect("review:kiva_production", partner_id=partner.pk)
    try:
        approved_on = date.fromisoformat(request.POST.get("approved_on", ""))
    except ValueError:
        messages.error(request, _("Approved on: give the date as YYYY-MM-DD."))
        return back
    try:
        connection_stage_approval_record(
            connection=connection, by=request.user, approved_on=approved_on
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return back
    messages.success(request, _("Kiva's approval of the stage tests is recorded."))
    return back


@login_required
@require_POST
def kiva_production_act(request, partner_id):
    """Send to production (a new version, through review) or leave out of production the
    selected records sent only to stage; each refusal names the record and the reason."""
    partner = _partner(request, partner_id)
    back = redirect("review:kiva_production", partner_id=partner.pk)
    action = request.POST.get("action", "")
    if action not in ("send", "leave"):
        messages.error(request, _("Unknown action."))
        return back
    records = []
    for value in request.POST.getlist("ids"):
        slug, _sep, pk = value.partition(":")
        if slug not in KINDS or not pk.isdigit():
            messages.warning(request, _("%(value)s: not a record.") % {"value": value[:40]})
            continue
        # Scoped to the user and this partner: another partner's record is not found.
        record = KINDS[slug].model.objects.for_user(request.user).filter(partner=partner, pk=pk)
        record = record.first()
        if record is None:
            messages.warning(
                request, _("%(value)s: not found among this partner's records.") % {"value": value}
            )
            continue
        records.append(record)
    if not records:
        messages.error(request, _("Select at least one record."))
        return back
    if action == "send":
        result = production.records_send_to_production(records=records, by=request.user)
        done = _("%(n)d submitted for review, to be sent to production once approved.")
    else:
        result = production.records_leave_out_of_production(records=records, by=request.user)
        done = _("%(n)d left out of production.")
    if result.done:
        messages.success(request, done % {"n": len(result.done)})
    for record, reason in result.refused:
        messages.warning(request, f"{record}: {reason}")
    return back
