"""Intake API keys: made and revoked by partner admins, owned by a member, checked on every
API request. A key has all of Kiva's scopes; an MIS client (oauth.py) may have fewer."""

from django.utils import timezone

from integrations.mis.callers import ALL_SCOPES, IntakeCaller, owner_refusal
from integrations.mis.credentials import credential_create, credential_revoke
from integrations.mis.models import ApiKey


def api_key_create(*, partner, name, owner, by) -> tuple[ApiKey, str]:
    """A new key for `partner`; returns it with the full key, which is never stored."""
    full, prefix, hashed = ApiKey.generate()
    key = credential_create(
        model=ApiKey, partner=partner, name=name, owner=owner, by=by, prefix=prefix, key_hash=hashed
    )
    return key, full


def api_key_revoke(*, api_key: ApiKey, by) -> ApiKey:
    return credential_revoke(credential=api_key, by=by)


def api_key_authenticate(*, presented: str) -> IntakeCaller | None:
    """The caller of an active key matching `presented`, or None (whatever the reason: no
    oracle). A key whose owner may no longer edit in its partner no longer works."""
    prefix = ApiKey.prefix_of(presented or "")
    if prefix is None:
        return None
    key = ApiKey.objects.select_related("partner", "owner").filter(prefix=prefix).first()
    if key is None or not key.matches(presented) or not key.is_active:
        return None
    if not key.partner.is_active or owner_refusal(partner_id=key.partner_id, owner=key.owner):
        return None
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return IntakeCaller(
        partner=key.partner,
        owner=key.owner,
        scopes=ALL_SCOPES,
        audit_data={"api_key": key.prefix},
        label=key.prefix,
    )
