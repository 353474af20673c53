"""Time saved (issue 13, item 8): each approval stores its review time (from the approving
reviewer's first opening of the record's page, after its last submission, to the approval),
and the dashboard shows this month's median per loan beside PA2's 10–12 minutes per profile,
with the hours saved, in a constant number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kivaportal.lending.models import Loan
from kivaportal.review import services
from kivaportal.review.models import ReviewOpening
from kivaportal.review.review_time import review_opened
from kivaportal.review.selectors import time_saved
from kivaportal.workflow.states import RecordState as S
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db


def open_page(client, partner, loan):
    response = client.get(reverse("review:record", args=[partner.pk, "loans", loan.pk]))
    assert response.status_code == 200
    return response


def submitted_loan(make_loan, preparer):
    return services.record_submit(record=make_loan(), by=preparer)


def test_the_review_time_runs_from_the_approvers_first_opening_to_the_approval(
    client, make_loan, partner, preparer, reviewer
):
    loan = submitted_loan(make_loan, preparer)
    client.force_login(reviewer)
    open_page(client, partner, loan)
    first = ReviewOpening.objects.get()
    # Seven minutes ago, as if the reviewer had opened it then; opening it again changes nothing.
    ReviewOpening.objects.update(opened_at=first.opened_at - timedelta(minutes=7))
    open_page(client, partner, loan)
    assert ReviewOpening.objects.count() == 1

    client.post(reverse("review:act", args=[partner.pk, "loans", loan.pk]), {"action": "approve"})
    loan.refresh_from_db()
    assert loan.state == S.QUEUED
    assert loan.approved_at is not None
    assert 7 * 60 <= loan.review_seconds < 7 * 60 + 60


def test_an_opening_before_the_last_submission_does_not_count(
    client, make_loan, partner, preparer, reviewer
):
    loan = submitted_loan(make_loan, preparer)
    client.force_login(reviewer)
    open_page(client, partner, loan)
    services.record_request_changes(record=loan, by=reviewer, comment="Fix the photo.")
    loan = services.record_submit(record=loan, by=preparer)
    # Approved in bulk from the queue, without opening it in this round: no review time.
    client.post(
        reverse("review:bulk_approve", args=[partner.pk, "loans"]),
        {"ids": [loan.pk], "acknowledge_warnings": "1"},
    )
    loan.refresh_from_db()
    assert loan.state == S.QUEUED
    assert loan.approved_at is not None and loan.review_seconds is None


def test_only_someone_who_may_approve_it_starts_a_review_time(
    client, make_loan, partner, preparer, partner_admin
):
    own = services.record_submit(record=make_loan(by=partner_admin), by=partner_admin)
    client.force_login(preparer)  # may not approve
    open_page(client, partner, own)
    client.force_login(partner_admin)  # four eyes: may not approve their own
    open_page(client, partner, own)
    assert not ReviewOpening.objects.exists()


def approved(partner, seconds, at=None, **kwargs):
    at = at or timezone.now()
    return LoanFactory(
        partner=partner, state=S.QUEUED, approved_at=at, review_seconds=seconds, **kwargs
    )


def test_median_and_hours_saved_for_this_months_loans(partner, other_partner):
    for seconds in (300, 420, 600, None):
        approved(partner, seconds)
    approved(partner, 60, at=timezone.localtime().replace(day=1) - timedelta(days=2))
    approved(other_partner, 30)

    figures = time_saved(partner)

    assert (figures.approved, figures.measured, figures.median_minutes) == (4, 3, 7.0)
    assert figures.baseline_minutes == (10, 12)
    # 4 loans × (10 − 7) min = 0.2 h; 4 × (12 − 7) = 0.33 h
    assert figures.hours_saved == (0.2, 0.3)


def test_the_median_of_an_even_number_is_the_mean_of_the_middle_two(partner):
    for seconds in (300, 420, 480, 3000):
        approved(partner, seconds)
    assert time_saved(partner).median_minutes == 7.5


def test_no_time_saved_is_shown_below_zero(partner):
    approved(partner, 20 * 60)
    assert time_saved(partner).hours_saved == (0.0, 0.0)


def test_the_dashboard_shows_the_figures(client, partner, reviewer):
    for seconds in (240, 360):
        approved(partner, seconds)
    client.force_login(reviewer)
    html = client.get(reverse("review:dashboard", args=[partner.pk])).content.decode()
    assert "Time saved this month" in html
    assert "5.0 min" in html  # the median
    assert "10–12 min" in html  # PA2's baseline
    assert "Hours saved = loans approved this month" in html  # the formula, said once


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_dashboards_queries_do_not_grow_with_approved_or_returned_loans(
    client, partner, preparer, reviewer
):
    def populate(n):
        for k in range(n):
            approved(partner, 60 * (k + 1))
            LoanFactory(
                partner=partner, state=S.CHANGES_REQUESTED, created_by=preparer, updated_by=preparer
            )

    client.force_login(preparer)
    url = reverse("review:dashboard", args=[partner.pk])
    populate(3)
    count_queries(client, url)  # warms process-wide caches
    few = count_queries(client, url)
    populate(30)
    many = count_queries(client, url)
    assert many == few
    assert Loan.objects.filter(state=S.CHANGES_REQUESTED).count() == 33


def test_an_opening_given_an_earlier_time_counts_from_then_and_never_from_the_future(
    make_loan, partner, preparer, reviewer
):
    """`at` (given only by the demo, whose review times are invented): the opening is noted
    at that time, still once per round, and a time after now is taken as now."""
    loan = submitted_loan(make_loan, preparer)
    review_opened(record=loan, by=reviewer, at=timezone.now() - timedelta(minutes=4))
    review_opened(record=loan, by=reviewer, at=timezone.now() - timedelta(minutes=30))
    assert ReviewOpening.objects.count() == 1

    loan = services.record_approve(record=loan, by=reviewer)
    assert 4 * 60 <= loan.review_seconds < 4 * 60 + 60

    later = submitted_loan(make_loan, preparer)
    review_opened(record=later, by=reviewer, at=timezone.now() + timedelta(hours=1))
    assert ReviewOpening.objects.get(object_id=later.pk).opened_at <= timezone.now()
