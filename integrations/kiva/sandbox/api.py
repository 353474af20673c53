"""The sandbox's auth service and Partner API endpoints, shaped as Kiva documents them."""

import hashlib
import hmac

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from . import services, tokens, validation
from .endpoint import answer, problem, read_json, sandbox_endpoint
from .models import RepaymentsAnswer, SandboxJournal, SandboxLoan, SandboxUpload

CONFIG_LISTS = ("activities", "locales", "themes", "locations")


def _now_z() -> str:
    return timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")


@sandbox_endpoint(token_endpoint=True)
@require_POST
def token(request, client):
    content_type = request.content_type or ""
    if content_type != "application/x-www-form-urlencoded":
        return answer(
            {"error": "invalid_request", "error_description": "Use a form-encoded body"}, 400
        )
    form = request.POST
    if form.get("grant_type") != "client_credentials":
        return answer({"error": "unsupported_grant_type"}, 400)
    secret = form.get("client_secret", "")
    digest = hashlib.sha256(secret.encode()).hexdigest()
    if client is None or not hmac.compare_digest(digest, client.secret_sha256):
        return answer({"error": "access_denied", "error_description": "Unauthorized"}, 401)
    if form.get("audience", "") != client.audience:
        return answer(
            {
                "error": "access_denied",
                "error_description": f"Service not enabled within domain: {form.get('audience')}",
            },
            403,
        )
    allowed = client.allowed_scopes.split()
    requested = form.get("scope", "").split()
    # As Kiva documents: the granted scope is the intersection of requested and authorized.
    granted = [s for s in requested if s in allowed] if requested else allowed
    if not granted:
        return answer(
            {"error": "access_denied", "error_description": "None of the scopes is allowed"}, 403
        )
    partner = client.partner
    access_token, claims = tokens.issue(
        issuer="kiva-sandbox",
        audience=client.audience,
        partner_id=partner.partner_id,
        scope=" ".join(granted),
        lifetime=client.token_lifetime,
        epoch=partner.token_epoch,
    )
    return answer(
        {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": client.token_lifetime,
            "scope": claims["scope"],
            "iss": claims["iss"],
            "partnerId": partner.partner_id,  # a string, as Kiva sends it
            "jti": claims["jti"],
        }
    )


@sandbox_endpoint(scope=lambda partner: partner.config_scope if partner else None)
@require_GET
def config_list(request, partner, claims, name):
    if name not in CONFIG_LISTS:
        return problem(404, "api.not_found", f"No config list {name}")
    return answer(
        {
            "as_of_date_time": _now_z(),
            name: getattr(partner, name),
            "code": "api.success",
            "message": f"Successfully retrieved {name}",
        }
    )


@sandbox_endpoint(scope="read:loans")
@require_GET
def loans(request, partner, claims):
    try:
        offset = int(request.GET.get("offset", 0))
        limit = int(request.GET.get("limit", 20))
    except ValueError:
        return problem(400, "api.validation_error", "offset and limit must be integers")
    if offset < 0 or not 1 <= limit <= partner.max_page_size:
        field = "limit" if offset >= 0 else "offset"
        return problem(
            400, "api.validation_error", f"limit must be 1..{partner.max_page_size}", field
        )
    found = SandboxLoan.objects.filter(partner=partner).order_by("created_at", "id")
    if not partner.list_drafts:
        found = found.exclude(status=services.DRAFT)
    status = request.GET.get("status", "")
    if status and status not in services.STATUSES:
        return problem(400, "api.validation_error", f"Unknown status {status}", "status")
    # A draft deleted in PA2 disappears from the list (unless asked for by its status).
    found = found.filter(status=status) if status else found.exclude(status=services.DELETED)
    query = request.GET.get("query", "").strip()
    if query:
        condition = (
            Q(name__icontains=query)
            | Q(internal_loan_id=query)
            | Q(internal_client_id=query)
            | Q(loan_ids__icontains=f'"{query}"')
            | Q(client_ids__icontains=f'"{query}"')
        )
        if query.isdigit():
            condition |= Q(kiva_id=int(query))
        found = found.filter(condition)
    total = found.count()
    page = found[offset : offset + limit]
    return answer({"total_records": total, "data": [services.loan_item(loan) for loan in page]})


def _read(request):
    try:
        return read_json(request), None
    except (ValueError, UnicodeDecodeError):
        return None, problem(400, "api.invalid_body", "The body is not valid UTF-8 JSON")


def _refuse(problems):
    first = problems[0]
    return problem(400, "api.validation_error", first["message"], first["field"], problems)


@sandbox_endpoint(scope="create:loan_draft")
@require_POST
def loan_draft(request, partner, claims):
    data, error = _read(request)
    if error:
        return error
    problems = validation.loan_draft(data, partner)
    if problems:
        return _refuse(problems)
    loan = services.loan_from_draft(partner, data)
    return answer(
        {
            "code": "api.success",
            "message": "Loan draft created",
            "loan_draft_uuid": str(loan.uuid),
        }
    )


@sandbox_endpoint(scope="create:repayment")
@require_POST
def repayments(request, partner, claims):
    data, error = _read(request)
    if error:
        return error
    problems = validation.repayments(data, partner)
    if problems:
        return _refuse(problems)
    lines = data["repayments"]
    upload = SandboxUpload.objects.create(
        partner=partner,
        lines=[{**line, "amount": str(line["amount"])} for line in lines],
        problems=services.repayment_problems(partner, lines),
    )
    if partner.repayments_answer == RepaymentsAnswer.LIST:
        # The shape Kiva's .NET client reads: the problems alone, as a list.
        return answer(upload.problems)
    return answer(
        {
            "code": "api.success",
            "message": f"{len(lines)} repayments uploaded",
            "upload_id": str(upload.upload_id),
            "problems": upload.problems,
        }
    )


@sandbox_endpoint(scope="create:journal_update")
@require_POST
def journals(request, partner, claims):
    data, error = _read(request)
    if error:
        return error
    # Both shapes Kiva's material shows: the docs' {"journals": [...]} and a sample's bare list.
    bare = isinstance(data, list)
    items = data if bare else (data.get("journals") if isinstance(data, dict) else None)
    problems = validation.journals(items)
    if not problems:
        for i, item in enumerate(items):
            if services.find_loan(partner, item["internal_loan_id"]) is None:
                problems.add(
                    f"journals[{i}].internal_loan_id",
                    f"Unknown loan id {item['internal_loan_id']}",
                )
    if problems:
        return _refuse(problems)
    created = []
    for item in items:
        journal = SandboxJournal.objects.create(
            partner=partner,
            internal_loan_id=item["internal_loan_id"],
            internal_client_id=item.get("internal_client_id", ""),
            subject=item["subject"],
            body=item["body"],
            image_url=item.get("image_url", ""),
        )
        url = request.build_absolute_uri(
            reverse("kiva_sandbox:journal_confirm", args=[journal.uuid])
        )
        created.append({"internal_loan_id": journal.internal_loan_id, "confirm_url": url})
    return answer({"code": "api.success", "journals": created}, 201 if bare else 200)
