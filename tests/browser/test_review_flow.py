"""The review flow end to end in a real browser: a preparer submits a loan; a reviewer logs
in, opens the queue, reviews the loan, approves it, and sees it sent to Kiva (the local
sandbox on a real socket) with the draft's uuid, and the audit entries."""

import re

import pytest
from playwright.sync_api import expect

from integrations.kiva.sandbox.models import SandboxLoan
from kivaportal.partners.roles import Role
from kivaportal.workflow.states import RecordState
from tests.factories import LoanFactory, PartnerFactory, member
from tests.kiva.fixtures import sandbox_partner

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("secret-pass-123")
    page.get_by_role("button", name="Log in").click()


def test_preparer_submits_and_reviewer_approves_in_the_browser(live_server, browser, kiva_sandbox):
    partner = PartnerFactory(name="Cooperativa Navegador")
    preparer = member(partner, Role.PREPARER, username="prep", first_name="Ana")
    member(partner, Role.REVIEWER, username="rev", first_name="Rosa")
    loan = LoanFactory(
        partner=partner, mis_loan_id="WEB-001", created_by=preparer, updated_by=preparer
    )
    sandbox_partner(partner, kiva_sandbox.url)

    prep_page = browser.new_context().new_page()
    log_in(prep_page, live_server, "prep")
    prep_page.goto(f"{live_server.url}/p/{partner.pk}/loans/{loan.pk}/")
    prep_page.get_by_role("button", name="Submit for review").click()
    expect(prep_page.get_by_role("status")).to_contain_text("submitted for review")

    page = browser.new_context().new_page()
    log_in(page, live_server, "rev")
    # One partner: the dashboard opens directly; from there to the loans waiting.
    expect(page.get_by_role("heading", name=re.compile("Cooperativa Navegador"))).to_be_visible()
    page.get_by_role("link", name="Submitted for review").first.click()
    page.get_by_role("link", name="WEB-001").click()
    expect(page.get_by_role("heading", name=re.compile("WEB-001"))).to_be_visible()
    # The JSON that will go to Kiva, with the borrower as Kiva's "entreps".
    expect(page.locator("pre.json")).to_contain_text('"loan_id": "WEB-001"')
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("approved")

    page.goto(f"{live_server.url}/p/{partner.pk}/loans/{loan.pk}/")
    expect(page.locator(".state").first).to_have_text("Sent to Kiva")
    draft = SandboxLoan.objects.get()
    kiva = page.locator("section", has=page.get_by_role("heading", name="Sent to Kiva"))
    expect(kiva).to_contain_text(str(draft.uuid))
    history = page.locator("section", has=page.get_by_role("heading", name="History"))
    approved = history.locator("tr.event-workflow", has_text="Submitted for review → Approved")
    expect(approved).to_contain_text("Rosa")
    expect(history.locator("tr.event-workflow").first).to_contain_text("Sent to Kiva")
    loan.refresh_from_db()
    assert loan.state == RecordState.SENT
