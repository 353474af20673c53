"""Kiva's OAuth2 client credentials, for MIS clients: a partner admin makes a client (an id and
a secret shown once, some of Kiva's four scopes, an owner, an optional expiry); the MIS
exchanges them at `oauth/token` for a bearer token, as it would at Kiva's token URL.

The token is a JWT (HS256, signed with a key derived from SECRET_KEY) carrying what Kiva's
tokens carry (`partnerId`, `scope`, `jti`, `exp`), so a client that reads its token's claims
finds them. It is checked on every request against its client, so revoking the client, its
expiry, or its owner losing their role stops its tokens at once. Each token issued is kept by its
`jti` (IssuedToken), so a partner admin can also revoke one token alone (`token_revoke`).
"""

import base64
import binascii
import hmac
import json
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from integrations.mis.callers import IntakeCaller, owner_refusal
from integrations.mis.credentials import (
    credential_create,
    credential_require_manager,
    credential_revoke,
)
from integrations.mis.models import IssuedToken, MisClient, Scope
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.transitions import audit_record

TOKEN_SALT = "integrations.mis.oauth.access-token"
EXPIRED_KEPT = timedelta(days=1)  # an expired token's row is kept this long, then deleted
HEADER = {"alg": "HS256", "typ": "JWT"}


class OAuthError(Exception):
    """An error answer of the token endpoint: `error` and `error_description`, as Kiva's token
    service (Auth0) answers, with its codes (`access_denied` where RFC 6749 has others)."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def mis_client_create(*, partner, name, owner, scopes, by, expires_at=None):
    """A new client for `partner`: (client, secret). The secret is never stored."""
    credential_require_manager(partner_id=partner.pk, by=by)
    unknown = set(scopes) - set(Scope.values)
    if unknown or not scopes:
        raise ValidationError({"scopes": _("Choose one or more of Kiva's four scopes.")})
    client_id, secret, hashed = MisClient.generate()
    client = credential_create(
        model=MisClient,
        partner=partner,
        name=name,
        owner=owner,
        by=by,
        client_id=client_id,
        secret_hash=hashed,
        scopes=sorted(scopes),
        expires_at=expires_at,
    )
    return client, secret


def mis_client_revoke(*, client: MisClient, by) -> MisClient:
    return credential_revoke(credential=client, by=by)


@transaction.atomic
def token_revoke(*, token: IssuedToken, by) -> IssuedToken:
    """Revoke one issued token at once, the client and its other tokens untouched; audited on
    the client. Revoking it again changes nothing."""
    credential_require_manager(partner_id=token.client.partner_id, by=by)
    token = IssuedToken.objects.select_for_update().select_related("client").get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = timezone.now(), by
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            record=token.client,
            actor=by,
            action=AuditAction.TOKEN_REVOKED,
            data={"mis_client": token.client.client_id, "jti": token.jti},
        )
    return token


def _usable(client: MisClient | None) -> bool:
    return (
        client is not None
        and client.is_active
        and client.partner.is_active
        and owner_refusal(partner_id=client.partner_id, owner=client.owner) is None
    )


def mis_client_token(*, grant_type, client_id, client_secret, scope="", issuer) -> dict:
    """Kiva's token answer for valid client credentials; raises OAuthError otherwise."""
    if grant_type != "client_credentials":
        raise OAuthError(
            400, "unsupported_grant_type", _("Only grant_type=client_credentials is supported.")
        )
    if not client_id or not client_secret:
        raise OAuthError(400, "invalid_request", _("Send client_id and client_secret."))
    client = (
        MisClient.objects.select_related("partner", "owner").filter(client_id=client_id).first()
    )
    if client is None or not client.matches(client_secret) or not _usable(client):
        # One answer for every reason: an unknown id says nothing a wrong secret would not.
        raise OAuthError(
            401, "access_denied", _("Unknown, revoked or expired client, or a wrong secret.")
        )
    allowed = set(client.scopes)
    granted = allowed & set(scope.split()) if scope.strip() else allowed
    if not granted:
        raise OAuthError(
            403,
            "access_denied",
            _("None of the scopes asked for is allowed to this client: %(scopes)s.")
            % {"scopes": " ".join(sorted(allowed))},
        )
    now = int(time.time())
    lifetime = settings.INTAKE_TOKEN_LIFETIME
    claims = {
        "iss": issuer,
        "sub": client.client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(sorted(granted)),
        "partnerId": str(client.partner.kiva_partner_id),
    }
    issued = timezone.now()
    MisClient.objects.filter(pk=client.pk).update(last_used_at=issued)
    # Kept so that this one token can be revoked; tokens long expired are forgotten.
    IssuedToken.objects.filter(client=client, expires_at__lt=issued - EXPIRED_KEPT).delete()
    IssuedToken.objects.create(
        client=client,
        jti=claims["jti"],
        scope=claims["scope"],
        issued_at=issued,
        expires_at=issued + timedelta(seconds=lifetime),
    )
    return {
        "access_token": _encode(claims),
        "token_type": "bearer",
        "expires_in": lifetime,
        "scope": claims["scope"],
        "iss": issuer,
        "partnerId": claims["partnerId"],
        "jti": claims["jti"],
    }


def access_token_authenticate(*, token: str) -> IntakeCaller | None:
    """The caller of a valid, unexpired token of a usable client, or None."""
    claims = _decode(token)
    if claims is None or not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        return None
    client = (
        MisClient.objects.select_related("partner", "owner")
        .filter(client_id=str(claims.get("sub", "")))
        .first()
    )
    if not _usable(client):
        return None
    # The token itself must not have been revoked (nor be one the portal did not issue).
    jti = str(claims.get("jti", ""))
    if not IssuedToken.objects.filter(client=client, jti=jti, revoked_at__isnull=True).exists():
        return None
    # The client's scopes today: narrowing them narrows the tokens already issued.
    scopes = frozenset(str(claims.get("scope", "")).split()) & frozenset(client.scopes)
    MisClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
    return IntakeCaller(
        partner=client.partner,
        owner=client.owner,
        scopes=scopes,
        audit_data={"mis_client": client.client_id},
        label=client.client_id,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(signing_input: str) -> bytes:
    return salted_hmac(TOKEN_SALT, signing_input, algorithm="sha256").digest()


def _encode(claims: dict) -> str:
    head = _b64(json.dumps(HEADER, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{body}.{_b64(_signature(f'{head}.{body}'))}"


def _decode(token: str) -> dict | None:
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None
    head, body, signature = parts
    try:
        if not hmac.compare_digest(_unb64(signature), _signature(f"{head}.{body}")):
            return None
        if json.loads(_unb64(head)) != HEADER:
            return None
        claims = json.loads(_unb64(body))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None
