"""Queues for a month's volume: search by borrower or id, sort by any column, filter by
activity and location, select all, submit or approve in bulk without losing the selection,
and the same number of queries whatever the page holds."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.urls import reverse

from kivaportal.review import selectors, services
from kivaportal.workflow.states import RecordState as S
from tests.factories import BorrowerFactory, LocationFactory
from tests.review.test_pages import count_queries

pytestmark = pytest.mark.django_db


def queue_url(partner, kind="loans"):
    return reverse("review:queue", args=[partner.pk, kind])


def listed(client, partner, **params):
    return [r.mis_loan_id for r in client.get(queue_url(partner), params).context["page"]]


@pytest.fixture
def three(partner, make_loan):
    people = [
        ("Rosa", "Quispe", "C-7", "900"),
        ("Rosa", "Mamani", "C-8", "300"),
        ("Juan", "Quispe", "C-9", "600"),
    ]
    loans = []
    for i, (first, last, client_id, amount) in enumerate(people, start=1):
        person = BorrowerFactory(
            partner=partner, first_name=first, last_name=last, mis_client_id=client_id
        )
        loans.append(
            make_loan(
                mis_loan_id=f"WK-{i}", amount=Decimal(amount), borrowers=[person], instalments=1
            )
        )
    return loans


def test_search_finds_loans_by_borrower_name_and_ids(client, partner, reviewer, three):
    client.force_login(reviewer)
    assert sorted(listed(client, partner, q="quispe")) == ["WK-1", "WK-3"]
    assert listed(client, partner, q="rosa quispe") == ["WK-1"]
    assert listed(client, partner, q="C-8") == ["WK-2"]
    assert listed(client, partner, q="wk-3") == ["WK-3"]
    assert listed(client, partner, q="nadie") == []


def test_a_search_counts_its_matches_only_up_to_a_cap(
    client, partner, reviewer, three, monkeypatch
):
    """A search's matches are counted up to SEARCH_COUNTED_UP_TO and then said to be "more
    than" that, not estimated; an unsearched queue still counts exactly."""
    from kivaportal.review import views

    client.force_login(reviewer)
    monkeypatch.setattr(views, "SEARCH_COUNTED_UP_TO", 2)
    html = client.get(queue_url(partner), {"q": "wk"}).content.decode()
    assert "More than 2 records: add a word to narrow the search" in html
    html = client.get(queue_url(partner), {"q": "quispe"}).content.decode()
    assert "2 records" in html and "More than" not in html
    assert "3 records" in client.get(queue_url(partner)).content.decode()


def test_a_word_in_more_loans_than_the_cap_finds_the_same_loans(
    client, partner, reviewer, three, monkeypatch
):
    """Above SEARCH_IDS_CAP a word is tested per loan (EXISTS) instead of by its loans' ids:
    the same loans either way, alone or beside a rarer word."""
    client.force_login(reviewer)
    searches = ["quispe", "rosa quispe", "rosa c-8", "wk", "rosa wk-2", "juan", "nadie"]
    by_ids = {q: sorted(listed(client, partner, q=q)) for q in searches}
    monkeypatch.setattr(selectors, "SEARCH_IDS_CAP", 1)
    assert {q: sorted(listed(client, partner, q=q)) for q in searches} == by_ids
    assert by_ids["wk"] == ["WK-1", "WK-2", "WK-3"]
    assert by_ids["rosa c-8"] == ["WK-2"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm: PostgreSQL only")
def test_the_search_columns_have_trigram_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%gin_trgm_ops%'")
        names = {row[0] for row in cursor.fetchall()}
    assert {
        "borrower_first_name_trgm",
        "borrower_last_name_trgm",
        "borrower_client_id_trgm",
        "loan_mis_loan_id_trgm",
        "loan_group_name_trgm",
        "loan_group_client_id_trgm",
        "loanborrower_mis_id_trgm",
    } <= names


def test_any_column_sorts_both_ways(client, partner, reviewer, three):
    client.force_login(reviewer)
    assert listed(client, partner, sort="amount") == ["WK-2", "WK-3", "WK-1"]
    assert listed(client, partner, sort="-amount") == ["WK-1", "WK-3", "WK-2"]
    assert listed(client, partner, sort="-record") == ["WK-3", "WK-2", "WK-1"]
    html = client.get(queue_url(partner), {"sort": "amount"}).content.decode()
    assert 'aria-sort="ascending"><a href="?sort=-amount">' in html
    assert listed(client, partner, sort="password") == ["WK-1", "WK-2", "WK-3"]  # ignored


def test_filters_by_activity_and_location(client, partner, reviewer, three):
    elsewhere = LocationFactory(partner=partner, location="Cusco")
    three[1].location = elsewhere
    three[1].save()
    client.force_login(reviewer)
    assert listed(client, partner, location=elsewhere.pk) == ["WK-2"]
    assert listed(client, partner, activity=three[2].activity_id) == ["WK-3"]


def test_a_preparer_submits_the_selected_drafts_in_bulk(client, partner, preparer, make_loan):
    ready = make_loan(mis_loan_id="OK-1")
    broken = make_loan(mis_loan_id="BAD-1", borrowers=[])  # a loan needs a borrower
    client.force_login(preparer)

    response = client.post(
        reverse("review:bulk_submit", args=[partner.pk, "loans"]),
        {"ids": [ready.pk, broken.pk], "query": "state=draft"},
        follow=True,
    )

    ready.refresh_from_db()
    broken.refresh_from_db()
    assert (ready.state, broken.state) == (S.SUBMITTED, S.DRAFT)
    html = response.content.decode()
    assert "1 submitted for review." in html and "BAD-1:" in html
    # Back to the queue as filtered, the refused one still selected.
    assert f'value="{broken.pk}" checked' in html
    assert response.redirect_chain[-1][0].startswith(queue_url(partner) + "?state=draft")


def test_bulk_approve_without_the_box_keeps_the_selection_and_names_the_warnings(
    client, partner, reviewer, make_loan
):
    clean = make_loan(mis_loan_id="CLEAN", state=S.SUBMITTED)
    warned = make_loan(mis_loan_id="WARNED", state=S.SUBMITTED, description="")
    services.records_recheck(model=type(clean))
    client.force_login(reviewer)

    response = client.post(
        reverse("review:bulk_approve", args=[partner.pk, "loans"]),
        {"ids": [clean.pk, warned.pk], "query": "q=&sort=-amount"},
    )

    assert response.status_code == 302
    query = parse_qs(urlsplit(response.url).query)
    assert query["sort"] == ["-amount"]
    assert sorted(query["selected"]) == sorted([str(clean.pk), str(warned.pk)])
    page = client.get(response.url).content.decode()
    assert "Selected records with warnings: WARNED." in page
    assert f'value="{clean.pk}" checked' in page and f'value="{warned.pk}" checked' in page
    clean.refresh_from_db()
    assert clean.state == S.SUBMITTED


def test_the_queue_shows_its_keyboard_shortcuts_and_select_all(client, partner, reviewer):
    client.force_login(reviewer)
    html = client.get(queue_url(partner)).content.decode()
    assert "<kbd>j</kbd>/<kbd>k</kbd>" in html
    assert "data-select-all" in html


def test_searching_and_sorting_take_the_same_queries_whatever_the_page_holds(
    client, partner, reviewer, make_loan
):
    client.force_login(reviewer)
    params = "?q=rosa&sort=-amount&warnings=0"
    make_loan(state=S.SUBMITTED)
    count_queries(client, queue_url(partner) + params)
    few = count_queries(client, queue_url(partner) + params)
    for _ in range(25):
        make_loan(state=S.SUBMITTED)
    many = count_queries(client, queue_url(partner) + params)
    assert len(client.get(queue_url(partner) + params).context["page"]) == 26
    assert many == few
