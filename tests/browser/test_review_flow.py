"""The review flow end to end in a real browser: a preparer submits a loan; a reviewer logs
in, opens the queue, reviews the loan, approves it, and sees it sent to Kiva (the local
sandbox on a real socket) with the draft's uuid, and the audit entries."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from integrations.kiva.sandbox.models import SandboxLoan
from kivaportal.partners.roles import Role
from kivaportal.workflow.states import RecordState
from tests.factories import ActivityFactory, LoanFactory, PartnerFactory, member
from tests.kiva.fixtures import sandbox_partner
from tests.photos import camera_photo_bytes

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
    # The exact JSON sent (the photo's base64 is one long line) wraps in its box; a sent record
    # shows what was sent, not what would be sent now.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    expect(kiva.locator("pre.json").first).to_contain_text("image_encoded")
    assert no_horizontal_scroll(page)
    expect(page.get_by_role("heading", name="What will go to Kiva")).to_have_count(0)


def no_horizontal_scroll(page):
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_a_preparer_edits_in_the_admin_returns_to_review_and_works_on_a_phone(
    live_server, browser, tmp_path
):
    partner = PartnerFactory(name="Cooperativa Telefono")
    preparer = member(partner, Role.PREPARER, username="prep", first_name="Ana")
    loan = LoanFactory(
        partner=partner, mis_loan_id="TEL-001", created_by=preparer, updated_by=preparer
    )
    own_activity = loan.activity.name
    ActivityFactory(name="Pesca de otro socio")  # another partner's list
    photo = tmp_path / "camera.jpg"
    photo.write_bytes(camera_photo_bytes((1600, 1200)))

    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    log_in(page, live_server, "prep")
    record = f"{live_server.url}/p/{partner.pk}/loans/{loan.pk}/"
    page.goto(record)
    assert no_horizontal_scroll(page)
    # The navigation folds into a menu on a phone.
    expect(page.get_by_role("link", name="Audit log")).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Audit log")).to_be_visible()

    # Withdraw asks first; saying no leaves the record as it was.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Withdraw").click()
    loan.refresh_from_db()
    assert loan.state == RecordState.DRAFT

    # Edit opens the loan's admin form: its own partner's choices, amounts as written.
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Change loan")).to_be_visible()
    activities = page.locator("#id_activity option").all_inner_texts()
    assert own_activity in activities and "Pesca de otro socio" not in activities
    expect(page.locator('input[name="amount"]')).to_have_value("1200.00")
    # The schedule's total follows what is typed.
    first = page.locator('input[name="schedule-0-principal"]')
    first.fill(str(Decimal(first.input_value()) + 100))
    expect(page.locator("#schedule-group .live-total")).to_contain_text(
        "Schedule principal, as typed: 1,300"
    )
    first.fill(str(Decimal(first.input_value()) - 100))
    page.locator('input[name="photo"]').set_input_files(str(photo))
    page.get_by_role("button", name="Save and return to review").click()

    page.wait_for_url(record)
    expect(page.get_by_role("heading", name=re.compile("TEL-001"))).to_be_visible()
    loan.refresh_from_db()
    assert loan.photo_copies_current
    expect(page.get_by_alt_text("Borrower photo")).to_have_attribute("src", loan.photo_page.url)
    assert no_horizontal_scroll(page)
    for path in (f"/p/{partner.pk}/", f"/p/{partner.pk}/loans/"):
        page.goto(live_server.url + path)
        assert no_horizontal_scroll(page), path

    # The queue's shortcuts, as the page lists them: j to the first row, x selects it.
    expect(page.locator("p.shortcuts")).to_contain_text("next / previous row")
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="TEL-001")).to_be_focused()
    page.keyboard.press("x")
    expect(page.get_by_role("checkbox", name="Select TEL-001")).to_be_checked()
    expect(page.locator(".selected-count")).to_have_text("1 selected")
    page.get_by_role("button", name="Submit selected for review").click()
    expect(page.get_by_role("status").first).to_contain_text("1 submitted for review.")
    loan.refresh_from_db()
    assert loan.state == RecordState.SUBMITTED
