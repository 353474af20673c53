"""Intake API keys: made and revoked by partner admins, checked on every API request."""

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.mis.models import ApiKey
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can


def api_key_create(*, partner, name, by) -> tuple[ApiKey, str]:
    """A new key for `partner`; returns it with the full key, which is never stored."""
    if not user_can(by, Action.MANAGE, partner.pk):
        raise PermissionDenied(_("Only a partner admin may create API keys."))
    full, prefix, hashed = ApiKey.generate()
    key = ApiKey.objects.create(
        partner=partner, name=name, prefix=prefix, key_hash=hashed, created_by=by
    )
    return key, full


def api_key_revoke(*, api_key: ApiKey, by) -> ApiKey:
    if not user_can(by, Action.MANAGE, api_key.partner_id):
        raise PermissionDenied(_("Only a partner admin may revoke API keys."))
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, presented: str) -> ApiKey | None:
    """The active key matching `presented`, or None (whatever the reason: no oracle)."""
    prefix = ApiKey.prefix_of(presented or "")
    if prefix is None:
        return None
    key = ApiKey.objects.select_related("partner").filter(prefix=prefix).first()
    if key is None or not key.matches(presented) or not key.is_active:
        return None
    if not key.partner.is_active:
        return None
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key
