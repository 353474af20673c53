"""What every sandbox API endpoint does around its own work: record the request, inject
faults, check the bearer token, record the answer.

Hangs and connection resets happen after the request was processed and recorded: the worst
case for a client (the draft exists, the answer never arrives), which is what the portal's
"ambiguous" handling must survive. A reset needs the sandbox's own server (server.py) to close
the socket; see `RESET_KEY`.
"""

import json
import time
from decimal import Decimal
from functools import wraps
from urllib.parse import parse_qsl, urlencode

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import faults, tokens
from .models import SandboxClient, SandboxPartner, SandboxRequest

# Set in the WSGI environ by a view that wants its connection reset; server.py acts on it.
RESET_KEY = "kiva_sandbox.reset"
# Put in the environ by server.py's request handler: only there can a socket be reset.
HANDLER_KEY = "kiva_sandbox.request_handler"


def answer(data, status=200, **headers) -> JsonResponse:
    response = JsonResponse(
        data,
        status=status,
        safe=False,
        encoder=DjangoJSONEncoder,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def problem(status, code, message, field=None, errors=None) -> JsonResponse:
    body = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return answer(body, status)


def _redacted_headers(request) -> dict:
    headers = dict(request.headers)
    if "Authorization" in headers:
        headers["Authorization"] = headers["Authorization"].split(" ")[0] + " [redacted]"
    headers.pop("Cookie", None)
    return headers


def _redacted_body(request, token_endpoint) -> str:
    text = request.body.decode("utf-8", errors="replace")
    if token_endpoint and text:
        pairs = [
            (k, "[redacted]" if k == "client_secret" else v)
            for k, v in parse_qsl(text, keep_blank_values=True)
        ]
        return urlencode(pairs)
    return text


def _authenticate(request, partner_id, scope):
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None, problem(401, "api.unauthorized", "Missing bearer token")
    claims = tokens.verify(header[7:].strip())
    if claims is None:
        return None, problem(401, "api.unauthorized", "Invalid token")
    owner = SandboxPartner.objects.filter(partner_id=claims.get("partnerId")).first()
    now = time.time()
    if (
        owner is None
        or claims["exp"] <= now
        or claims.get("epoch") != owner.token_epoch
        or (
            owner.token_valid_seconds is not None
            and now - claims["iat"] >= owner.token_valid_seconds
        )
    ):
        return None, problem(401, "api.unauthorized", "Token expired")
    if claims["partnerId"] != partner_id:
        return None, problem(
            403, "api.forbidden", f"This token is for partner {claims['partnerId']}"
        )
    if scope and scope not in claims.get("scope", "").split():
        return None, problem(403, "api.forbidden", f"Missing scope {scope}")
    return claims, None


def sandbox_endpoint(*, scope=None, token_endpoint=False):
    """`scope` is the scope the endpoint needs; a callable gets the partner and returns it."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, partner_id=None, **kwargs):
            started = time.monotonic()
            record = SandboxRequest.objects.create(
                partner_id=partner_id or "",
                method=request.method,
                path=request.path,
                query=request.META.get("QUERY_STRING", ""),
                headers=_redacted_headers(request),
                body=_redacted_body(request, token_endpoint),
            )
            if token_endpoint:
                client = (
                    SandboxClient.objects.select_related("partner")
                    .filter(client_id=request.POST.get("client_id", ""))
                    .first()
                )
                partner = client.partner if client else None
            else:
                partner = SandboxPartner.objects.filter(partner_id=partner_id).first()
            target = "token" if token_endpoint else "api"
            fault = faults.choose(partner, target)
            if fault == "rate_limit":
                response = answer(
                    {"code": "api.rate_limited", "message": "Too many requests"},
                    429,
                    Retry_After=str(partner.retry_after),
                )
            elif fault == "error":
                status = faults.error_status(partner)
                response = problem(status, "api.error", f"Sandbox fault: HTTP {status}")
            elif token_endpoint:
                response = view(request, client=client, **kwargs)
            else:
                needed = scope(partner) if callable(scope) else scope
                claims, response = _authenticate(request, partner_id, needed)
                if response is None and partner is None:
                    response = problem(404, "api.not_found", f"No partner {partner_id}")
                if response is None:
                    response = view(request, partner=partner, claims=claims, **kwargs)
            if fault == "reset" and HANDLER_KEY not in request.environ:
                # Mounted in the portal the socket is out of reach: the nearest thing is a
                # gateway error after the request was processed.
                fault = "reset (as 502: not on the sandbox's own server)"
                response = HttpResponse(status=502)
            record.partner_id = record.partner_id or (partner.partner_id if partner else "")
            record.status = response.status_code
            record.response_body = _redacted_response(response, token_endpoint)
            record.fault = fault or ""
            if fault == "hang":
                record.fault = f"hang {partner.hang_seconds}s"
            record.save()
            faults.delay(partner, target, started=started)
            if fault == "hang":
                time.sleep(partner.hang_seconds)
            elif fault == "reset":
                request.environ[RESET_KEY] = True
            return response

        return wrapper

    return decorator


def read_json(request):
    """The body as JSON with numbers as Decimal, or raise ValueError."""
    return json.loads(request.body.decode("utf-8"), parse_float=Decimal)


def _redacted_response(response, token_endpoint) -> str:
    text = response.content.decode("utf-8", errors="replace")
    if token_endpoint and response.status_code == 200:
        data = json.loads(text)
        data["access_token"] = "[redacted]"
        text = json.dumps(data)
    return text
