"""Item 1: settings that weaken a control change only through an audited service, and four
eyes can be turned off only by a superuser who is not a member of the partner."""

from kivaportal.workflow.models import AuditEntry
from tests.admin.admin_forms import admin_url
from tests.security.conftest import user


def partner_url(partner):
    return admin_url("partners", "partner", "change", partner.pk)


def test_partner_admin_cannot_untick_four_eyes_on_the_partner_page(as_user, partner_a):
    client = as_user("pablo.admin")

    response = client.admin_save(partner_url(partner_a), four_eyes=None)

    partner_a.refresh_from_db()
    assert response.status_code in (200, 302)
    assert partner_a.four_eyes is True


def test_superuser_member_of_the_partner_cannot_turn_four_eyes_off(as_user, partner_a):
    from kivaportal.partners.models import Membership
    from kivaportal.partners.roles import Role

    Membership.objects.create(user=user("admin"), partner=partner_a, role=Role.REVIEWER)
    client = as_user("admin")

    client.admin_save(partner_url(partner_a), four_eyes=None)

    partner_a.refresh_from_db()
    assert partner_a.four_eyes is True


def test_operator_turning_four_eyes_off_leaves_an_audit_entry(as_user, partner_a):
    client = as_user("admin")

    response = client.admin_save(partner_url(partner_a), four_eyes=None)

    assert response.status_code == 302
    partner_a.refresh_from_db()
    assert partner_a.four_eyes is False
    entry = AuditEntry.objects.get(partner=partner_a, action="partner.four_eyes_changed")
    assert entry.actor == user("admin")
    assert entry.data == {"field": "four_eyes", "from": True, "to": False}


def test_changing_the_amount_rule_is_audited(as_user, partner_a):
    client = as_user("pablo.admin")

    response = client.admin_save(
        partner_url(partner_a), repayment_amount_rule="cumulative_principal"
    )

    assert response.status_code == 302
    entry = AuditEntry.objects.get(partner=partner_a, action="partner.amount_rule_changed")
    assert (entry.actor, entry.data["to"]) == (user("pablo.admin"), "cumulative_principal")


def test_changing_the_connection_environment_is_audited_without_the_secret(as_user, partner_a):
    connection = partner_a.kiva_connection
    client = as_user("pablo.admin")

    response = client.admin_save(
        admin_url("kiva", "kivaconnection", "change", connection.pk),
        environment="stage",
        token_url="https://auth.staging.kiva.org/oauth/token",
        api_base_url="https://partnerapi.staging.kiva.org",
        audience="https://stage-audience.example",
        client_secret="the-new-stage-secret",
    )

    assert response.status_code == 302
    entry = AuditEntry.objects.get(
        partner=partner_a, action="partner.connection_changed", actor=user("pablo.admin")
    )
    assert entry.data["created"] is False
    assert entry.data["fields"]["environment"] == {"from": "sandbox", "to": "stage"}
    assert entry.data["secret_replaced"] is True
    assert "the-new-stage-secret" not in str(entry.data)
