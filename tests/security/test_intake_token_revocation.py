"""One access token given to an MIS client can be revoked alone (a token leaked in a log, a
laptop lost), by a partner admin, audited; the client and its other tokens keep working."""

from django.test import Client

from integrations.mis.models import IssuedToken
from kivaportal.workflow.models import AuditEntry
from tests.admin.admin_forms import admin_url
from tests.factories import mis_client
from tests.security.conftest import user

TOKEN_URL = "/api/intake/v1/oauth/token"


def new_token(api, row, secret) -> dict:
    form = {"grant_type": "client_credentials", "client_id": row.client_id, "client_secret": secret}
    answer = api.post(TOKEN_URL, form)
    assert answer.status_code == 200, answer.content
    return answer.json()


def read_activities(api, partner, token) -> int:
    url = f"/api/intake/v1/v3/partner/{partner.kiva_partner_id}/config/activities"
    return api.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_a_partner_admin_revokes_one_token_and_only_that_one(as_user, partner_a):
    row, secret = mis_client(partner_a, owner=user("ana.preparer"))
    api = Client()  # the MIS
    leaked, other = new_token(api, row, secret), new_token(api, row, secret)
    assert read_activities(api, partner_a, leaked["access_token"]) == 200

    staff = as_user("pablo.admin")
    token = IssuedToken.objects.get(jti=leaked["jti"])  # the jti the MIS was given
    staff.admin_action(admin_url("mis", "issuedtoken", "changelist"), "revoke", [token.pk])

    assert read_activities(api, partner_a, leaked["access_token"]) == 401
    assert read_activities(api, partner_a, other["access_token"]) == 200
    assert read_activities(api, partner_a, new_token(api, row, secret)["access_token"]) == 200
    [entry] = AuditEntry.objects.filter(action="intake.token_revoked")
    assert entry.actor.username == "pablo.admin"
    assert entry.data == {"mis_client": row.client_id, "jti": leaked["jti"]}


def test_another_partners_admin_cannot_see_or_revoke_the_token(as_user, partner_a):
    row, secret = mis_client(partner_a, owner=user("ana.preparer"))
    api = Client()
    answer = new_token(api, row, secret)
    token = IssuedToken.objects.get(jti=answer["jti"])
    staff = as_user("moussa.admin")  # partner B's admin

    changelist = admin_url("mis", "issuedtoken", "changelist")
    assert answer["jti"].encode() not in staff.get(changelist).content
    staff.admin_action(changelist, "revoke", [token.pk])  # the id is not in their list

    token.refresh_from_db()
    assert token.revoked_at is None
    assert read_activities(api, partner_a, answer["access_token"]) == 200


def test_a_well_signed_token_the_portal_did_not_issue_is_refused(partner_a):
    # A token minted with the signing key (say, by someone who read SECRET_KEY) but never
    # issued: it has no IssuedToken row, so it is not accepted.
    from integrations.mis.oauth import _encode

    row, _secret = mis_client(partner_a, owner=user("ana.preparer"))
    forged = _encode(
        {
            "sub": row.client_id,
            "exp": 4102444800,
            "jti": "f" * 32,
            "scope": "read:loans",
            "partnerId": str(partner_a.kiva_partner_id),
        }
    )

    assert read_activities(Client(), partner_a, forged) == 401
