"""Intake API keys and MIS clients (the credentials an MIS posts with) are made, renamed and
revoked by partner admins only, each change written to the audit trail on every path (the
admin's add form, change form and revoke action), and never deleted."""

from integrations.mis.models import ApiKey, MisClient
from kivaportal.workflow.models import AuditEntry
from tests.admin.admin_forms import admin_url
from tests.security.conftest import user


def entries(credential, action):
    return AuditEntry.objects.filter(
        object_id=credential.pk,
        content_type__model=type(credential)._meta.model_name,
        action=action,
    )


def test_making_renaming_and_revoking_an_api_key_are_audited(as_user, partner_a):
    client = as_user("pablo.admin")
    ana = user("ana.preparer")
    add = admin_url("mis", "apikey", "add")

    response = client.post_from(
        add, {"partner": str(partner_a.pk), "name": "Mambu", "owner": str(ana.pk)}
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="Mambu")
    [made] = entries(key, "intake.api_key_created")
    assert (made.actor.username, made.partner_id) == ("pablo.admin", partner_a.pk)
    assert made.data == {"api_key": key.prefix, "name": "Mambu", "owner": "ana.preparer"}

    response = client.admin_save(admin_url("mis", "apikey", "change", key.pk), name="Mambu 2")
    assert response.status_code == 302
    [renamed] = entries(key, "intake.credential_renamed")
    assert renamed.data == {"api_key": key.prefix, "from": "Mambu", "to": "Mambu 2"}

    changelist = admin_url("mis", "apikey", "changelist")
    client.admin_action(changelist, "revoke", [key.pk])
    client.admin_action(changelist, "revoke", [key.pk])  # again: nothing more happens
    key.refresh_from_db()
    assert key.revoked_at is not None
    [revoked] = entries(key, "intake.api_key_revoked")
    assert revoked.actor.username == "pablo.admin"

    # Staff read it on the audit log, as a sentence.
    page = client.get("/audit/")
    assert b"Intake API key created" in page.content
    assert b"Intake API key revoked" in page.content


def test_making_and_revoking_an_mis_client_are_audited(as_user, partner_b):
    client = as_user("moussa.admin")
    preparer = user("ana.preparer")

    response = client.post_from(
        admin_url("mis", "misclient", "add"),
        {
            "partner": str(partner_b.pk),
            "name": "Cbs",
            "owner": str(preparer.pk),
            "scopes": ["create:loan_draft", "read:loans"],
        },
    )
    assert response.status_code == 200
    mis = MisClient.objects.get(name="Cbs")
    [made] = entries(mis, "intake.mis_client_created")
    assert made.data["mis_client"] == mis.client_id
    assert made.data["scopes"] == ["create:loan_draft", "read:loans"]
    assert made.actor.username == "moussa.admin"

    client.admin_action(admin_url("mis", "misclient", "changelist"), "revoke", [mis.pk])
    assert entries(mis, "intake.mis_client_revoked").count() == 1


def test_a_member_who_is_not_a_partner_admin_can_neither_make_nor_revoke(as_user, partner_a):
    key = ApiKey.objects.create(
        partner=partner_a, name="Old", prefix="0123456789", key_hash="0" * 64
    )
    client = as_user("ana.preparer")

    assert client.get(admin_url("mis", "apikey", "add")).status_code == 403
    response = client.admin_action(admin_url("mis", "apikey", "changelist"), "revoke", [key.pk])
    # The action is not offered to her: Django answers with the list, having done nothing.
    assert response.status_code == 200
    assert 'value="revoke"' not in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    assert not AuditEntry.objects.filter(action__startswith="intake.api_key").exists()


def test_keys_are_revoked_never_deleted_superusers_included(as_user, partner_a):
    key = ApiKey.objects.create(
        partner=partner_a, name="Old", prefix="9876543210", key_hash="0" * 64
    )
    client = as_user("admin")

    assert client.get(admin_url("mis", "apikey", "delete", key.pk)).status_code == 403
    assert ApiKey.objects.filter(pk=key.pk).exists()
