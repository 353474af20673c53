"""The import pages on the review side: upload, preview, commit, progress, templates."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from integrations.mis.forms import UploadForm
from integrations.mis.import_jobs import (
    import_job_create,
    import_job_progress,
    import_job_records,
    import_job_start,
    import_job_submit_all,
)
from integrations.mis.models import ImportJob, ImportStatus
from integrations.mis.templates_csv import (
    TEMPLATES,
    WORKBOOK_SHEETS,
    template_csv,
    template_workbook,
)
from kivaportal.common.checks import Finding
from kivaportal.common.paging import LargeTablePaginator
from kivaportal.kinds import kind_of
from kivaportal.partners.models import Partner
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import partner_ids_where, user_can

ACTION_LABELS = {
    "create": _("new"),
    "update": _("update"),
    "new_version": _("new version of a sent record"),
    "unchanged": _("unchanged"),
}


def _editable_partners(user):
    allowed = partner_ids_where(user, Action.EDIT)
    partners = Partner.objects.for_user(user)
    return partners if allowed is None else partners.filter(pk__in=allowed)


@login_required
def upload(request):
    partners = _editable_partners(request.user)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, partners=partners)
        if form.is_valid():
            data = form.cleaned_data
            job = import_job_create(
                partner=data["partner"],
                kind=data["kind"],
                file=data["file"],
                members_file=data.get("members_file"),
                schedule_file=data.get("schedule_file"),
                photos_file=data.get("photos_file"),
                encoding=data["encoding"],
                by=request.user,
            )
            import_job_start(job=job, commit=False, by=request.user)
            return redirect("mis:job", pk=job.pk)
    else:
        form = UploadForm(partners=partners)
    jobs = ImportJob.objects.for_user(request.user).select_related("partner")[:20]
    return render(
        request,
        "mis/upload.html",
        {
            "form": form,
            "jobs": jobs,
            "templates": list(TEMPLATES),
            "template_partners": partners.order_by("name"),
            "can_upload": partners.exists(),
        },
    )


def _job(request, pk):
    return get_object_or_404(
        ImportJob.objects.for_user(request.user).select_related("partner"), pk=pk
    )


RECORDS_PAGE_SIZE = 100


def _preview_rows(job):
    rows = []
    for p in job.results.get("preview", []):
        findings = [Finding.from_dict(f) for f in p.get("findings", [])]
        rows.append(
            {
                **p,
                "label": ACTION_LABELS.get(p["action"], p["action"]),
                "errors": [f for f in findings if f.severity == "error"],
                "warnings": [f for f in findings if f.severity == "warning"],
            }
        )
    return rows


def _imported_records(request, job):
    """After the import: a page of the records it wrote, each with its review page."""
    records = import_job_records(job) if job.status == ImportStatus.IMPORTED else None
    if records is None:
        return None
    kind = kind_of(records.model)
    records = records.select_related(*kind.select_related).order_by("pk")
    page = LargeTablePaginator(records, RECORDS_PAGE_SIZE).get_page(request.GET.get("page"))
    for record in page:
        record.review_url = reverse("review:record", args=[job.partner_id, kind.slug, record.pk])
    return page


@login_required
def job_detail(request, pk):
    job = _job(request, pk)
    records = _imported_records(request, job)
    return render(
        request,
        "mis/job.html",
        {
            "job": job,
            "progress": import_job_progress(job),
            "results": job.results,
            "preview": _preview_rows(job),
            "records": records,
            "can_commit": job.status == ImportStatus.CHECKED
            and user_can(request.user, Action.EDIT, job.partner_id),
            "can_submit": records is not None
            and user_can(request.user, Action.SUBMIT, job.partner_id),
        },
    )


@login_required
def job_progress(request, pk):
    return JsonResponse(import_job_progress(_job(request, pk)))


@login_required
@require_POST
def job_commit(request, pk):
    job = _job(request, pk)
    try:
        import_job_start(job=job, commit=True, by=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    return redirect("mis:job", pk=job.pk)


@login_required
@require_POST
def job_submit_all(request, pk):
    job = _job(request, pk)
    try:
        result = import_job_submit_all(job=job, by=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("mis:job", pk=job.pk)
    if result.submitted:
        messages.success(request, _("%(n)d submitted for review.") % {"n": len(result.submitted)})
    else:
        messages.info(request, _("Nothing to submit: no draft without blocking errors."))
    for record, reason in result.refused:
        messages.warning(request, f"{record}: {reason}")
    return redirect("mis:job", pk=job.pk)


def _template_partner(request):
    """The partner whose reference values fill the template: ?partner=, else the first of the
    user's; only a partner of the user (404 otherwise)."""
    partners = Partner.objects.for_user(request.user).order_by("name")
    wanted = request.GET.get("partner", "")
    if wanted:
        if not (wanted.isascii() and wanted.isdigit() and len(wanted) <= 18):
            raise Http404
        return get_object_or_404(partners, pk=int(wanted))
    found = partners.first()
    if found is None:
        raise Http404
    return found


@login_required
def template(request, name):
    if name not in TEMPLATES:
        raise Http404
    partner = _template_partner(request)
    response = HttpResponse(template_csv(name, partner), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@login_required
def template_xlsx(request):
    partner = _template_partner(request)
    response = HttpResponse(
        template_workbook(partner),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="loans.xlsx"'
    return response


@login_required
def columns(request):
    """What each column of each file means, in the user's language: the importers' own
    column definitions (the same the templates and the API's description are made of)."""
    partners = _editable_partners(request.user).order_by("name")
    return render(
        request,
        "mis/columns.html",
        {
            "files": [(name, cols) for name, cols in TEMPLATES.items()],
            "partners": partners,
            "sheets": WORKBOOK_SHEETS,
        },
    )
