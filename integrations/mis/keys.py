"""Intake API keys: made and revoked by partner admins, owned by a member, checked on every
API request. A key has all of Kiva's scopes; an MIS client (oauth.py) may have fewer."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.mis.callers import ALL_SCOPES, IntakeCaller, owner_refusal
from integrations.mis.models import ApiKey
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can


def api_key_create(*, partner, name, owner, by) -> tuple[ApiKey, str]:
    """A new key for `partner`; returns it with the full key, which is never stored."""
    if not user_can(by, Action.MANAGE, partner.pk):
        raise PermissionDenied(_("Only a partner admin may create API keys."))
    refusal = owner_refusal(partner_id=partner.pk, owner=owner)
    if refusal:
        raise ValidationError({"owner": refusal})
    full, prefix, hashed = ApiKey.generate()
    key = ApiKey.objects.create(
        partner=partner, name=name, prefix=prefix, key_hash=hashed, owner=owner, created_by=by
    )
    return key, full


def api_key_revoke(*, api_key: ApiKey, by) -> ApiKey:
    if not user_can(by, Action.MANAGE, api_key.partner_id):
        raise PermissionDenied(_("Only a partner admin may revoke API keys."))
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


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
