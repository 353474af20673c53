"""Kiva fixtures shared by every test package (imported by tests/conftest.py).

- `kiva_sandbox`: the real sandbox served on a free port in a thread (a real socket, so hangs
  and connection resets are real). Needs the transactional database: the server thread reads
  what the test wrote, and on PostgreSQL it has its own connection.
- `sandbox_partner(partner, url)`: registers a portal partner in the sandbox (client, config
  lists matching the partner's reference data) and points its KivaConnection at `url`.
"""

import pytest
from django.db import connections

from integrations.kiva.models import KivaConnection
from integrations.kiva.sandbox.models import SandboxPartner
from integrations.kiva.sandbox.server import SandboxServerThread
from integrations.kiva.sandbox.services import sandbox_partner_register
from integrations.kiva.services import SANDBOX_AUDIENCE, connection_configure
from kivaportal.partners.models import RepaymentCsvFormat
from kivaportal.reference.models import Activity, Locale, Location, Theme

SANDBOX_SECRET = "sandbox-test-secret/+&= ñ"  # characters that break a hand-built form body


@pytest.fixture
def kiva_sandbox(transactional_db):
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }
    for conn in shared.values():
        conn.inc_thread_sharing()
    thread = SandboxServerThread(connections_override=shared)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield thread
    thread.terminate()
    for conn in shared.values():
        conn.dec_thread_sharing()


def sandbox_config(partner) -> dict:
    """Config lists in Kiva's shape, from the partner's reference data in the portal."""
    return {
        "activities": [
            {"activity_id": a.kiva_id, "activity": a.name}
            for a in Activity.objects.filter(partner=partner)
        ],
        "themes": [
            {"theme_type_id": t.kiva_id, "theme_type": t.name}
            for t in Theme.objects.filter(partner=partner)
        ],
        "locales": [
            {
                "currency": loc.currency,
                "language_code": loc.language_code,
                "language_name": loc.language_name,
                "language_id": loc.language_id,
            }
            for loc in Locale.objects.filter(partner=partner)
        ],
        "locations": [
            {"country": loc.country, "location": loc.location, "full_name": loc.full_name}
            for loc in Location.objects.filter(partner=partner)
        ],
    }


def sandbox_partner(
    partner, url, *, config=None, **fields
) -> tuple[SandboxPartner, KivaConnection]:
    base = url.rstrip("/") + "/"
    client_id = f"test-client-{partner.kiva_partner_id}"
    registered = sandbox_partner_register(
        partner_id=partner.kiva_partner_id,
        name=partner.name,
        client_id=client_id,
        client_secret=SANDBOX_SECRET,
        audience=SANDBOX_AUDIENCE,
        three_columns=partner.repayment_csv_format == RepaymentCsvFormat.THREE_COLUMNS,
        config=sandbox_config(partner) if config is None else config,
        **fields,
    )
    connection = connection_configure(
        partner=partner,
        environment="sandbox",
        client_id=client_id,
        client_secret=SANDBOX_SECRET,
        token_url=base + "oauth/token",
        api_base_url=base,
        audience=SANDBOX_AUDIENCE,
    )
    return registered, connection
