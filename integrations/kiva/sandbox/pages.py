"""The sandbox's pages: what it received, the drafts (with "publish"), journal confirmation.

Development tools only (the sandbox is off in production). Forms post with Django's CSRF token.
"""

from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import services
from .models import SandboxJournal, SandboxLoan, SandboxPartner, SandboxRequest, SandboxUpload

PAGE = 200


def index(request):
    return render(request, "kiva_sandbox/index.html", {"partners": SandboxPartner.objects.all()})


def requests_log(request):
    found = SandboxRequest.objects.all()
    partner = request.GET.get("partner", "")
    if partner:
        found = found.filter(partner_id=partner)
    return render(
        request,
        "kiva_sandbox/requests.html",
        {"requests": found[:PAGE], "total": found.count(), "partner": partner},
    )


def loans(request):
    shown = list(SandboxLoan.objects.select_related("partner")[:PAGE])
    for loan in shown:
        loan.next_statuses = services.next_statuses(loan.status)
    return render(
        request,
        "kiva_sandbox/loans.html",
        {
            "loans": shown,
            "uploads": SandboxUpload.objects.select_related("partner")[:50],
            "journals": SandboxJournal.objects.select_related("partner")[:50],
        },
    )


@require_POST
def loan_publish(request, uuid):
    services.sandbox_loan_publish(loan=get_object_or_404(SandboxLoan, uuid=uuid))
    return redirect("kiva_sandbox:loans")


@require_POST
def loan_move(request, uuid):
    loan = get_object_or_404(SandboxLoan, uuid=uuid)
    try:
        services.sandbox_loan_move(loan=loan, status=request.POST.get("status", ""))
    except services.SandboxLifecycleError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    return redirect("kiva_sandbox:loans")


def journal_confirm(request, uuid):
    journal = SandboxJournal.objects.filter(uuid=uuid).first()
    if journal is None:
        raise Http404
    if request.method == "POST" and journal.confirmed_at is None:
        journal.confirmed_at = timezone.now()
        journal.save(update_fields=["confirmed_at"])
    return render(request, "kiva_sandbox/journal.html", {"journal": journal})
