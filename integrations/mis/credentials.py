"""Making, renaming and revoking the partner's intake credentials (API keys, MIS clients): only
partner admins, each change audited in its own transaction (`intake.*` codes), on every path
(the admin's add form, change form and revoke action all call these)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.mis.callers import owner_refusal
from integrations.mis.models import ApiKey, IntakeCredential
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.transitions import audit_record, record_lock


def _kind(credential: IntakeCredential) -> str:
    return "api_key" if isinstance(credential, ApiKey) else "mis_client"


def _details(credential: IntakeCredential) -> dict:
    return {_kind(credential): credential.public_id, "name": credential.name}


def credential_require_manager(*, partner_id, by) -> None:
    if not user_can(by, Action.MANAGE, partner_id):
        raise PermissionDenied(_("Only a partner admin may manage API keys and MIS clients."))


@transaction.atomic
def credential_create(*, model, partner, name, owner, by, **fields) -> IntakeCredential:
    """A new key or client of `partner` owned by `owner`, its hashed secret and public id in
    `fields`; audited as made by `by`."""
    credential_require_manager(partner_id=partner.pk, by=by)
    refusal = owner_refusal(partner_id=partner.pk, owner=owner)
    if refusal:
        raise ValidationError({"owner": refusal})
    credential = model.objects.create(
        partner=partner, name=name, owner=owner, created_by=by, **fields
    )
    created = (
        AuditAction.API_KEY_CREATED
        if isinstance(credential, ApiKey)
        else AuditAction.MIS_CLIENT_CREATED
    )
    data = {**_details(credential), "owner": owner.get_username()}
    if not isinstance(credential, ApiKey):
        data["scopes"] = credential.scopes
        data["expires_at"] = credential.expires_at.isoformat() if credential.expires_at else None
    audit_record(record=credential, actor=by, action=created, data=data)
    return credential


@transaction.atomic
def credential_revoke(*, credential: IntakeCredential, by) -> IntakeCredential:
    """Revoke `credential` at once (its tokens too), audited; revoking it again changes
    nothing and writes nothing."""
    credential_require_manager(partner_id=credential.partner_id, by=by)
    credential = record_lock(credential)
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.save(update_fields=["revoked_at"])
        revoked = (
            AuditAction.API_KEY_REVOKED
            if isinstance(credential, ApiKey)
            else AuditAction.MIS_CLIENT_REVOKED
        )
        audit_record(record=credential, actor=by, action=revoked, data=_details(credential))
    return credential


@transaction.atomic
def credential_rename(*, credential: IntakeCredential, name: str, by) -> IntakeCredential:
    """The one thing of a key or client that changes after it is made: its name, audited."""
    credential_require_manager(partner_id=credential.partner_id, by=by)
    credential = record_lock(credential)
    before = credential.name
    if name != before:
        credential.name = name
        credential.save(update_fields=["name"])
        audit_record(
            record=credential,
            actor=by,
            action=AuditAction.CREDENTIAL_RENAMED,
            data={_kind(credential): credential.public_id, "from": before, "to": name},
        )
    return credential
