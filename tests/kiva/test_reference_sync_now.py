"""A partner admin's "Sync reference data now" (the team page) against the real sandbox over a
socket: the sync is queued (in-process without a broker), the partner's lists arrive, "last
synced" shows on the page, and a failure is kept on the connection."""

from django.test import Client
from django.urls import reverse

from integrations.kiva.models import KivaConnection
from kivaportal.partners.roles import Role
from kivaportal.reference.models import Activity, Location
from kivaportal.workflow.models import AuditEntry
from tests.factories import PartnerFactory, member
from tests.kiva.fixtures import sandbox_partner
from tests.pipeline.realparts import reset_producers

LISTS = {
    "activities": [{"activity_id": 61, "activity": "Agriculture"}],
    "themes": [{"theme_type_id": 1, "theme_type": "Underserved"}],
    "locales": [
        {"currency": "PEN", "language_code": "es", "language_name": "Español", "language_id": 2}
    ],
    "locations": [{"country": "Peru", "location": "Cusco", "full_name": "Cusco: Peru"}],
}


def test_sync_now_fetches_the_lists_and_shows_when(kiva_sandbox):
    partner = PartnerFactory()
    admin = member(partner, Role.PARTNER_ADMIN)
    _registered, connection = sandbox_partner(partner, kiva_sandbox.url, config=LISTS)
    client = Client()
    client.force_login(admin)
    before = client.get(reverse("review:team", args=[partner.pk])).content.decode()

    response = client.post(reverse("review:reference_sync", args=[partner.pk]), follow=True)

    connection.refresh_from_db()
    assert "Last synced: —" in before
    assert connection.last_synced_at is not None
    assert list(Activity.objects.filter(partner=partner).values_list("kiva_id", "name")) == [
        (61, "Agriculture")
    ]
    assert Location.objects.get(partner=partner).full_name == "Cusco: Peru"
    assert "Last synced: —" not in response.content.decode()
    # The sync's report, under the date.
    assert "Activities: 1 new, 0 updated, 0 retired, 0 removed, 0 skipped" in (
        response.content.decode()
    )
    entry = AuditEntry.objects.get(action="partner.reference_sync_requested")
    assert (entry.partner, entry.actor) == (partner, admin)


def test_a_failed_sync_is_said_on_the_page_and_changes_nothing(kiva_sandbox):
    partner = PartnerFactory()
    admin = member(partner, Role.PARTNER_ADMIN)
    sandbox_partner(partner, kiva_sandbox.url, config=LISTS)
    # The connection now points where nothing answers (the secret goes with the move).
    connection = KivaConnection.objects.get(partner=partner)
    connection.token_url = "http://127.0.0.1:9/oauth/token"
    connection.save()
    client = Client()
    client.force_login(admin)

    response = client.post(reverse("review:reference_sync", args=[partner.pk]), follow=True)

    connection.refresh_from_db()
    assert connection.last_synced_at is None
    assert connection.last_sync_report.startswith("Failed:")
    assert "Failed:" in response.content.decode()
    assert not Activity.objects.filter(partner=partner).exists()


def test_without_a_connection_the_page_says_so(db):
    partner = PartnerFactory()
    admin = member(partner, Role.PARTNER_ADMIN)
    client = Client()
    client.force_login(admin)

    page = client.get(reverse("review:team", args=[partner.pk]))
    response = client.post(reverse("review:reference_sync", args=[partner.pk]), follow=True)

    assert "no Kiva connection yet" in page.content.decode()
    assert "has no active Kiva connection" in response.content.decode()
    assert not AuditEntry.objects.filter(action="partner.reference_sync_requested").exists()


def test_the_syncs_report_reads_in_the_readers_language(kiva_sandbox):
    from django.utils import translation

    from integrations.kiva.services import reference_sync_connection

    partner = PartnerFactory()
    admin = member(partner, Role.PARTNER_ADMIN)
    sandbox_partner(partner, kiva_sandbox.url, config=LISTS)
    connection = KivaConnection.objects.get(partner=partner)
    connection.token_url = "http://127.0.0.1:9/oauth/token"
    connection.save()
    with translation.override("fr"):  # the worker's language, whatever it is
        assert reference_sync_connection(connection_id=connection.pk).startswith("failed")
    connection.refresh_from_db()
    assert connection.last_sync_report.startswith("Failed: ")  # default language, for search
    client = Client()
    client.force_login(admin)
    url = reverse("review:team", args=[partner.pk])
    page = client.get(url, headers={"accept-language": "es"}).content.decode()
    assert "Falló: " in page and "Failed: " not in page
    # A report written before (text only) shows as it was.
    KivaConnection.objects.filter(pk=connection.pk).update(
        last_sync_report="activities: 3 new", last_sync_report_message=None
    )
    page = client.get(url, headers={"accept-language": "es"}).content.decode()
    assert "activities: 3 new" in page


def test_a_broker_that_is_down_does_not_turn_the_request_into_an_error_page(transactional_db):
    """The request is committed and audited; the task cannot be queued (nothing listens on
    the broker's port): the page still answers, as the daily sync will run anyway."""
    import socket

    from kivaportal.celery import app

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    partner = PartnerFactory()
    admin = member(partner, Role.PARTNER_ADMIN)
    KivaConnection.objects.create(
        partner=partner,
        environment="sandbox",
        token_url="http://127.0.0.1:9/oauth/token",
        api_base_url="http://127.0.0.1:9/",
        audience="x",
        client_id="x",
        kiva_partner_id=partner.kiva_partner_id,
    )
    client = Client()
    client.force_login(admin)
    saved = {k: app.conf[k] for k in ("CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")}
    saved_transport = app.conf.broker_transport_options

    try:
        app.conf["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
        app.conf["CELERY_TASK_ALWAYS_EAGER"] = False
        app.conf.broker_transport_options = {"max_retries": 0}
        reset_producers(app)
        response = client.post(reverse("review:reference_sync", args=[partner.pk]))
    finally:
        app.conf.update(saved)
        app.conf.broker_transport_options = saved_transport
        reset_producers(app)

    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="partner.reference_sync_requested").count() == 1
