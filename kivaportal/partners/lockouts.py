"""Login lockouts (django-axes) of a partner's members: partner admins see and clear them.

A lockout is keyed by username and client address (settings.AXES_LOCKOUT_PARAMETERS); the
address comes from `client_ip` below. Clearing one is audited under every partner of the
person that the clearer manages.
"""

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from kivaportal.partners.models import Membership
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import partner_ids_where
from kivaportal.review.errors import NotAllowed
from kivaportal.review.services import audit_record


def managed_usernames(user):
    """Usernames of the members of the partners `user` manages; None means everyone."""
    partner_ids = partner_ids_where(user, Action.MANAGE)
    if partner_ids is None:
        return None
    return (
        get_user_model().objects.filter(memberships__partner_id__in=partner_ids).values("username")
    )


def lockouts_for(user):
    """The lockout records `user` may see and clear."""
    usernames = managed_usernames(user)
    attempts = AccessAttempt.objects.all()
    return attempts if usernames is None else attempts.filter(username__in=usernames)


@transaction.atomic
def lockout_clear(*, username: str, by) -> int:
    """Clear every lockout record of `username`; returns how many went."""
    partner_ids = partner_ids_where(by, Action.MANAGE)
    memberships = Membership.objects.filter(user__username=username).select_related("partner")
    if partner_ids is not None:
        memberships = memberships.filter(partner_id__in=partner_ids)
        if not memberships:
            raise NotAllowed(
                _("%(username)s is not a member of a partner you manage.") % {"username": username}
            )
    addresses = sorted(
        {
            a
            for a in AccessAttempt.objects.filter(username=username).values_list(
                "ip_address", flat=True
            )
            if a
        }
    )
    cleared = reset(username=username)
    for membership in memberships:
        audit_record(
            record=membership,
            actor=by,
            action="member.lockout_cleared",
            data={"username": username, "addresses": addresses, "cleared": cleared},
        )
    return cleared


def client_ip(request) -> str | None:
    """The client's address for lockouts (AXES_CLIENT_IP_CALLABLE).

    By default REMOTE_ADDR, the address that connected. Behind N reverse proxies that each
    append to X-Forwarded-For (PORTAL_TRUSTED_PROXY_COUNT=N), it is the address the outermost
    trusted proxy saw: the Nth from the right. Anything further left was written by the client
    and is never trusted; a request with fewer entries falls back to REMOTE_ADDR.
    """
    count = settings.PORTAL_TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")
