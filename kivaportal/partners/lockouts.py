"""Login lockouts (django-axes) of a partner's members: which ones a partner admin sees, and
the client address a lockout is keyed by (with the username, settings.AXES_LOCKOUT_PARAMETERS).
Clearing one is audited: `kivaportal.review.controls.lockout_clear`.
"""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model

from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import partner_ids_where


def managed_usernames(user):
    """Usernames of the current members of the partners `user` manages (not those removed: a
    former member may be another partner's now); None means everyone."""
    partner_ids = partner_ids_where(user, Action.MANAGE)
    if partner_ids is None:
        return None
    return (
        get_user_model()
        .objects.filter(memberships__partner_id__in=partner_ids, memberships__is_active=True)
        .values("username")
    )


def lockouts_for(user):
    """The lockout records `user` may see and clear."""
    usernames = managed_usernames(user)
    attempts = AccessAttempt.objects.all()
    return attempts if usernames is None else attempts.filter(username__in=usernames)


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
