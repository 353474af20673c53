"""The global audit log: every workflow event of the user's partners, filterable, exportable
to CSV. Read-only by construction: there is no view that changes an entry."""

from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from kivaportal.common.csv_export import csv_lines
from kivaportal.kinds import KINDS
from kivaportal.partners.models import Partner
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import partner_ids_where
from kivaportal.review.forms import AuditFilterForm
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import state_label

PAGE_SIZE = 100


def _record_types():
    types = ContentType.objects.get_for_models(*(kind.model for kind in KINDS.values()))
    return [(str(types[kind.model].pk), kind.label) for kind in KINDS.values()]


def _entries(request, action=Action.VIEW):
    allowed = partner_ids_where(request.user, action)
    partners = Partner.objects.for_user(request.user)
    if allowed is not None:
        partners = partners.filter(pk__in=allowed)
    form = AuditFilterForm(request.GET or None, partners=partners, record_types=_record_types())
    entries = AuditEntry.objects.for_user(request.user).select_related(
        "partner", "actor", "content_type"
    )
    if allowed is not None and action != Action.VIEW:
        # for_user already keeps the partners where the user may view; export may be narrower.
        entries = entries.filter(partner_id__in=allowed)
    if form.is_valid():
        data = form.cleaned_data
        if data["partner"]:
            entries = entries.filter(partner_id=data["partner"])
        if data["user"]:
            entries = entries.filter(actor__username__icontains=data["user"])
        if data["record_type"]:
            entries = entries.filter(content_type_id=data["record_type"])
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["since"]:
            entries = entries.filter(created_at__date__gte=data["since"])
        if data["until"]:
            entries = entries.filter(created_at__date__lte=data["until"])
    return form, entries.order_by("-created_at", "-id")


@login_required
def audit_log(request):
    form, entries = _entries(request)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "review/audit_log.html", {"form": form, "page": page, "query": query.urlencode()}
    )


@login_required
def audit_export(request):
    """The filtered log as CSV, streamed so a large export never sits in memory."""
    _form, entries = _entries(request, Action.EXPORT)
    header = [
        _("at"),
        _("partner"),
        _("record type"),
        _("record"),
        _("version"),
        _("by"),
        _("action"),
        _("from"),
        _("to"),
        _("comment"),
    ]

    def rows():
        yield header
        for e in entries.iterator(chunk_size=2000):
            yield (
                e.created_at.isoformat(),
                e.partner.name,
                e.content_type.model,
                e.record_label,
                e.record_version,
                e.actor.username if e.actor else _("portal"),
                e.get_action_display(),
                state_label(e.from_state),
                state_label(e.to_state),
                e.comment_text,
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(csv_lines(rows()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
