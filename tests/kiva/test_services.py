"""Connection services: configure (secret encrypted, never in history), test, reference sync."""

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured, ValidationError

from integrations.kiva.errors import KivaRetryableError
from integrations.kiva.models import KivaConnection
from integrations.kiva.services import connection_configure, connection_test, reference_sync
from kivaportal.common import crypto
from kivaportal.reference.models import Activity, Locale, Location, Theme
from tests.factories import (
    ActivityFactory,
    KivaConnectionFactory,
    LoanFactory,
    PartnerFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://auth.kiva.test/oauth/token"
API = "https://api.kiva.test/v3/partner/145/config/"
TOKEN = {
    "access_token": "tok",
    "expires_in": 43199,
    "scope": "read:loans create:loan_draft create:repayment create:journal_update",
    "partnerId": "145",
}


def envelope(name, items):
    return {"as_of_date_time": "2026-11-01T00:00:00Z", name: items, "code": "api.success"}


LISTS = {
    "activities": [
        {"activity_id": 61, "activity": "Agriculture"},
        {"activity_id": 62, "activity": "Dairy farming"},
    ],
    "locales": [
        {"currency": "PEN", "language_code": "es", "language_name": "Español", "language_id": 2}
    ],
    "themes": [{"theme_type_id": 3, "theme_type": "Women's Empowerment"}],
    "locations": [{"country": "Peru", "location": "Cusco", "full_name": "Cusco: Peru"}],
}


@pytest.fixture
def connection():
    return KivaConnectionFactory(partner__kiva_partner_id="145")


@pytest.fixture
def kiva():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN_URL, json=TOKEN)
        for name, items in LISTS.items():
            mock.get(API + name, json=envelope(name, items))
        yield mock


def test_configure_encrypts_the_secret_and_keeps_it_out_of_history():
    partner = PartnerFactory()
    connection = connection_configure(
        partner=partner,
        environment="stage",
        client_id="cid",
        client_secret="the-real-secret",
        audience="https://stage-audience.example",
    )
    assert connection.client_secret_encrypted and "the-real-secret" not in (
        connection.client_secret_encrypted
    )
    assert KivaConnection.objects.get().get_client_secret() == "the-real-secret"
    history = connection.history.first()
    assert not hasattr(history, "client_secret_encrypted")
    assert connection.token_url == "https://auth.staging.kiva.org/oauth/token"
    assert connection.kiva_partner_id == partner.kiva_partner_id


def test_configure_without_a_secret_keeps_the_stored_one():
    connection = KivaConnectionFactory(client_secret="first")
    connection_configure(
        partner=connection.partner,
        environment=connection.environment,
        client_id="other",
        token_url=connection.token_url,
        api_base_url=connection.api_base_url,
        audience=connection.audience,
    )
    connection.refresh_from_db()
    assert (connection.client_id, connection.get_client_secret()) == ("other", "first")


def test_configure_refuses_a_new_environment_without_the_secret_again():
    connection = KivaConnectionFactory(client_secret="first")
    with pytest.raises(ValidationError, match="client secret again"):
        connection_configure(
            partner=connection.partner, environment="production", client_id="other"
        )
    connection.refresh_from_db()
    assert connection.environment == "stage"


def test_stage_needs_an_explicit_audience_because_sources_disagree():
    with pytest.raises(ValueError, match="audience"):
        connection_configure(
            partner=PartnerFactory(), environment="stage", client_id="c", client_secret="s"
        )


def test_production_refuses_to_encrypt_without_its_own_key(settings):
    settings.PRODUCTION = True
    settings.PORTAL_ENCRYPTION_KEY = []
    with pytest.raises(ImproperlyConfigured, match="PORTAL_ENCRYPTION_KEY"):
        crypto.encrypt("x")


def test_secret_encrypted_with_a_rotated_key_still_decrypts(settings):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PORTAL_ENCRYPTION_KEY = [old]
    stored = crypto.encrypt("secret")
    settings.PORTAL_ENCRYPTION_KEY = [new, old]
    assert crypto.decrypt(stored) == "secret"
    settings.PORTAL_ENCRYPTION_KEY = [new]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored)


def test_reference_sync_creates_every_list(connection, kiva):
    counts = reference_sync(connection=connection)

    partner = connection.partner
    assert counts["activities"].created == 2
    assert set(Activity.objects.filter(partner=partner).values_list("kiva_id", "name")) == {
        (61, "Agriculture"),
        (62, "Dairy farming"),
    }
    assert Locale.objects.get(partner=partner).language_id == 2
    assert Theme.objects.get(partner=partner).name == "Women's Empowerment"
    assert Location.objects.get(partner=partner).full_name == "Cusco: Peru"
    connection.refresh_from_db()
    assert connection.last_synced_at is not None


def test_reference_sync_updates_names_and_retires_values_loans_use(connection, kiva):
    partner = connection.partner
    used = ActivityFactory(partner=partner, kiva_id=99, name="Old activity")
    LoanFactory(partner=partner, activity=used)
    unused_theme = ThemeFactory(partner=partner, kiva_id=98, name="Unused")
    renamed = ActivityFactory(partner=partner, kiva_id=61, name="Agri")

    counts = reference_sync(connection=connection)

    used.refresh_from_db()
    renamed.refresh_from_db()
    assert used.retired is True  # kept: a loan refers to it
    assert not Theme.objects.filter(pk=unused_theme.pk).exists()
    assert renamed.name == "Agriculture" and not renamed.retired
    assert counts["activities"].retired == 1 and counts["themes"].deleted == 1


def test_a_retired_value_kiva_lists_again_is_active_again(connection, kiva):
    value = ActivityFactory(partner=connection.partner, kiva_id=61, name="Agriculture")
    value.retired = True
    value.save()
    reference_sync(connection=connection)
    value.refresh_from_db()
    assert value.retired is False


def test_reference_sync_changes_nothing_when_a_list_cannot_be_fetched(connection, kiva):
    kiva.replace(responses.GET, API + "locations", status=500)
    ActivityFactory(partner=connection.partner, kiva_id=1, name="Stays")

    with pytest.raises(KivaRetryableError):
        reference_sync(connection=connection)

    assert list(Activity.objects.values_list("name", flat=True)) == ["Stays"]


def test_reference_sync_skips_items_without_the_needed_fields(connection, kiva):
    kiva.replace(
        responses.GET,
        API + "activities",
        json=envelope("activities", [{"activity": "no id"}, {"activity_id": 5, "activity": "A"}]),
    )
    counts = reference_sync(connection=connection)
    assert (counts["activities"].created, counts["activities"].skipped) == (1, 1)


def test_connection_test_reports_each_step_and_is_recorded(connection, kiva):
    report = connection_test(connection=connection)

    assert report.ok
    assert len(report.lines) == 5
    assert "config/activities: 2 items" in str(report)
    connection.refresh_from_db()
    assert connection.last_test_ok is True and "config/locations" in connection.last_test_report


def test_connection_test_says_plainly_when_credentials_are_refused(connection):
    with responses.RequestsMock() as kiva:
        kiva.post(TOKEN_URL, status=401, json={"error_description": "Unauthorized"})
        report = connection_test(connection=connection)

    assert not report.ok
    assert "Unauthorized" in str(report)
    connection.refresh_from_db()
    assert connection.last_test_ok is False


def test_connection_test_flags_a_token_for_another_partner(connection, kiva):
    kiva.replace(responses.POST, TOKEN_URL, json={**TOKEN, "partnerId": "999"})
    report = connection_test(connection=connection)
    assert not report.ok and "999" in str(report)


def test_connection_test_flags_scopes_kiva_did_not_grant(connection, kiva):
    kiva.replace(responses.POST, TOKEN_URL, json={**TOKEN, "scope": "read:loans"})
    report = connection_test(connection=connection)
    assert not report.ok
    assert "create:journal_update create:loan_draft create:repayment" in str(report)


def test_connection_test_reports_a_secret_that_cannot_be_decrypted(connection):
    connection.client_secret_encrypted = "gAAAAA-not-ours"
    report = connection_test(connection=connection)
    assert not report.ok and "PORTAL_ENCRYPTION_KEY" in str(report)


def test_periodic_task_is_scheduled_and_syncs_every_active_connection(connection, kiva, settings):
    from integrations.kiva.tasks import kiva_reference_sync_all

    entry = settings.CELERY_BEAT_SCHEDULE["kiva-reference-sync"]
    assert entry["task"] == kiva_reference_sync_all.name
    inactive = KivaConnectionFactory(is_active=False)

    kiva_reference_sync_all.delay()

    assert Activity.objects.filter(partner=connection.partner).count() == 2
    assert not Activity.objects.filter(partner=inactive.partner).exists()


def test_one_partners_failing_sync_does_not_stop_the_others(connection, kiva):
    from integrations.kiva.services import reference_sync_all

    broken = KivaConnectionFactory(api_base_url="https://down.kiva.test")
    kiva.get(
        f"https://down.kiva.test/v3/partner/{broken.kiva_partner_id}/config/activities",
        status=400,
        json={"message": "no"},
    )
    outcomes = reference_sync_all()
    assert outcomes[connection.partner_id] == "ok"
    assert outcomes[broken.partner_id].startswith("failed")
    broken.refresh_from_db()
    assert broken.last_sync_report.startswith("Failed")
