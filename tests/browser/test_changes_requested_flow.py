"""*Changes requested* in a real browser (issue 13, item 2), in English and in Spanish: a
reviewer sends a loan back with a comment; its preparer finds it under "returned to me", reads
the comment at the top of the record, fixes the loan in the admin, comes back and resubmits
it; a second reviewer approves it and it is sent to Kiva (the local sandbox, on a socket).
No page of the journey shows a raw audit or state code."""

import re

import pytest
from playwright.sync_api import expect

from kivaportal.partners.roles import Role
from kivaportal.review import services
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.states import RecordState
from tests.factories import LoanFactory, PartnerFactory, member
from tests.kiva.fixtures import sandbox_partner

pytestmark = pytest.mark.django_db(transaction=True)

COMMENT = "La foto está borrosa; el uso del préstamo no dice qué compra."
# What a raw code looks like on a page: `review.changes_requested`, `changes_requested`, …
CODES = re.compile(
    r"\b(?:review|intake|pipeline|kiva|partner)\.[a-z_]+\b|"
    + r"\b(?:"
    + "|".join(s.value for s in RecordState if "_" in s.value)
    + r")\b"
)
WORDS = {
    "en": {"request": "Request changes", "resubmit": "Resubmit for review", "state": "Changes"},
    "es": {"request": None, "resubmit": None, "state": "Cambios solicitados"},
}


def log_in(page, live_server, username, language):
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill("secret-pass-123")
    page.locator('form button[type="submit"], form input[type="submit"]').last.click()
    page.wait_for_load_state()
    if language != "en":
        # The header's language selector, as a person would switch.
        with page.expect_navigation():
            page.locator('select[name="language"]').select_option(language)
    expect(page.locator("html")).to_have_attribute("lang", language)


def act(page, action):
    """Press the button of the record's form for `action` (its text is translated)."""
    page.locator(f'form:has(input[name="action"][value="{action}"]) button[type="submit"]').click()
    page.wait_for_load_state()


def no_codes(page):
    text = page.locator("body").inner_text()
    found = CODES.findall(text)
    assert not found, f"raw codes on {page.url}: {found}"


@pytest.mark.parametrize("language", ["en", "es"])
def test_changes_requested_resubmitted_and_approved_by_another_reviewer(
    live_server, browser, kiva_sandbox, language
):
    partner = PartnerFactory(name=f"Cooperativa Vuelta {language}")
    preparer = member(partner, Role.PREPARER, username="prep", first_name="Ana")
    member(partner, Role.REVIEWER, username="rev1", first_name="Rosa")
    member(partner, Role.REVIEWER, username="rev2", first_name="Luis")
    loan = LoanFactory(
        partner=partner, mis_loan_id="RET-001", created_by=preparer, updated_by=preparer
    )
    services.record_submit(record=loan, by=preparer)
    sandbox_partner(partner, kiva_sandbox.url)
    record = f"{live_server.url}/p/{partner.pk}/loans/{loan.pk}/"

    # A reviewer sends it back with a comment.
    rosa = browser.new_context().new_page()
    log_in(rosa, live_server, "rev1", language)
    rosa.goto(record)
    rosa.locator("#comment").fill(COMMENT)
    act(rosa, "request_changes")
    loan.refresh_from_db()
    assert loan.state == RecordState.CHANGES_REQUESTED
    no_codes(rosa)

    # Its preparer finds it on the dashboard, returned to her, the comment at the top.
    ana = browser.new_context().new_page()
    log_in(ana, live_server, "prep", language)
    ana.goto(f"{live_server.url}/p/{partner.pk}/")
    returned = ana.locator("#returned-to-me")
    expect(returned).to_contain_text("RET-001")
    no_codes(ana)
    returned.get_by_role("link", name=re.compile("RET-001")).click()
    ana.wait_for_url(re.compile(rf"/loans/{loan.pk}/"))
    note = ana.locator("#changes-requested")
    expect(note).to_contain_text(COMMENT)
    expect(note).to_contain_text("Rosa")
    note_top = note.bounding_box()["y"]
    assert note_top < ana.locator("#h-actions").bounding_box()["y"]
    assert note_top < ana.locator("#h-checks").bounding_box()["y"]
    expect(ana.locator(".state").first).to_contain_text(WORDS[language]["state"])
    no_codes(ana)

    # She fixes it in the admin and comes back: still returned, the comment still there.
    ana.locator(f'a.btn[href$="/lending/loan/{loan.pk}/change/"]').click()
    ana.locator('textarea[name="loan_use"]').fill("Para comprar una cámara y semillas.")
    ana.locator('input[name="_review"]').click()
    ana.wait_for_url(record)
    loan.refresh_from_db()
    assert (loan.state, loan.loan_use) == (
        RecordState.CHANGES_REQUESTED,
        "Para comprar una cámara y semillas.",
    )
    expect(ana.locator("#changes-requested")).to_contain_text(COMMENT)
    if WORDS[language]["resubmit"]:
        expect(ana.get_by_role("button", name=WORDS[language]["resubmit"])).to_be_visible()
    act(ana, "submit")
    expect(ana.locator("#changes-requested")).to_have_count(0)
    loan.refresh_from_db()
    assert loan.state == RecordState.SUBMITTED
    no_codes(ana)

    # A second reviewer approves; Kiva (the sandbox) receives it.
    luis = browser.new_context().new_page()
    log_in(luis, live_server, "rev2", language)
    luis.goto(record)
    act(luis, "approve")
    luis.goto(record)
    loan.refresh_from_db()
    assert loan.state == RecordState.SENT
    assert loan.review_seconds is not None  # Luis opened it, then approved it
    history = luis.locator("section:has(#h-history)")
    expect(history).to_contain_text(COMMENT)
    expect(history).to_contain_text("Luis")
    no_codes(luis)
    assert AuditAction.CHANGES_REQUESTED.value not in luis.content().split("<main", 1)[1]
