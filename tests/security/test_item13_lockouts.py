"""Item 13: partner admins see and clear the login lockouts of their own members (audited),
the lockout page tells the truth, and behind a reverse proxy the client's address is read
from the proxy's header only when configured."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from kivaportal.workflow.models import AuditEntry
from tests.admin.admin_forms import admin_url
from tests.security.conftest import CsrfClient, user

LOCKOUTS = admin_url("axes", "accessattempt", "changelist")


def fail_logins(username, times, **extra):
    client = CsrfClient()
    response = None
    for _ in range(times):
        response = client.post_from(
            reverse("login"), {"username": username, "password": "wrong"}, **extra
        )
    return client, response


def test_lockout_page_says_who_can_unlock_and_when_it_lifts(demo, settings):
    settings.AXES_FAILURE_LIMIT = 3

    _client, response = fail_logins("rosa.reviewer", 3)

    text = response.content.decode()
    assert response.status_code == 429
    assert "partner admin of your organisation can unlock it" in text
    assert "unlocks by itself after 1:00:00" in text


def test_partner_admin_sees_and_clears_a_members_lockout_with_an_audit_entry(
    as_user, partner_a, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    fail_logins("rosa.reviewer", 3)
    admin = as_user("pablo.admin")

    listing = admin.get(LOCKOUTS)
    attempt = AccessAttempt.objects.get(username="rosa.reviewer")
    admin.admin_action(LOCKOUTS, "unlock", [attempt.pk])

    assert listing.status_code == 200
    assert "rosa.reviewer" in listing.content.decode()
    assert not AccessAttempt.objects.filter(username="rosa.reviewer").exists()
    entry = AuditEntry.objects.get(action="partner.member_unlocked")
    assert (entry.partner, entry.actor) == (partner_a, user("pablo.admin"))
    assert entry.data["username"] == "rosa.reviewer"


def test_partner_admin_of_another_partner_neither_sees_nor_clears_it(as_user, demo, settings):
    settings.AXES_FAILURE_LIMIT = 3
    fail_logins("rosa.reviewer", 3)
    attempt = AccessAttempt.objects.get(username="rosa.reviewer")
    admin = as_user("moussa.admin")

    listing = admin.get(LOCKOUTS)
    admin.admin_action(LOCKOUTS, "unlock", [attempt.pk])

    assert "rosa.reviewer" not in listing.content.decode()
    assert AccessAttempt.objects.filter(username="rosa.reviewer").exists()
    assert not AuditEntry.objects.filter(action="partner.member_unlocked").exists()


def test_behind_one_trusted_proxy_each_client_has_its_own_lockout(demo, settings):
    settings.AXES_FAILURE_LIMIT = 3
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # Off by default: a client's own X-Forwarded-For is ignored.
    fail_logins("moussa.admin", 1, HTTP_X_FORWARDED_FOR="192.0.2.1", **proxy)
    assert AccessAttempt.objects.get(username="moussa.admin").ip_address == "10.0.0.2"
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1

    fail_logins("rosa.reviewer", 3, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    other = CsrfClient()
    response = other.post_from(
        reverse("login"),
        {"username": "rosa.reviewer", "password": "kiva-demo-2026"},
        HTTP_X_FORWARDED_FOR="198.51.100.9",
        **proxy,
    )

    assert response.status_code == 302  # logged in: the lockout is the other client's
    locked = AccessAttempt.objects.filter(username="rosa.reviewer")
    assert set(locked.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_a_former_member_is_no_longer_the_partner_admins_to_see_or_unlock(
    as_user, partner_a, partner_b, settings
):
    """Removed from A (the membership kept, inactive) and now in B only: A's admin neither
    sees nor clears their lockout, on the admin's list or through the service, as the team
    page already refused."""
    from kivaportal.partners.models import Membership
    from kivaportal.review.controls import lockout_clear
    from kivaportal.workflow.errors import NotAllowed

    settings.AXES_FAILURE_LIMIT = 3
    rosa = user("rosa.reviewer")
    Membership.objects.filter(user=rosa, partner=partner_a).update(is_active=False)
    Membership.objects.create(user=rosa, partner=partner_b, role="reviewer")
    fail_logins("rosa.reviewer", 3)
    attempt = AccessAttempt.objects.get(username="rosa.reviewer")
    admin = as_user("pablo.admin")

    listing = admin.get(LOCKOUTS)
    admin.admin_action(LOCKOUTS, "unlock", [attempt.pk])

    assert "rosa.reviewer" not in listing.content.decode()
    assert AccessAttempt.objects.filter(username="rosa.reviewer").exists()
    with pytest.raises(NotAllowed):
        lockout_clear(username="rosa.reviewer", by=user("pablo.admin"))
    assert AccessAttempt.objects.filter(username="rosa.reviewer").exists()
    assert not AuditEntry.objects.filter(action="partner.member_unlocked").exists()
