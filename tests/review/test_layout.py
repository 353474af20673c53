"""What the pages carry for people on phones, keyboards and screen readers, and for people
about to do something they cannot undo."""

import re

import pytest
from django.urls import reverse

from kivaportal.workflow.states import RecordState as S

pytestmark = pytest.mark.django_db


def record_page(client, partner, loan):
    url = reverse("review:record", args=[partner.pk, "loans", loan.pk])
    return client.get(url).content.decode()


def test_withdraw_asks_for_confirmation_before_it_posts(client, make_loan, partner, preparer):
    client.force_login(preparer)
    html = record_page(client, partner, make_loan())
    withdraw = r'<form[^>]*data-confirm="([^"]+)"[^>]*>(?:(?!</form>).)*value="withdraw"'
    form = re.search(withdraw, html, re.S)
    assert form is not None
    assert "Withdraw this record?" in form.group(1)


def test_a_sent_record_shows_what_was_sent_not_what_would_go_to_kiva(
    client, make_loan, partner, reviewer
):
    client.force_login(reviewer)
    assert "What will go to Kiva" in record_page(client, partner, make_loan(state=S.DRAFT))
    assert "What will go to Kiva" not in record_page(client, partner, make_loan(state=S.SENT))


def test_pages_start_with_a_skip_link_to_the_main_content(client, partner, reviewer):
    client.force_login(reviewer)
    html = client.get(reverse("review:dashboard", args=[partner.pk])).content.decode()
    assert re.search(r'<body>\s*<a class="skip" href="#main">Skip to content</a>', html)
    assert '<main id="main"' in html


def test_every_input_of_the_admin_inlines_has_its_own_label(client, make_loan, preparer):
    loan = make_loan(instalments=2)
    client.force_login(preparer)
    html = client.get(reverse("admin:lending_loan_change", args=[loan.pk])).content.decode()
    assert 'aria-label="Due date (1)"' in html
    assert 'aria-label="Principal (2)"' in html
    assert 'aria-label="Delete (2)"' in html
    assert 'aria-label="Share of the amount (new row)"' in html
    schedule = r'<input[^>]*name="schedule-\d+-(?:due_date|principal|interest)"[^>]*>'
    inputs = re.findall(schedule, html)
    assert inputs and all("aria-label=" in tag for tag in inputs)


def test_checks_name_fields_by_their_label_not_their_code(client, make_loan, partner, reviewer):
    loan = make_loan(description="", photo="", client_waiver_signed=False)
    share = loan.loan_borrowers.first()
    share.amount = 0
    share.save()
    client.force_login(reviewer)

    page = record_page(client, partner, loan)
    html = " ".join(page[page.index('id="h-checks"') :].split("</section>")[0].split())

    assert "Description is empty; Kiva needs it" in html
    assert "Photo is empty" in html
    assert "Client waiver signed is not set." in html
    assert "Borrowers in loan 1 › Share of the amount must be greater than zero." in html
    assert "borrowers[1]" not in html and "client_waiver_signed" not in html


def test_where_a_record_was_sent_shows_as_the_environment_s_name(
    client, make_loan, partner, reviewer, django_capture_on_commit_callbacks
):
    from kivaportal.pipeline.models import Submission
    from kivaportal.review.services import record_approve, record_submit

    loan = make_loan()
    record_submit(record=loan, by=loan.created_by)
    with django_capture_on_commit_callbacks():
        record_approve(record=loan, by=reviewer)
    submission = Submission.objects.get()
    client.force_login(reviewer)

    html = record_page(client, partner, loan)

    assert submission.environment == "stage"
    assert '<span class="muted">Kiva stage (test)</span>' in html
    assert '<span class="muted">stage</span>' not in html
