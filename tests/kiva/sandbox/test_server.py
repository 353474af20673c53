"""The sandbox's own server (what `manage.py kiva_sandbox` runs) and its pages."""

import threading

import pytest
import requests
from django.core.management import call_command
from django.db import connections

from integrations.kiva.sandbox.models import SandboxLoan
from integrations.kiva.sandbox.server import make_server

from .conftest import BASE, draft, make_partner


@pytest.mark.django_db(transaction=True)
def test_standalone_server_serves_the_sandbox_at_the_same_prefix():
    make_partner()
    server = make_server("127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        index = requests.get(f"http://127.0.0.1:{port}/kiva-sandbox/", timeout=5)
        portal_page = requests.get(f"http://127.0.0.1:{port}/admin/", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        connections.close_all()
    assert index.status_code == 200 and "Sandbox partner" in index.text
    assert portal_page.status_code == 404  # only the sandbox, not the portal


@pytest.mark.django_db
def test_loans_page_lists_drafts_and_publishes_one(client, kiva):
    kiva.post("loan_draft", draft())
    loan = SandboxLoan.objects.get()
    page = client.get(BASE + "loans/")
    assert str(loan.uuid).encode() in page.content

    response = client.post(BASE + f"loans/{loan.uuid}/publish")

    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.status == "fundRaising" and loan.kiva_id


@pytest.mark.django_db
def test_faults_command_sets_and_clears_faults(partner):
    call_command("kiva_sandbox_faults", "145", error_share=0.5, count=3, target="all")
    partner.refresh_from_db()
    assert (partner.error_share, partner.faults_remaining, partner.fault_target) == (0.5, 3, "all")
    call_command("kiva_sandbox_faults", "145", off=True)
    partner.refresh_from_db()
    assert (partner.error_share, partner.faults_remaining) == (0.0, None)
