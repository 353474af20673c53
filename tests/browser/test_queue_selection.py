"""The queue's selection counter says "1 selected" in the reader's plural forms, and the
keyboard-shortcut hints are not shown on a phone."""

import pytest
from playwright.sync_api import expect

from kivaportal.workflow.states import RecordState
from tests.browser.test_layout import log_in, team  # noqa: F401 - `team` is a fixture
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The page's two forms, made different here (English has one text for both): the counter
# must pick by the page language's plural rule, French's singular for 0 and 1.
FORMS = """() => {
  const count = document.querySelector('.selected-count');
  count.setAttribute('data-count-one', '{n} ONE');
  count.setAttribute('data-count-other', '{n} OTHER');
}"""


@pytest.mark.parametrize(
    ("language", "none", "one", "two"),
    [("fr", "0 ONE", "1 ONE", "2 OTHER"), ("es", "0 OTHER", "1 ONE", "2 OTHER")],
)
def test_the_counter_follows_the_languages_plural_rule(
    live_server,
    browser,
    team,  # noqa: F811 - the fixture imported above
    language,
    none,
    one,
    two,
):
    partner, admin, loan = team
    LoanFactory(
        partner=partner,
        mis_loan_id="LAY-002",
        state=RecordState.SUBMITTED,
        created_by=loan.created_by,
        updated_by=loan.created_by,
    )
    page = log_in(browser, live_server, admin.username, language, 1280, 800)
    page.goto(f"{live_server.url}/p/{partner.pk}/loans/?state=submitted")
    count = page.locator(".selected-count")
    page.evaluate(FORMS)
    box = page.locator('input[name="ids"]').first
    box.check()
    expect(count).to_have_text(one)
    box.uncheck()
    expect(count).to_have_text(none)
    page.locator("[data-select-all]").check()
    expect(count).to_have_text(two)
    page.context.close()


def test_the_counter_in_english_and_no_shortcut_hints_on_a_phone(
    live_server,
    browser,
    team,  # noqa: F811 - the fixture imported above
):
    partner, admin, loan = team
    page = log_in(browser, live_server, admin.username, "en", 1280, 800)
    page.goto(f"{live_server.url}/p/{partner.pk}/loans/?state=submitted")
    expect(page.locator("p.shortcuts")).to_be_visible()
    page.locator('input[name="ids"]').first.check()
    expect(page.locator(".selected-count")).to_have_text("1 selected")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("p.shortcuts")).to_be_hidden()
    page.goto(f"{live_server.url}/p/{partner.pk}/loans/{loan.pk}/")
    expect(page.locator("p.shortcuts")).to_have_count(1)
    expect(page.locator("p.shortcuts")).to_be_hidden()
    page.context.close()
