import hashlib

import pytest

from integrations.kiva.sandbox.models import SandboxClient, SandboxPartner

SECRET = "sandbox-secret"
AUDIENCE = "https://kiva-sandbox.invalid"
BASE = "/kiva-sandbox/"
ALL_SCOPES = "read:loans create:loan_draft create:repayment create:journal_update"


def make_partner(partner_id="145", *, three_columns=False, **fields) -> SandboxPartner:
    partner = SandboxPartner.objects.create(
        partner_id=partner_id,
        name="Sandbox partner",
        three_columns=three_columns,
        activities=[{"activity_id": 61, "activity": "Agriculture"}],
        themes=[{"theme_type_id": 3, "theme_type": "Women's Empowerment"}],
        locales=[
            {"currency": "PEN", "language_code": "es", "language_name": "Español", "language_id": 2}
        ],
        locations=[{"country": "Peru", "location": "Cusco", "full_name": "Cusco: Peru"}],
        **fields,
    )
    SandboxClient.objects.create(
        client_id=f"client-{partner_id}",
        secret_sha256=hashlib.sha256(SECRET.encode()).hexdigest(),
        partner=partner,
        audience=AUDIENCE,
    )
    return partner


class Kiva:
    """Talks to the in-portal sandbox through Django's test client, as the portal would."""

    def __init__(self, http, partner_id="145"):
        self.http = http
        self.partner_id = partner_id

    def token_response(self, scope=ALL_SCOPES, secret=SECRET, audience=AUDIENCE, **extra):
        form = {
            "grant_type": "client_credentials",
            "client_id": f"client-{self.partner_id}",
            "client_secret": secret,
            "audience": audience,
            "scope": scope,
            **extra,
        }
        from urllib.parse import urlencode

        return self.http.post(
            BASE + "oauth/token", urlencode(form), content_type="application/x-www-form-urlencoded"
        )

    def token(self, **kwargs):
        return self.token_response(**kwargs).json()["access_token"]

    def get(self, path, token=None, **params):
        token = token or self.token()
        return self.http.get(
            f"{BASE}v3/partner/{self.partner_id}/{path}",
            params,
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    def post(self, path, body, token=None):
        token = token or self.token()
        data = body if isinstance(body, str | bytes) else _json(body)
        return self.http.post(
            f"{BASE}v3/partner/{self.partner_id}/{path}",
            data,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )


def _json(body):
    from integrations.kiva.payloads import to_json

    return to_json(body)


@pytest.fixture
def partner(db):
    return make_partner()


@pytest.fixture
def kiva(client, partner):
    return Kiva(client)


def draft(**overrides):
    from decimal import Decimal

    body = {
        "activity_id": 61,
        "description_language_id": 2,
        "currency": "PEN",
        "location": "Cusco: Peru",
        "description": "Rosa vende verduras.",
        "loanuse": "Semillas.",
        "client_waiver_signed": True,
        "disburse_time": "2026-01-10",
        "entreps": [
            {
                "first_name": "Rosa",
                "last_name": "Quispe",
                "gender": "female",
                "amount": Decimal("1200.50"),
                "client_id": "C-1",
                "loan_id": "L-1",
            }
        ],
        "schedule": [
            {"date": "2026-02-10", "principal": Decimal("1200.50"), "interest": Decimal("30.00")}
        ],
    }
    body.update(overrides)
    return body
