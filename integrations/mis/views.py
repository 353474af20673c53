"""The import pages on the review side: upload, preview, commit, progress, templates."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from integrations.mis.forms import UploadForm
from integrations.mis.import_jobs import import_job_create, import_job_progress, import_job_start
from integrations.mis.models import ImportJob, ImportStatus
from integrations.mis.templates_csv import TEMPLATES, template_csv
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
        {"form": form, "jobs": jobs, "templates": list(TEMPLATES), "can_upload": partners.exists()},
    )


def _job(request, pk):
    return get_object_or_404(
        ImportJob.objects.for_user(request.user).select_related("partner"), pk=pk
    )


@login_required
def job_detail(request, pk):
    job = _job(request, pk)
    return render(
        request,
        "mis/job.html",
        {
            "job": job,
            "progress": import_job_progress(job),
            "results": job.results,
            "preview": [
                {**p, "label": ACTION_LABELS.get(p["action"], p["action"])}
                for p in job.results.get("preview", [])
            ],
            "can_commit": job.status == ImportStatus.CHECKED
            and user_can(request.user, Action.EDIT, job.partner_id),
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
def template(request, name):
    if name not in TEMPLATES:
        raise Http404
    response = HttpResponse(template_csv(name), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
