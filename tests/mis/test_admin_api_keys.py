"""Partner admins make and revoke intake API keys and MIS clients in the admin, each owned by
an accountable member; the key or secret is shown once."""

import pytest

from integrations.mis.keys import api_key_authenticate
from integrations.mis.models import ApiKey, MisClient
from integrations.mis.oauth import OAuthError, mis_client_token
from kivaportal.partners.roles import Role
from tests.factories import MembershipFactory, PartnerFactory, api_key, member, mis_client


def _shown(response, position=0):
    return response.content.decode().split('readonly value="')[1 + position].split('"')[0]


def test_a_partner_admin_creates_a_key_and_sees_it_once(client, partner):
    admin = member(partner, Role.PARTNER_ADMIN)
    owner = member(partner, Role.PREPARER)
    client.force_login(admin)
    response = client.post(
        "/admin/mis/apikey/add/", {"partner": partner.pk, "name": "Our MIS", "owner": owner.pk}
    )
    assert response.status_code == 200
    key = ApiKey.objects.get()
    full = _shown(response)
    assert full.startswith(f"kp_{key.prefix}_")
    caller = api_key_authenticate(presented=full)
    assert (caller.partner, caller.owner, caller.audit_data) == (
        partner,
        owner,
        {"api_key": key.prefix},
    )
    assert key.created_by == admin and key.owner == owner and full not in key.key_hash
    assert full not in client.get(f"/admin/mis/apikey/{key.pk}/change/").content.decode()
    # The header's placeholder is text, not an HTML tag the browser swallows.
    assert "<code>Authorization: Bearer &lt;key&gt;</code>" in response.content.decode()


def test_a_key_needs_an_owner_who_may_edit_in_its_partner(client, partner):
    admin = member(partner, Role.PARTNER_ADMIN)
    reviewer = member(partner, Role.REVIEWER)
    outsider = member(PartnerFactory(), Role.PREPARER)
    client.force_login(admin)
    for owner in ("", reviewer.pk, outsider.pk):
        response = client.post(
            "/admin/mis/apikey/add/", {"partner": partner.pk, "name": "x", "owner": owner}
        )
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["owner"]
    assert ApiKey.objects.count() == 0


def test_the_owner_choices_are_members_of_the_admins_partners_only(client, partner):
    admin = member(partner, Role.PARTNER_ADMIN)
    ours = member(partner, Role.PREPARER, username="our-preparer")
    member(PartnerFactory(), Role.PREPARER, username="their-preparer")
    client.force_login(admin)
    page = client.get("/admin/mis/apikey/add/").content.decode()
    assert "our-preparer" in page and "their-preparer" not in page
    assert ours.pk


def test_a_key_stops_working_when_its_owner_can_no_longer_edit(partner):
    owner = member(partner, Role.PREPARER)
    _row, full = api_key(partner, owner=owner)
    assert api_key_authenticate(presented=full) is not None
    owner.memberships.update(role=Role.REVIEWER)
    owner = type(owner).objects.get(pk=owner.pk)
    assert api_key_authenticate(presented=full) is None


def test_a_partner_admin_creates_an_mis_client_and_sees_its_secret_once(client, partner):
    admin = member(partner, Role.PARTNER_ADMIN)
    owner = member(partner, Role.PREPARER)
    client.force_login(admin)
    response = client.post(
        "/admin/mis/misclient/add/",
        {
            "partner": partner.pk,
            "name": "Our MIS",
            "owner": owner.pk,
            "scopes": ["read:loans", "create:repayment"],
        },
    )
    assert response.status_code == 200
    row = MisClient.objects.get()
    client_id, secret = _shown(response, 0), _shown(response, 1)
    assert client_id == row.client_id and secret not in row.secret_hash
    assert (row.owner, row.created_by, row.scopes) == (
        owner,
        admin,
        ["create:repayment", "read:loans"],
    )
    token = mis_client_token(
        grant_type="client_credentials", client_id=client_id, client_secret=secret, issuer="x"
    )
    assert token["scope"] == "create:repayment read:loans"
    assert secret not in client.get(f"/admin/mis/misclient/{row.pk}/change/").content.decode()


def test_revoking_an_mis_client_in_the_admin_stops_its_tokens(client, partner):
    admin = member(partner, Role.PARTNER_ADMIN)
    row, secret = mis_client(partner)
    client.force_login(admin)
    client.post("/admin/mis/misclient/", {"action": "revoke", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.revoked_at is not None
    with pytest.raises(OAuthError) as refused:
        mis_client_token(
            grant_type="client_credentials",
            client_id=row.client_id,
            client_secret=secret,
            issuer="x",
        )
    assert (refused.value.status, refused.value.error) == (401, "access_denied")


def test_a_preparer_cannot_create_keys(client, partner):
    preparer = member(partner, Role.PREPARER)
    client.force_login(preparer)
    response = client.post(
        "/admin/mis/apikey/add/", {"partner": partner.pk, "name": "x", "owner": preparer.pk}
    )
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


def test_revoking_keys_of_a_partner_one_only_views_names_them_and_revokes_the_rest(client, partner):
    """A partner admin of one partner and a reviewer of another selects keys of both: the
    first partner's are revoked, the other's are named and kept; a reviewer alone is not
    offered the action at all."""
    other = PartnerFactory()
    admin = member(partner, Role.PARTNER_ADMIN)
    MembershipFactory(user=admin, partner=other, role=Role.REVIEWER)
    mine, _full = api_key(partner)
    theirs, their_full = api_key(other)
    client.force_login(admin)
    response = client.post(
        "/admin/mis/apikey/",
        {"action": "revoke", "_selected_action": [mine.pk, theirs.pk]},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(str(theirs) in m and "partner admin" in m for m in shown), shown
    assert "1 revoked." in shown
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    assert api_key_authenticate(presented=their_full) is not None

    client.force_login(member(other, Role.REVIEWER))
    page = client.get("/admin/mis/apikey/").content.decode()
    assert 'value="revoke"' not in page


def test_another_partners_keys_are_invisible(client, partner):
    other = PartnerFactory()
    row, _full = api_key(other, name="Their secret MIS")
    admin = member(partner, Role.PARTNER_ADMIN)
    client.force_login(admin)
    assert client.get(f"/admin/mis/apikey/{row.pk}/change/").status_code == 404
    assert "Their secret MIS" not in client.get("/admin/mis/apikey/").content.decode()


def test_an_mis_clients_name_changes_but_its_scopes_and_owner_do_not(client, partner):
    admin = member(partner, Role.PARTNER_ADMIN)
    row, _secret = mis_client(partner, scopes=["read:loans"])
    client.force_login(admin)
    url = f"/admin/mis/misclient/{row.pk}/change/"
    assert client.get(url).status_code == 200
    other = member(partner, Role.PREPARER)
    response = client.post(url, {"name": "Renamed", "owner": other.pk, "scopes": ["x"]})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.name, row.scopes) == ("Renamed", ["read:loans"])
    assert row.owner_id != other.pk
