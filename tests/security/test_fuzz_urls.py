"""Every admin and portal URL pattern, fed malformed ids and query strings: nothing answers
with a server error (issue 10, item 10)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.security.conftest import user

BAD_IDS = ("abc", "1.5", "-1", "99999999999999999999999", "%00", "1%00", "☃", "0x10")
BAD_QUERIES = (
    "state=sent%00",
    "q=%00",
    "q=%ff%fe",
    "o=abc",
    "o=999",
    "p=-1",
    "p=abc",
    "created_at__year=99999",
    "created_at__year=abc",
    "created_at__month=13&created_at__year=2026",
    "created_at__day=40&created_at__month=2&created_at__year=2026",
    "date__year=0",
    "month__year=99999",
    "started_at__year=99999",
    "partner__id__exact=abc",
    "partner__id__exact=%00",
    "id__in=1,abc",
    "e=1",
    "_to_field=password",
    "_popup=1&_to_field=abc",
    "state__exact=%00",
    "error__isempty=abc",
    "last_test_ok__exact=maybe",
    "disbursal_date__gte=not-a-date",
    "all=&page=%00",
)


def _admin_models():
    return sorted(
        (model._meta.app_label, model._meta.model_name)
        for model in admin.site._registry
        if model._meta.app_label not in ("auth",)
    ) + [("auth", "user"), ("auth", "group")]


def _admin_urls():
    urls = []
    for app, name in _admin_models():
        base = f"admin:{app}_{name}"
        changelist = reverse(f"{base}_changelist")
        urls += [f"{changelist}?{query}" for query in BAD_QUERIES]
        for bad in BAD_IDS:
            urls += [
                f"{changelist}{bad}/change/",
                f"{changelist}{bad}/delete/",
                f"{changelist}{bad}/history/",
                f"{changelist}{bad}/history/{bad}/",
                f"{changelist}1/history/{bad}/",
                f"{changelist}{bad}/",
            ]
    return urls


def _portal_urls(partner_id):
    urls = []
    pages = [
        "/",
        f"/p/{partner_id}/",
        f"/p/{partner_id}/loans/",
        f"/p/{partner_id}/journals/",
        f"/p/{partner_id}/reports/",
        f"/p/{partner_id}/nonsense/",
        "/audit/",
        "/audit/export.csv",
        "/intake/",
        "/intake/columns/",
        "/intake/templates/loans.xlsx",
        "/intake/templates/loans.csv",
    ]
    queries = (
        "state=%00",
        "state=nonsense",
        "page=abc",
        "page=-1",
        "page=99999999999999999999",
        "since=2026-13-45",
        "until=%00",
        "since=99999-01-01",
        "preparer=abc",
        "preparer=%00",
        "partner=abc",
        "partner=99999999999999999999",
        "record_type=abc",
        "errors=maybe",
        "warnings=%00",
        "sort=%00",
        "o=-nonsense",
        "user=%00",
        "action=%00",
    )
    for page in pages:
        urls += [f"{page}?{query}" for query in queries]
    for bad in ("99999999999999999999", "0"):
        urls += [
            f"/p/{bad}/",
            f"/p/{partner_id}/loans/{bad}/",
            f"/p/{partner_id}/submissions/{bad}/act/",
            f"/intake/jobs/{bad}/",
            f"/intake/jobs/{bad}/progress.json",
            f"/intake/jobs/{bad}/submit/",
        ]
    urls += ["/intake/templates/nonsense.csv", "/media/../settings.py", "/media/%00"]
    return urls


def _server_errors(client, urls):
    failures = []
    for url in urls:
        response = client.get(url)
        if response.status_code >= 500:
            failures.append((url, response.status_code))
    return failures


@pytest.mark.parametrize("username", ["ana.preparer", "admin"])
def test_no_admin_url_answers_a_malformed_request_with_a_server_error(demo, client, username):
    client.raise_request_exception = False
    client.force_login(user(username))
    urls = _admin_urls()

    failures = _server_errors(client, urls)

    assert failures == [], f"{len(failures)} of {len(urls)} answered 5xx: {failures[:20]}"


@pytest.mark.parametrize("username", ["rosa.reviewer", "admin"])
def test_no_portal_url_answers_a_malformed_request_with_a_server_error(
    demo, partner_a, client, username
):
    client.raise_request_exception = False
    client.force_login(user(username))
    urls = _portal_urls(partner_a.pk)

    failures = _server_errors(client, urls)

    assert failures == [], f"{len(failures)} of {len(urls)} answered 5xx: {failures[:20]}"
