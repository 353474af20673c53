"""Partner admins make and revoke intake API keys in the admin; the key is shown once."""

from integrations.mis.keys import api_key_authenticate
from integrations.mis.models import ApiKey
from kivaportal.partners.roles import Role
from tests.factories import PartnerFactory, api_key, member


def test_a_partner_admin_creates_a_key_and_sees_it_once(client, partner):
    admin = member(partner, Role.PARTNER_ADMIN)
    client.force_login(admin)
    response = client.post("/admin/mis/apikey/add/", {"partner": partner.pk, "name": "Our MIS"})
    assert response.status_code == 200
    key = ApiKey.objects.get()
    page = response.content.decode()
    full = page.split('readonly value="')[1].split('"')[0]
    assert full.startswith(f"kp_{key.prefix}_")
    assert api_key_authenticate(presented=full) == key
    assert key.created_by == admin and full not in key.key_hash
    assert full not in client.get(f"/admin/mis/apikey/{key.pk}/change/").content.decode()
    # The header's placeholder is text, not an HTML tag the browser swallows.
    assert "<code>Authorization: Bearer &lt;key&gt;</code>" in page


def test_a_preparer_cannot_create_keys(client, partner):
    preparer = member(partner, Role.PREPARER)
    client.force_login(preparer)
    response = client.post("/admin/mis/apikey/add/", {"partner": partner.pk, "name": "x"})
    assert response.status_code == 403
    assert ApiKey.objects.count() == 0


def test_revoking_a_key_in_the_admin_stops_it(client, partner):
    admin = member(partner, Role.PARTNER_ADMIN)
    row, full = api_key(partner)
    client.force_login(admin)
    client.post("/admin/mis/apikey/", {"action": "revoke", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert api_key_authenticate(presented=full) is None


def test_another_partners_keys_are_invisible(client, partner):
    other = PartnerFactory()
    row, _full = api_key(other, name="Their secret MIS")
    admin = member(partner, Role.PARTNER_ADMIN)
    client.force_login(admin)
    assert client.get(f"/admin/mis/apikey/{row.pk}/change/").status_code == 404
    assert "Their secret MIS" not in client.get("/admin/mis/apikey/").content.decode()
