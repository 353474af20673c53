"""The portal's own Kiva client (integrations/kiva/client.py: what the portal uses to talk to
Kiva) pointed at the portal's intake API over a real socket, changing only the base URLs and
the credentials: an MIS built for Kiva's Partner API works unchanged (issue 12)."""

from integrations.kiva.client import KivaClient
from kivaportal.lending.models import Loan
from kivaportal.partners.roles import Role
from tests.factories import KivaConnectionFactory, member, mis_client
from tests.mis.api import LOAN_DRAFT


def test_kivas_client_fetches_a_token_reads_posts_and_reads_back(live_server, partner, settings):
    # The portal's own host stands in for Kiva's: the operator allows it (KIVA_ALLOWED_HOSTS).
    settings.KIVA_ALLOWED_HOSTS = [*settings.KIVA_ALLOWED_HOSTS, "localhost"]
    owner = member(partner, Role.PREPARER)
    row, secret = mis_client(partner, owner=owner)
    connection = KivaConnectionFactory.build(
        partner=partner,
        environment="sandbox",
        token_url=f"{live_server.url}/api/intake/v1/oauth/token",
        api_base_url=f"{live_server.url}/api/intake/v1",
        audience="https://partner-api.k1.kiva.org",
        client_id=row.client_id,
        client_secret=secret,
    )
    kiva = KivaClient(connection)

    token = kiva.token(fresh=True)
    assert token.partner_id == partner.kiva_partner_id
    assert set(token.scope.split()) == set(connection.scopes.split())
    assert [a["activity_id"] for a in kiva.config_list("activities")] == [7120]
    assert [loc["full_name"] for loc in kiva.config_list("locations")] == ["Pisac: Peru"]
    assert kiva.config_list("themes") and kiva.config_list("locales")

    answer = kiva.create_loan_draft(LOAN_DRAFT)
    assert answer.status == 200 and answer.data["code"] == "api.success"
    repaid = kiva.post_repayments({"repayments": [{"loan_id": "L100", "amount": "0"}]})
    assert repaid.status == 200, repaid.data
    journal = {"internal_loan_id": "L100", "subject": "The cart", "body": "Rosa bought it."}
    assert kiva.post_journals({"journals": [journal]}).status == 200

    (listed,) = kiva.all_loans(query="L100")
    assert (listed["internal_loan_id"], listed["portal_state"]) == ("L100", "draft")
    assert Loan.objects.get().created_by == owner
