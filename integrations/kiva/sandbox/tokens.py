"""Sandbox access tokens: JWT-shaped, HMAC-signed, checked without a table.

Kiva issues RS256 JWTs; the portal treats tokens as opaque, so an HMAC signature (keyed from
SECRET_KEY) is enough for the sandbox and keeps every process able to check every token.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid

from django.conf import settings


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key() -> bytes:
    return hashlib.sha256(f"kiva-sandbox-token:{settings.SECRET_KEY}".encode()).digest()


def issue(*, issuer, audience, partner_id, scope, lifetime, epoch) -> tuple[str, dict]:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "partnerId": partner_id,
        "scope": scope,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "epoch": epoch,
    }
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = _b64(hmac.new(_key(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{signature}", claims


def verify(token: str) -> dict | None:
    """The claims of a well-signed token (expiry is checked by the caller), else None."""
    try:
        head, body, signature = token.split(".")
        expected = _b64(hmac.new(_key(), f"{head}.{body}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(signature, expected):
            return None
        return json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
