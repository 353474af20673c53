"""The page of a bulk approval job: its progress while it runs (polled without reloading),
then what it did with each record (docs/pipeline.md, section 1). Only the user who asked
sees it."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse

from kivaportal.kinds import kind_of
from kivaportal.review.bulk_jobs import (
    STALLED_AFTER,
    bulk_approval_progress,
    bulk_approval_row_warnings,
)
from kivaportal.review.models import BulkApproval

ROWS_PAGE = 200


def _job(request, pk):
    jobs = BulkApproval.objects.select_related("content_type").filter(created_by=request.user)
    return get_object_or_404(jobs, pk=pk)


@login_required
def bulk_approval(request, pk):
    job = _job(request, pk)
    model = job.content_type.model_class()
    slug = kind_of(model).slug
    # Refused first, then approved with warnings: what needs a person's eye.
    rows = job.rows.order_by("-outcome", "-warnings", "pk")
    page = Paginator(rows, ROWS_PAGE).get_page(request.GET.get("page"))
    for row in page:
        row.warning_messages = bulk_approval_row_warnings(row)
        if row.partner_id is not None:
            row.review_url = reverse("review:record", args=[row.partner_id, slug, row.object_id])
    opts = model._meta
    try:
        back = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    except NoReverseMatch:
        back = None
    return render(
        request,
        "review/bulk_approval.html",
        {
            "job": job,
            "progress": bulk_approval_progress(job),
            "page": page,
            "what": opts.verbose_name_plural,
            "back": back,
            "stalled_minutes": int(STALLED_AFTER.total_seconds() // 60),
        },
    )


@login_required
def bulk_approval_progress_json(request, pk):
    return JsonResponse(bulk_approval_progress(_job(request, pk)))
