"""The `load_demo` command: it serves the portal at its --url while it sends to the sandbox
there, loading twice duplicates nothing and writes no history, it says how to log in at the
real address, and it refuses production and a sandbox URL elsewhere."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import override_settings

from integrations.kiva.models import KivaConnection
from integrations.kiva.sandbox.models import SandboxClient, SandboxLoan, SandboxPartner
from kivaportal.demo import services
from kivaportal.demo.services import DemoSandboxUnreachable, demo_load
from kivaportal.lending.models import Loan
from kivaportal.partners.models import Partner
from kivaportal.pipeline.models import Submission
from tests.demo.loading import free_port

pytestmark = pytest.mark.django_db


def counts():
    """Rows of every model of the project, history tables aside (they grow with every save)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if not model._meta.model_name.startswith("historical")
    }


def history():
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.model_name.startswith("historical")
    }


def test_loading_twice_duplicates_nothing_and_tells_the_real_address():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    out = StringIO()
    with override_settings(KIVA_SANDBOX_URL=f"{url}/kiva-sandbox/"):
        call_command("load_demo", "--url", url, stdout=out)
        first, first_history = counts(), history()
        call_command("load_demo", "--url", url + "/", stdout=StringIO())

    assert counts() == first
    assert history() == first_history
    for model in (Partner, Loan, Submission, SandboxLoan):
        assert first[model._meta.label] > 0, model._meta.label
    assert KivaConnection.objects.count() == SandboxPartner.objects.count() == 2
    assert SandboxClient.objects.count() == 2
    text = out.getvalue()
    assert f"Open {url}/ and log in" in text and "kiva-demo-2026" in text
    assert "ana.preparer" in text and f"{url}/admin/" in text and ":8000" not in text
    assert KivaConnection.objects.get(partner__kiva_partner_id="9001").api_base_url == (
        f"{url}/kiva-sandbox/"
    )


def test_a_sandbox_url_elsewhere_is_refused_before_anything_is_written():
    before = counts()

    with (
        override_settings(KIVA_SANDBOX_URL="http://127.0.0.1:8000/kiva-sandbox/"),
        pytest.raises(CommandError, match="KIVA_SANDBOX_URL=http://127.0.0.1:8731/kiva-sandbox/"),
    ):
        call_command("load_demo", "--url", "http://127.0.0.1:8731", stdout=StringIO())

    assert counts() == before


def test_demo_refuses_to_load_in_production_and_writes_nothing():
    before = counts()

    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="PORTAL_PRODUCTION"):
        call_command("load_demo", stdout=StringIO())

    assert counts() == before
    assert Partner.objects.count() == 0


def test_without_the_sandbox_answering_nothing_is_written():
    before = counts()
    nowhere = f"http://127.0.0.1:{free_port()}/kiva-sandbox/"

    with (
        override_settings(KIVA_SANDBOX_URL=nowhere),
        pytest.raises(DemoSandboxUnreachable, match="does not answer"),
    ):
        demo_load()

    assert counts() == before


def test_a_demo_file_the_intake_refuses_stops_the_load_naming_it_and_writes_nothing(
    monkeypatch,
):
    """The demo's files go through the intake's checks like any other: one it refuses (here a
    journal on a loan nobody has, in the last file of the load) stops the load with the
    intake's message, and the load's transaction leaves nothing, not even the sent loans."""
    planned = services._journals_planned

    def on_an_unknown_loan(loan):
        return [{**journal, "mis_loan_id": "NO-SUCH-LOAN"} for journal in planned(loan)]

    monkeypatch.setattr(services, "_journals_planned", on_an_unknown_loan)
    before = counts()
    url = f"http://127.0.0.1:{free_port()}"

    with (
        override_settings(KIVA_SANDBOX_URL=f"{url}/kiva-sandbox/"),
        pytest.raises(CommandError, match="wk-journals.csv.*No loan with this MIS id"),
    ):
        call_command("load_demo", "--url", url, stdout=StringIO())

    assert counts() == before
