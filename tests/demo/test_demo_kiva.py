"""Demo data connects each demo partner to the sandbox, idempotently."""

import pytest

from integrations.kiva.models import KivaConnection
from integrations.kiva.sandbox.models import SandboxClient, SandboxPartner
from integrations.kiva.services import connection_test, reference_sync
from kivaportal.demo.services import demo_load


@pytest.mark.django_db
def test_loading_the_demo_twice_duplicates_no_connection_or_sandbox_partner():
    demo_load()
    first = {c.partner_id: c.client_secret_encrypted for c in KivaConnection.objects.all()}
    demo_load()

    assert KivaConnection.objects.count() == SandboxPartner.objects.count() == 2
    assert SandboxClient.objects.count() == 2
    # The stored secret is not re-encrypted, so cached tokens stay valid across reloads.
    assert {c.partner_id: c.client_secret_encrypted for c in KivaConnection.objects.all()} == first
    connection = KivaConnection.objects.get(partner__kiva_partner_id="9001")
    assert connection.api_base_url == "http://127.0.0.1:8000/kiva-sandbox/"
    assert connection.environment == "sandbox"


def test_demo_partners_pass_the_connection_test_against_the_sandbox(kiva_sandbox, settings):
    settings.KIVA_SANDBOX_URL = kiva_sandbox.url
    demo_load()
    for connection in KivaConnection.objects.all():
        assert connection_test(connection=connection).ok
        counts = reference_sync(connection=connection)
        # The sandbox's lists are the demo's reference data: a sync changes nothing.
        assert all(c.created == c.deleted == c.retired == 0 for c in counts.values())
