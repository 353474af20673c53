"""The intake API's views: plain Django views speaking JSON. They authenticate the key, read a
bounded body and hand it to the intake services."""

import json
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from integrations.mis.api_services import intake_loan_draft, intake_records
from integrations.mis.keys import api_key_authenticate
from integrations.mis.openapi import spec

TRUE = {"1", "true", "yes"}


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
    @csrf_exempt
    def view(request, partner_id=None):
        if request.method != "POST":
            return _answer(405, "api.method", _("Use POST."))
        api_key = api_key_authenticate(presented=_presented_key(request))
        if api_key is None:
            return _answer(401, "api.unauthorized", _("Missing, unknown or revoked API key."))
        if partner_id is not None and partner_id != api_key.partner.kiva_partner_id:
            # Another partner's path: say nothing about whether it exists.
            return _answer(404, "api.not_found", _("Not found."))
        body, error = _read_json(request)
        if error:
            return error
        submit = request.GET.get("submit", "").lower() in TRUE
        if kind == "loan_draft":
            result = intake_loan_draft(api_key=api_key, body=body, submit=submit)
        else:
            result = intake_records(api_key=api_key, kind=kind, body=body, submit=submit)
        return JsonResponse(result.body, status=result.status, encoder=DjangoJSONEncoder)

    view.__name__ = f"intake_{kind}"
    return view


def openapi_view(request):
    base = request.build_absolute_uri("/api/intake/v1")
    return JsonResponse(spec(base), json_dumps_params={"indent": 2})
