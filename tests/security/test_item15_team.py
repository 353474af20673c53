"""Partner admins run their team (issue 13, item 7): invite, change a role, remove, send a
password reset link, clear a lockout, sync reference data, each audited; and a hostile insider
(a partner admin of B, a preparer, a partner admin reaching for more than the role model gives)
is refused on every one. Demo data: A = 9001 (pablo.admin), B = 9002 (moussa.admin)."""

import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.urls import reverse

from kivaportal.partners.models import Membership
from kivaportal.workflow.models import AuditEntry
from tests.admin.admin_forms import admin_url
from tests.security.conftest import CsrfClient, user
from tests.security.test_item13_lockouts import fail_logins

MEMBERSHIPS = admin_url("partners", "membership", "changelist")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a request and then its after-commit work (the mails), as a real commit would."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def team_url(partner):
    return reverse("review:team", args=[partner.pk])


def act_url(partner):
    return reverse("review:team_act", args=[partner.pk])


def membership(username, partner):
    return Membership.objects.get(user__username=username, partner=partner)


def membership_actions(member):
    return list(
        AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Membership), object_id=member.pk
        )
        .order_by("id")
        .values_list("action", flat=True)
    )


def link_in(message):
    return re.search(r"http://testserver(/\S+)", message.body).group(1)


def test_invite_creates_a_closed_account_whose_link_opens_it_once(as_user, partner_a, committed):
    admin = as_user("pablo.admin")

    response = committed(
        admin.post_from, team_url(partner_a), {"email": "Luz.Nueva@Example.org", "role": "reviewer"}
    )

    assert response.status_code == 302
    invited = get_user_model().objects.get(email="luz.nueva@example.org")
    assert (invited.username, invited.is_active, invited.has_usable_password()) == (
        "luz.nueva@example.org",
        False,
        False,
    )
    assert (invited.is_staff, invited.is_superuser) == (False, False)
    assert membership(invited.username, partner_a).role == "reviewer"
    entry = AuditEntry.objects.get(action="partner.member_invited")
    assert (entry.partner, entry.actor, entry.data["role"]) == (
        partner_a,
        user("pablo.admin"),
        "reviewer",
    )
    [message] = mail.outbox
    assert message.to == ["luz.nueva@example.org"]
    assert partner_a.name in message.subject
    # The invited person follows the link and sets a password: the account opens.
    person = CsrfClient()
    page = person.get(link_in(message), follow=True)
    assert page.status_code == 200 and page.context["validlink"]
    form_url = page.redirect_chain[-1][0]
    done = person.post_from(
        form_url, {"new_password1": "un-buen-secreto-2026", "new_password2": "un-buen-secreto-2026"}
    )
    assert done.status_code == 302 and done.url == reverse("login")
    invited.refresh_from_db()
    assert invited.is_active and invited.check_password("un-buen-secreto-2026")
    joined = AuditEntry.objects.get(action="partner.member_joined")
    assert (joined.partner, joined.actor) == (partner_a, invited)
    login = CsrfClient().post_from(
        reverse("login"), {"username": invited.username, "password": "un-buen-secreto-2026"}
    )
    assert login.status_code == 302
    # The link worked once.
    again = CsrfClient().get(link_in(message), follow=True)
    assert not again.context["validlink"]


def test_an_invitation_link_never_opens_an_account_the_operators_switched_off(as_user, partner_a):
    admin = as_user("pablo.admin")
    rosa = user("rosa.reviewer")
    rosa.is_active = False
    rosa.save()

    response = admin.post_from(
        team_url(partner_a),
        {"membership": membership("rosa.reviewer", partner_a).pk, "action": "password_reset"},
        url=act_url(partner_a),
    )

    assert response.status_code == 302
    assert mail.outbox == []
    assert not AuditEntry.objects.filter(partner=partner_a, action__startswith="partner.member")
    # Even a well-made welcome token for her is refused.
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.http import urlsafe_base64_encode

    url = reverse(
        "review:welcome",
        args=[
            urlsafe_base64_encode(str(rosa.pk).encode()),
            default_token_generator.make_token(rosa),
        ],
    )
    page = CsrfClient().get(url, follow=True)
    assert not page.context["validlink"]
    rosa.refresh_from_db()
    assert not rosa.is_active


def test_inviting_someone_with_an_account_adds_them_and_says_so(as_user, partner_a, committed):
    admin = as_user("pablo.admin")

    committed(
        admin.post_from,
        team_url(partner_a),
        {"email": "awa.reviewer@example.org", "role": "preparer"},
    )

    assert membership("awa.reviewer", partner_a).role == "preparer"
    assert user("awa.reviewer").has_usable_password()  # untouched
    [message] = mail.outbox
    assert "http://testserver/welcome/" not in message.body


def test_invite_refusals_name_the_field(as_user, partner_a, committed):
    admin = as_user("pablo.admin")

    bad = committed(
        admin.post_from, team_url(partner_a), {"email": "not-an-address", "role": "reviewer"}
    )
    member = committed(
        admin.post_from,
        team_url(partner_a),
        {"email": "rosa.reviewer@example.org", "role": "reviewer"},
    )
    superuser = committed(
        admin.post_from, team_url(partner_a), {"email": "new@example.org", "role": "superuser"}
    )

    assert bad.status_code == member.status_code == superuser.status_code == 400
    assert "Enter a valid email address" in bad.content.decode()
    assert "already a member" in member.content.decode()
    assert "Select a valid choice" in superuser.content.decode()
    assert not get_user_model().objects.filter(email="new@example.org").exists()
    assert mail.outbox == []


def test_change_role_remove_and_password_reset_are_audited(as_user, partner_a, committed):
    admin = as_user("pablo.admin")
    rosa = membership("rosa.reviewer", partner_a)

    admin.post_from(
        team_url(partner_a),
        {"membership": rosa.pk, "action": "role", "role": "partner_admin"},
        url=act_url(partner_a),
    )
    committed(
        admin.post_from,
        team_url(partner_a),
        {"membership": rosa.pk, "action": "password_reset"},
        url=act_url(partner_a),
    )
    reset_link = link_in(mail.outbox[0])
    admin.post_from(
        team_url(partner_a), {"membership": rosa.pk, "action": "remove"}, url=act_url(partner_a)
    )

    rosa.refresh_from_db()
    assert (rosa.role, rosa.is_active) == ("partner_admin", False)
    actions = membership_actions(rosa)
    assert actions == [
        "partner.member_role_changed",
        "partner.member_password_reset",
        "partner.member_removed",
    ]
    assert mail.outbox[0].to == ["rosa.reviewer@example.org"]
    assert reset_link.startswith("/accounts/reset/")
    # Removed: she no longer sees the partner.
    rosa_client = as_user("rosa.reviewer")
    assert rosa_client.get(reverse("review:dashboard", args=[partner_a.pk])).status_code == 404


def test_team_page_clears_a_lockout_with_an_audit_entry(as_user, partner_a, settings):
    settings.AXES_FAILURE_LIMIT = 3
    fail_logins("rosa.reviewer", 3)
    admin = as_user("pablo.admin")

    page = admin.get(team_url(partner_a))
    admin.post_from(
        team_url(partner_a),
        {"membership": membership("rosa.reviewer", partner_a).pk, "action": "unlock"},
        url=act_url(partner_a),
    )

    assert "Locked out" in page.content.decode()
    assert not AccessAttempt.objects.filter(username="rosa.reviewer").exists()
    assert AuditEntry.objects.get(action="partner.member_unlocked").partner == partner_a


def test_a_partner_admin_cannot_change_their_own_membership(as_user, partner_a):
    admin = as_user("pablo.admin")
    own = membership("pablo.admin", partner_a)

    for data in ({"action": "role", "role": "preparer"}, {"action": "remove"}):
        response = admin.post_from(
            team_url(partner_a), {"membership": own.pk, **data}, url=act_url(partner_a)
        )
        assert response.status_code == 302
    page = admin.get(team_url(partner_a))

    own.refresh_from_db()
    assert (own.role, own.is_active) == ("partner_admin", True)
    assert "another partner admin" in page.content.decode()


def test_no_post_makes_anyone_staff_or_superuser(as_user, partner_a):
    admin = as_user("pablo.admin")
    rosa = membership("rosa.reviewer", partner_a)

    admin.post_from(
        team_url(partner_a),
        {"membership": rosa.pk, "action": "role", "role": "superuser", "is_superuser": "on"},
        url=act_url(partner_a),
    )
    admin.post_from(
        team_url(partner_a),
        {
            "email": "sneaky@example.org",
            "role": "partner_admin",
            "is_staff": "on",
            "is_superuser": "1",
        },
    )

    rosa.refresh_from_db()
    assert rosa.role == "reviewer"
    flags = get_user_model().objects.filter(is_superuser=True).values_list("username", flat=True)
    assert list(flags) == ["admin"]
    assert not get_user_model().objects.filter(is_staff=True).exclude(username="admin").exists()


@pytest.mark.parametrize(
    "data",
    [
        {"action": "role", "role": "preparer"},
        {"action": "remove"},
        {"action": "password_reset"},
        {"action": "unlock"},
    ],
)
def test_partner_admin_of_b_cannot_touch_a_members(as_user, partner_a, partner_b, data, committed):
    moussa = as_user("moussa.admin")
    rosa = membership("rosa.reviewer", partner_a)

    # A's page is a 404 to him, and A's membership posted to B's page (forged id) too.
    on_a = committed(
        moussa.post_from,
        team_url(partner_b),
        {"membership": rosa.pk, **data},
        url=act_url(partner_a),
    )
    on_b = committed(
        moussa.post_from,
        team_url(partner_b),
        {"membership": rosa.pk, **data},
        url=act_url(partner_b),
    )

    assert (on_a.status_code, on_b.status_code) == (404, 404)
    rosa.refresh_from_db()
    assert (rosa.role, rosa.is_active) == ("reviewer", True)
    assert mail.outbox == []
    assert not AuditEntry.objects.filter(partner=partner_a, action__startswith="partner.member")


def test_partner_admin_of_b_cannot_invite_into_a(as_user, partner_a, partner_b):
    moussa = as_user("moussa.admin")

    page = moussa.get(team_url(partner_a))
    direct = moussa.post_from(
        team_url(partner_b), {"email": "x@example.org", "role": "reviewer"}, url=team_url(partner_a)
    )
    forged = moussa.post_from(
        team_url(partner_b), {"email": "y@example.org", "role": "reviewer", "partner": partner_a.pk}
    )
    sync = moussa.post_from(
        team_url(partner_b), {}, url=reverse("review:reference_sync", args=[partner_a.pk])
    )

    assert (page.status_code, direct.status_code, sync.status_code) == (404, 404, 404)
    assert forged.status_code == 302
    assert not Membership.objects.filter(
        partner=partner_a, user__email__in=["x@example.org", "y@example.org"]
    )
    assert membership("y@example.org", partner_b).role == "reviewer"  # his own partner only


def test_a_preparer_can_do_none_of_it(as_user, partner_a):
    ana = as_user("ana.preparer")
    rosa = membership("rosa.reviewer", partner_a)
    # Posts carry a valid CSRF token (from a page she may open): the refusal is the role's.
    home = reverse("review:dashboard", args=[partner_a.pk])

    responses = [
        ana.get(team_url(partner_a)),
        ana.post_from(
            home, {"email": "z@example.org", "role": "partner_admin"}, url=team_url(partner_a)
        ),
        *(
            ana.post_from(
                home,
                {"membership": rosa.pk, "action": action, "role": "preparer"},
                url=act_url(partner_a),
            )
            for action in ("role", "remove", "password_reset", "unlock")
        ),
        ana.post_from(home, {}, url=reverse("review:reference_sync", args=[partner_a.pk])),
    ]
    admin_list = ana.get(MEMBERSHIPS)  # members may read who is in their partners
    ana.admin_action(MEMBERSHIPS, "remove_members", [rosa.pk])
    change = ana.post_from(
        home,
        {"role": "partner_admin"},
        url=admin_url("partners", "membership", "change", rosa.pk),
    )

    assert [r.status_code for r in responses] == [404] * 7
    assert "remove_members" not in admin_list.content.decode()
    assert change.status_code == 403
    rosa.refresh_from_db()
    assert (rosa.role, rosa.is_active) == ("reviewer", True)
    assert not get_user_model().objects.filter(email="z@example.org").exists()
    assert not AuditEntry.objects.filter(action__startswith="partner.member")
    assert team_url(partner_a) not in ana.get(home).content.decode()
    # The partner admin does see the link.
    assert team_url(partner_a) in as_user("pablo.admin").get(home).content.decode()


def test_the_admin_path_is_audited_too(as_user, partner_a, committed):
    admin = as_user("pablo.admin")
    rosa = membership("rosa.reviewer", partner_a)

    saved = admin.admin_save(
        admin_url("partners", "membership", "change", rosa.pk), role="preparer"
    )
    committed(admin.admin_action, MEMBERSHIPS, "send_password_reset", [rosa.pk])
    admin.admin_action(MEMBERSHIPS, "remove_members", [rosa.pk])

    assert saved.status_code == 302
    rosa.refresh_from_db()
    assert (rosa.role, rosa.is_active) == ("preparer", False)
    assert membership_actions(rosa) == [
        "partner.member_role_changed",
        "partner.member_password_reset",
        "partner.member_removed",
    ]
    assert mail.outbox[0].to == ["rosa.reviewer@example.org"]


def test_partner_admin_of_b_sees_no_membership_of_a_in_the_admin(as_user, partner_a):
    moussa = as_user("moussa.admin")
    rosa = membership("rosa.reviewer", partner_a)

    change = moussa.get(admin_url("partners", "membership", "change", rosa.pk))
    moussa.admin_action(MEMBERSHIPS, "remove_members", [rosa.pk])

    assert change.status_code in (302, 404)
    rosa.refresh_from_db()
    assert rosa.is_active


def test_the_admins_add_form_offers_only_people_the_service_accepts(as_user, partner_a, partner_b):
    """Pablo manages A and is only a preparer in B: the form's people are A's (whom he may add
    to A), not B's; adding one of B's anyway is refused and nothing is written."""
    from kivaportal.review.team import member_add
    from kivaportal.workflow.errors import NotAllowed

    Membership.objects.create(user=user("pablo.admin"), partner=partner_b, role="preparer")
    admin = as_user("pablo.admin")

    page = admin.get(admin_url("partners", "membership", "add")).content.decode()

    offered = set(
        re.findall(r'<option value="(\d+)"', page.split('name="user"')[1].split("</select>")[0])
    )
    assert str(user("rosa.reviewer").pk) in offered
    assert str(user("moussa.admin").pk) not in offered
    assert 'name="is_active"' not in page  # a new membership is active: no box to untick
    with pytest.raises(NotAllowed):
        member_add(
            partner=partner_a, user=user("moussa.admin"), role="reviewer", by=user("pablo.admin")
        )
    assert not Membership.objects.filter(user=user("moussa.admin"), partner=partner_a).exists()
