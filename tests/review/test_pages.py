"""The review pages: what they show, the four-eyes rule on every path, and query counts that
do not grow with the number of records."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kivaportal.review import services
from kivaportal.workflow import transitions
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from tests.factories import (
    BorrowerFactory,
    JournalFactory,
    RepaymentFactory,
    RepaymentReportFactory,
)


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


# --- four eyes on every path ------------------------------------------------------------


def test_four_eyes_on_the_review_page(client, make_loan, partner, partner_admin):
    loan = make_loan(state=S.SUBMITTED, by=partner_admin)
    client.force_login(partner_admin)
    page = client.get(reverse("review:record", args=[partner.pk, "loans", loan.pk]))
    assert "someone else must approve it" in page.content.decode()
    response = client.post(
        reverse("review:act", args=[partner.pk, "loans", loan.pk]),
        {"action": "approve"},
        follow=True,
    )
    assert "you created" in response.content.decode()
    loan.refresh_from_db()
    assert loan.state == S.SUBMITTED


def test_four_eyes_in_the_admin_action(client, make_loan, partner_admin):
    loan = make_loan(state=S.SUBMITTED, by=partner_admin)
    client.force_login(partner_admin)
    response = client.post(
        reverse("admin:lending_loan_changelist"),
        {"action": "approve_selected", "_selected_action": [loan.pk]},
        follow=True,
    )
    assert "you created" in response.content.decode()
    loan.refresh_from_db()
    assert loan.state == S.SUBMITTED


def test_four_eyes_in_bulk_approve(client, make_loan, partner, partner_admin, preparer):
    own = make_loan(state=S.SUBMITTED, by=partner_admin)
    other = make_loan(state=S.SUBMITTED, by=preparer)
    client.force_login(partner_admin)
    response = client.post(
        reverse("review:bulk_approve", args=[partner.pk, "loans"]),
        {"ids": [own.pk, other.pk], "acknowledge_warnings": "1"},
        follow=True,
    )
    own.refresh_from_db()
    other.refresh_from_db()
    assert (own.state, other.state) == (S.SUBMITTED, S.QUEUED)
    assert "you created" in response.content.decode()


def test_bulk_approve_requires_acknowledging_warnings(client, make_loan, partner, reviewer):
    loan = make_loan(state=S.SUBMITTED)
    client.force_login(reviewer)
    client.post(reverse("review:bulk_approve", args=[partner.pk, "loans"]), {"ids": [loan.pk]})
    loan.refresh_from_db()
    assert loan.state == S.SUBMITTED


# --- what the pages show ----------------------------------------------------------------


def test_approving_moves_on_to_the_next_record_in_the_queue(client, make_loan, partner, reviewer):
    first, second = make_loan(state=S.SUBMITTED), make_loan(state=S.SUBMITTED)
    client.force_login(reviewer)
    response = client.post(
        reverse("review:act", args=[partner.pk, "loans", first.pk]), {"action": "approve"}
    )
    assert response["Location"] == reverse("review:record", args=[partner.pk, "loans", second.pk])


def test_loan_page_shows_borrowers_schedule_findings_and_timeline(
    client, make_loan, partner, preparer, reviewer
):
    loan = make_loan(description="")
    services.record_edited(record=loan, by=preparer, changed_fields=["description"])
    client.force_login(reviewer)
    html = client.get(reverse("review:record", args=[partner.pk, "loans", loan.pk])).content
    html = html.decode()
    share = loan.loan_borrowers.get()
    assert share.borrower.mis_client_id in html
    assert str(loan.schedule.first().due_date) in html
    assert "Description is empty" in html  # a warning, with the field named by its label
    assert "Edited" in html  # the audit entry on the timeline, by its label


def test_dashboard_counts_records_per_state(client, make_loan, partner, reviewer):
    for state in (S.DRAFT, S.SUBMITTED, S.SUBMITTED, S.REJECTED):
        make_loan(state=state)
    client.force_login(reviewer)
    response = client.get(reverse("review:dashboard", args=[partner.pk]))
    loans = next(s for s in response.context["summaries"] if s.slug == "loans")
    assert (loans.counts["submitted"], loans.counts["draft"], loans.total) == (2, 1, 4)
    assert [r.state for r in loans.attention] == [S.REJECTED]
    assert loans.oldest_waiting is not None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the estimate is PostgreSQL's")
def test_dashboard_estimates_each_state_only_above_the_cap(
    client, make_loan, partner, reviewer, monkeypatch
):
    monkeypatch.setattr("kivaportal.common.paging.EXACT_UP_TO", 2)
    for state in (S.SENT, S.SENT, S.SENT, S.SUBMITTED, S.SUBMITTED, S.DRAFT):
        make_loan(state=state)
    client.force_login(reviewer)

    response = client.get(reverse("review:dashboard", args=[partner.pk]))

    loans = next(s for s in response.context["summaries"] if s.slug == "loans")
    assert loans.estimated == {S.SENT}
    assert loans.counts["sent"] >= 3  # never fewer than it counted (EXACT_UP_TO + 1)
    assert (loans.counts["submitted"], loans.counts["draft"]) == (2, 1)  # at or under: exact
    assert f"about {loans.counts['sent']}" in response.content.decode()


def test_capped_counts_are_exact_where_there_is_no_estimate(make_loan, partner, monkeypatch):
    """Past the cap, SQLite has no planner estimate: the count is then exact."""
    from kivaportal.common.paging import capped_counts
    from kivaportal.lending.models import Loan

    monkeypatch.setattr("kivaportal.common.paging.EXACT_UP_TO", 1)
    for state in (S.SENT, S.SENT, S.SENT, S.DRAFT):
        make_loan(state=state)
    counts, estimated = capped_counts(
        Loan.objects.filter(partner=partner), "state", [S.SENT, S.DRAFT, S.FAILED]
    )
    if connection.vendor == "postgresql":
        assert estimated == {S.SENT} and counts[S.SENT] >= 2
    else:
        assert estimated == set() and counts[S.SENT] == 3
    assert (counts[S.DRAFT], counts[S.FAILED]) == (1, 0)


def test_queue_filters_by_state_and_warnings(client, make_loan, partner, reviewer):
    complete = make_loan(state=S.SUBMITTED)
    incomplete = make_loan(state=S.SUBMITTED, description="")
    draft = make_loan(state=S.DRAFT)
    services.records_recheck(model=type(complete))
    client.force_login(reviewer)
    url = reverse("review:queue", args=[partner.pk, "loans"])
    listed = client.get(url, {"state": "submitted", "warnings": "1"}).context["page"]
    assert [r.pk for r in listed] == [incomplete.pk]
    listed = client.get(url, {"state": "draft"}).context["page"]
    assert [r.pk for r in listed] == [draft.pk]


def test_report_page_shows_lines_totals_and_anomalies(client, partner, reviewer, make_loan):
    loan = make_loan(state=S.SENT)
    RepaymentFactory(loan=loan, date=date(2026, 2, 10), amount=Decimal("330"))
    RepaymentFactory(loan=loan, date=date(2026, 2, 10), amount=Decimal("330"))
    report = RepaymentReportFactory(partner=partner, month=date(2026, 2, 1))
    client.force_login(reviewer)
    response = client.get(reverse("review:record", args=[partner.pk, "reports", report.pk]))
    assert response.context["totals"].lines == 1
    assert response.context["totals"].period_amount == Decimal("660")
    assert "a duplicate?" in response.content.decode()


def test_preparer_opens_a_months_report(client, partner, preparer):
    client.force_login(preparer)
    url = reverse("review:report_open", args=[partner.pk])
    client.post(url, {"month": "2026-03"})
    client.post(url, {"month": "2026-03"})
    report = partner.repaymentreport_set.get()
    assert report.month == date(2026, 3, 1)
    assert AuditEntry.objects.filter(action="review.created").count() == 1


def test_another_partners_pages_are_404(client, other_partner, partner, make_loan, reviewer):
    loan = make_loan()
    client.force_login(reviewer)
    assert client.get(reverse("review:dashboard", args=[other_partner.pk])).status_code == 404
    # The record exists, but not in the partner the URL names.
    url = reverse("review:record", args=[other_partner.pk, "loans", loan.pk])
    assert client.get(url).status_code == 404


# --- query counts -------------------------------------------------------------------------


def _populate(partner, make_loan, n):
    borrowers = BorrowerFactory.create_batch(n, partner=partner)
    for i in range(n):
        loan = make_loan(state=[S.SUBMITTED, S.DRAFT, S.REJECTED][i % 3], borrowers=[borrowers[i]])
        RepaymentFactory(loan=loan, date=date(2026, 2, 1) + timedelta(days=i % 20))
        transitions.audit_record(
            record=loan, actor=None, action=AuditAction.CREATED, to_state=loan.state
        )
        JournalFactory(loan=loan, partner=partner, state=S.SUBMITTED)


@pytest.mark.parametrize("page", ["dashboard", "queue", "journals", "loan", "report", "audit"])
def test_page_queries_do_not_grow_with_the_data(
    client, partner, make_loan, reviewer, page, django_capture_on_commit_callbacks
):
    client.force_login(reviewer)
    report = RepaymentReportFactory(partner=partner, month=date(2026, 2, 1))
    urls = {
        "dashboard": lambda: reverse("review:dashboard", args=[partner.pk]),
        "queue": lambda: reverse("review:queue", args=[partner.pk, "loans"]),
        "journals": lambda: reverse("review:queue", args=[partner.pk, "journals"]),
        "loan": lambda: reverse(
            "review:record", args=[partner.pk, "loans", partner.loan_set.first().pk]
        ),
        "report": lambda: reverse("review:record", args=[partner.pk, "reports", report.pk]),
        "audit": lambda: reverse("review:audit"),
    }
    _populate(partner, make_loan, 3)
    count_queries(client, urls[page]())  # warms process-wide caches (content types)
    few = count_queries(client, urls[page]())
    _populate(partner, make_loan, 30)
    with django_capture_on_commit_callbacks(execute=True):  # a report's lines: the task
        client.get(urls[page]())
    many = count_queries(client, urls[page]())
    assert many == few


def test_report_pages_after_the_first_run_the_same_queries_at_any_size(
    client, partner, make_loan, reviewer, monkeypatch, django_capture_on_commit_callbacks
):
    # The first page reads its lines and the preview's in one query; later pages in two.
    monkeypatch.setattr("kivaportal.repayments.pages.REPORT_LINES_PER_PAGE", 2)
    client.force_login(reviewer)
    report = RepaymentReportFactory(partner=partner, month=date(2026, 2, 1))
    url = reverse("review:record", args=[partner.pk, "reports", report.pk]) + "?page=2"
    _populate(partner, make_loan, 5)
    count_queries(client, url)
    few = count_queries(client, url)
    _populate(partner, make_loan, 30)
    with django_capture_on_commit_callbacks(execute=True):  # the month changed: the task
        client.get(url)
    many = count_queries(client, url)
    assert many == few


def test_report_page_shows_stored_findings_until_checked_again(
    client, partner, reviewer, make_loan
):
    report = RepaymentReportFactory(partner=partner, month=date(2026, 2, 1))
    transitions.record_recheck(record=report)  # an empty month, as checked when it was opened
    loan = make_loan(state=S.SENT)
    RepaymentFactory(loan=loan, date=date(2026, 2, 10))
    client.force_login(reviewer)
    url = reverse("review:record", args=[partner.pk, "reports", report.pk])
    assert "No repayments are dated in this month" in client.get(url).content.decode()
    client.post(
        reverse("review:act", args=[partner.pk, "reports", report.pk]), {"action": "recheck"}
    )
    html = client.get(url).content.decode()
    assert "No repayments are dated in this month" not in html
    assert "Checked at" in html


def test_the_timeline_writes_amounts_and_dates_in_the_readers_language(
    client, make_loan, partner, reviewer
):
    # "Cuota 2027-01-20: 400.000 + 12.000" read as four hundred thousand in Spanish.
    loan = make_loan(amount=Decimal("1600.00"), currency="PEN", instalments=4)
    loan.schedule.update(principal=Decimal("400.00"), interest=Decimal("12000.00"))
    line = loan.schedule.first()
    line.save()  # a history row with the new amounts
    client.force_login(reviewer)
    url = reverse("review:record", args=[partner.pk, "loans", loan.pk])

    spanish = client.get(url, headers={"accept-language": "es"}).content.decode()
    english = client.get(url, headers={"accept-language": "en"}).content.decode()

    day = line.due_date
    spanish = re.sub(r"\s", " ", spanish)  # Spanish groups thousands with a (no-break) space
    assert f"Cuota {day:%d/%m/%Y}: 400,00 + 12 000,00" in spanish
    assert "400.000" not in spanish
    assert f"Instalment {day:%m/%d/%Y}: 400.00 + 12,000.00" in english


def test_the_message_after_an_action_is_in_the_users_language(client, make_loan, preparer):
    loan = make_loan(mis_loan_id="L-ES")
    client.force_login(preparer)
    url = reverse("review:act", args=[loan.partner_id, "loans", loan.pk])

    response = client.post(
        url, {"action": "submit"}, headers={"accept-language": "es"}, follow=True
    )

    assert "L-ES: enviado a revisión." in [str(m) for m in response.context["messages"]]
