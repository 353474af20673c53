"""The layout in a real browser, in every language: the header's navigation on one line on a
laptop, no page wider than a phone (dashboard, queue, record, audit log), and the queue's
selection tools as a reviewer uses them."""

import pytest
from playwright.sync_api import expect

from kivaportal.partners.roles import Role
from kivaportal.review import services
from kivaportal.workflow.states import RecordState
from tests.factories import KivaConnectionFactory, LoanFactory, PartnerFactory, member

pytestmark = pytest.mark.django_db(transaction=True)

LANGUAGES = ("en", "es", "fr")
# The header's rows on a desktop: brand and language, then the navigation with the user's
# menu. Each row is one line of text: 62 px measured in Chromium at 15 px type.
HEADER_MAX_PX = 70
ROW_TOPS = """() => {
  const items = [...document.querySelectorAll(
    'header .menu nav > a, header .menu nav .dropdown-toggle, header .user .dropdown-toggle')];
  const shown = items.filter(e => e.offsetParent);
  return [...new Set(shown.map(e => Math.round(e.getBoundingClientRect().top)))];
}"""


def no_horizontal_scroll(page):
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def log_in(browser, live_server, username, language, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=language)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "secret-pass-123")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


@pytest.fixture
def team():
    """A partner admin (who has the most links in the header) with a loan under review."""
    partner = PartnerFactory(name="Cooperativa Diseño")
    KivaConnectionFactory(partner=partner)
    preparer = member(partner, Role.PREPARER, username="prep", first_name="Ana")
    admin = member(
        partner,
        Role.PARTNER_ADMIN,
        username="padmin",
        first_name="Pablo",
        last_name="Administrador",
    )
    loan = LoanFactory(
        partner=partner,
        mis_loan_id="LAY-001",
        state=RecordState.SUBMITTED,
        created_by=preparer,
        updated_by=preparer,
    )
    return partner, admin, loan


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_navigation_is_one_line_on_a_laptop_and_no_page_is_wider_than_a_phone(
    live_server, browser, team, language
):
    partner, admin, loan = team
    page = log_in(browser, live_server, admin.username, language, 1280, 800)
    page.goto(f"{live_server.url}/p/{partner.pk}/")

    assert len(page.evaluate(ROW_TOPS)) == 1
    height = page.evaluate("() => document.querySelector('header').getBoundingClientRect().height")
    assert height <= HEADER_MAX_PX, f"{language}: header {height} px"
    # The occasional pages are under "More", which opens below the row and closes on Escape.
    audit = page.locator("header nav").get_by_role("link", name=_audit_log(language))
    expect(audit).to_be_hidden()
    page.locator("header nav .dropdown-toggle").click()
    expect(audit).to_be_visible()
    page.keyboard.press("Escape")
    expect(audit).to_be_hidden()
    expect(page.locator("header nav .dropdown-toggle")).to_be_focused()

    page.set_viewport_size({"width": 390, "height": 844})
    pages = (f"/p/{partner.pk}/", f"/p/{partner.pk}/loans/", f"/p/{partner.pk}/loans/{loan.pk}/")
    for path in (*pages, "/audit/"):
        page.goto(live_server.url + path)
        assert no_horizontal_scroll(page), f"{language} {path}"
    # On a phone the folded menu lists every page, "More"'s too.
    page.locator(".menu-toggle").click()
    expect(audit).to_be_visible()
    page.context.close()


def _audit_log(language):
    return {"en": "Audit log", "es": "Registro de auditoría", "fr": "Registre d'audit"}[language]


def test_select_all_counts_and_approving_without_the_box_keeps_the_selection(
    live_server, browser, team
):
    partner, admin, loan = team
    warned = LoanFactory(
        partner=partner,
        mis_loan_id="LAY-002",
        state=RecordState.SUBMITTED,
        created_by=loan.created_by,
        updated_by=loan.created_by,
        description="",
    )
    services.records_recheck(model=type(loan))
    page = log_in(browser, live_server, admin.username, "en", 1280, 800)
    page.goto(f"{live_server.url}/p/{partner.pk}/loans/?state=submitted")
    expect(page.locator("p.shortcuts")).to_be_visible()

    page.get_by_role("checkbox", name="Select all on this page").check()
    expect(page.locator(".selected-count")).to_have_text("2 selected")
    page.get_by_role("button", name="Approve selected").click()

    expect(page.locator(".messages")).to_contain_text("Selected records with warnings: LAY-002.")
    expect(page.get_by_role("checkbox", name="Select LAY-001")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Select LAY-002")).to_be_checked()
    expect(page.locator(".selected-count")).to_have_text("2 selected")
    warned.refresh_from_db()
    assert warned.state == RecordState.SUBMITTED
    page.context.close()
