"""The intake API's views: plain Django views speaking JSON, shaped as Kiva's Partner API. They
authenticate the caller (an API key or an MIS client's token), check its scope and partner,
read a bounded body and hand it to the intake services or the reads.

Every answer under the API's prefix is JSON, errors included (`{"code", "message"}`, Kiva's
codes): 401 for a missing, unknown, expired or revoked credential, 403 for a missing scope or
another partner's path, 404 for an unknown path, 405 with `Allow`.
"""

import base64
import binascii
import json
from decimal import Decimal
from functools import wraps

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from integrations.mis import api_reads
from integrations.mis.api_services import intake_loan_draft, intake_records
from integrations.mis.keys import api_key_authenticate
from integrations.mis.models import Scope
from integrations.mis.oauth import OAuthError, access_token_authenticate, mis_client_token
from integrations.mis.openapi import spec

TRUE = {"1", "true", "yes"}
# The scope each endpoint needs (any one of them). Which scope Kiva's config lists need is
# open (docs/kiva.md): either of the two its samples ask for will do.
SCOPES = {
    "loan_draft": (Scope.CREATE_LOAN_DRAFT,),
    "borrowers": (Scope.CREATE_LOAN_DRAFT,),
    "repayments": (Scope.CREATE_REPAYMENT,),
    "journals": (Scope.CREATE_JOURNAL_UPDATE,),
    "loans": (Scope.READ_LOANS,),
    "config": (Scope.READ_LOANS, Scope.CREATE_LOAN_DRAFT),
}


def _answer(status, code, message, **extra):
    body = {"code": code, "message": message, **extra}
    response = JsonResponse(body, status=status, encoder=DjangoJSONEncoder)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="intake"'
    return response


def _presented_key(request) -> str:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("X-Api-Key", "").strip()


def _authenticate(request):
    """(caller, None) or (None, a 401 answer). Keys start with `kp_`; anything else is a token."""
    presented = _presented_key(request)
    if not presented:
        return None, _answer(401, "api.unauthorized", _("Missing bearer token or API key."))
    if presented.startswith("kp_"):
        caller = api_key_authenticate(presented=presented)
    else:
        caller = access_token_authenticate(token=presented)
    if caller is None:
        return None, _answer(
            401,
            "api.unauthorized",
            _("Unknown, expired or revoked token or API key: get a new token."),
        )
    return caller, None


def api_endpoint(*, methods, scopes):
    """Method (405 with Allow), credential (401), partner in the path and scope (403)."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, partner_id=None, **kwargs):
            if request.method not in methods:
                return method_not_allowed(methods)
            caller, error = _authenticate(request)
            if error:
                return error
            if partner_id is not None and partner_id != caller.partner.kiva_partner_id:
                # As Kiva answers: the same for every other id, existing or not.
                return _answer(
                    403,
                    "api.forbidden",
                    _("This token is for partner %(id)s.") % {"id": caller.partner.kiva_partner_id},
                )
            if not any(caller.may(scope) for scope in scopes):
                return _answer(
                    403,
                    "api.forbidden",
                    _("Missing scope %(scope)s.") % {"scope": " or ".join(scopes)},
                )
            return view(request, caller, **kwargs)

        return wrapper

    return decorator


def method_not_allowed(methods):
    response = _answer(
        405, "api.method_not_allowed", _("Use %(methods)s.") % {"methods": ", ".join(methods)}
    )
    response["Allow"] = ", ".join(methods)
    return response


def _reject_constant(name):
    raise ValueError(name)


def _read_json(request):
    """(body, None) or (None, error response). Never reads more than the limit."""
    limit = settings.INTAKE_API_MAX_BODY_BYTES
    too_big = _answer(
        413, "api.too_large", _("The body is larger than %(n)d bytes.") % {"n": limit}
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None, too_big
    content_type = request.content_type or ""
    if content_type != "application/json":
        return None, _answer(415, "api.unsupported", _("Send the body as application/json."))
    data = request.read(limit + 1)
    if len(data) > limit:
        return None, too_big
    try:
        body = json.loads(data, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # ValueError covers bad JSON, bad UTF-8 and NaN/Infinity.
        return None, _answer(400, "api.bad_json", _("The body is not valid JSON (UTF-8)."))
    return body, None


def intake_view(kind):
    @api_endpoint(methods=("POST",), scopes=SCOPES[kind])
    def view(request, caller):
        body, error = _read_json(request)
        if error:
            return error
        submit = request.GET.get("submit", "").lower() in TRUE
        link = request.build_absolute_uri
        if kind == "loan_draft":
            result = intake_loan_draft(caller=caller, body=body, submit=submit, link=link)
        else:
            result = intake_records(caller=caller, kind=kind, body=body, submit=submit, link=link)
        return JsonResponse(result.body, status=result.status, encoder=DjangoJSONEncoder)

    view.__name__ = f"intake_{kind}"
    return view


@api_endpoint(methods=("GET",), scopes=SCOPES["config"])
def config_view(request, caller, name):
    if name not in api_reads.CONFIG_LISTS:
        return not_found(request)
    return JsonResponse(api_reads.config_answer(partner=caller.partner, name=name))


@api_endpoint(methods=("GET",), scopes=SCOPES["loans"])
def loans_view(request, caller):
    try:
        answer = api_reads.loans_answer(
            partner=caller.partner, params=request.GET, link=request.build_absolute_uri
        )
    except api_reads.BadQuery as exc:
        return _answer(
            400,
            "api.validation_error",
            exc.problem.message,
            errors=[exc.problem.as_dict()],
        )
    return JsonResponse(answer, encoder=DjangoJSONEncoder)


def _client_credentials(request) -> dict:
    """The token request's fields: a form (as Kiva documents), JSON, or HTTP Basic."""
    if (request.content_type or "") == "application/json":
        try:
            form = json.loads(request.body or b"{}")
        except ValueError:
            form = None
        form = form if isinstance(form, dict) else {}
    else:
        form = request.POST
    fields = {k: str(form.get(k) or "") for k in ("grant_type", "client_id", "client_secret")}
    fields["scope"] = str(form.get("scope") or "")
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic " and not fields["client_id"]:
        try:
            user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        fields["client_id"], fields["client_secret"] = user, password
    return fields


@csrf_exempt
def token_view(request):
    """Kiva's token endpoint for MIS clients (OAuth2 client credentials). `audience` is read
    and ignored: Kiva's own differs per environment, and the token is only good here."""
    if request.method != "POST":
        return method_not_allowed(("POST",))
    try:
        body, status = (
            mis_client_token(
                **_client_credentials(request),
                issuer=request.build_absolute_uri("/api/intake/v1/"),
            ),
            200,
        )
    except OAuthError as exc:
        body, status = {"error": exc.error, "error_description": exc.description}, exc.status
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def openapi_view(request):
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(("GET", "HEAD"))
    base = request.build_absolute_uri("/api/intake/v1")
    return JsonResponse(spec(base), json_dumps_params={"indent": 2})


def docs_view(request):
    """Swagger UI for MIS developers, from the portal's own static files."""
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(("GET", "HEAD"))
    return render(request, "mis/api_docs.html", {"spec_url": reverse("mis_api:openapi")})


@csrf_exempt
def not_found(request, *args, **kwargs):
    return _answer(404, "api.not_found", _("No such endpoint: %(path)s") % {"path": request.path})
