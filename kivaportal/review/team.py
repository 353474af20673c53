"""A partner admin running their team: invite people by email, change a member's role, remove
a member, send a password reset link, and sync the partner's reference data from Kiva now.
(Clearing a member's login lockout is `kivaportal.review.controls.lockout_clear`.)

Each service checks that `by` manages the partner (Action.MANAGE in *that* partner), touches
only that partner's memberships, never a user's staff or superuser flags, and writes an audit
entry in the same transaction as the change (docs/security.md, "Partner admins and their team").

An invited person gets an account that cannot log in (inactive, no usable password) and a
link made with Django's password-reset token: setting a password through it activates the
account (`member_invite_accept`). The token depends on the password, so the link works once.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from integrations.kiva.selectors import partner_connection
from integrations.kiva.tasks import kiva_reference_sync_connection
from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Action, Role
from kivaportal.partners.selectors import user_can
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import NotAllowed, ReviewError
from kivaportal.workflow.transitions import audit_record


def _require_manager(by, partner):
    if not user_can(by, Action.MANAGE, partner.pk):
        raise NotAllowed(
            _("Only a partner admin of %(partner)s manages its team.") % {"partner": partner}
        )


def _managed(by):
    return [
        m.partner_id
        for m in Membership.objects.filter(user=by, is_active=True)
        if user_can(by, Action.MANAGE, m.partner_id)
    ]


def _role(value) -> str:
    if value not in Role.values:
        raise ReviewError(_("Choose a role: preparer, reviewer or partner admin."))
    return value


def _not_yourself(membership, by):
    if membership.user_id == by.pk:
        raise NotAllowed(
            _("You cannot change your own membership: another partner admin of %(partner)s does.")
            % {"partner": membership.partner}
        )


def _locked_membership(membership, by) -> Membership:
    locked = (
        Membership.objects.select_for_update()
        .select_related("user", "partner")
        .get(pk=membership.pk)
    )
    _require_manager(by, locked.partner)
    return locked


def invitation_pending(user) -> bool:
    """An invited person who has not set a password through their link yet."""
    return not user.is_active and user.last_login is None and not user.has_usable_password()


def _link(request_base: str, name: str, user) -> str:
    path = reverse(
        name,
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return request_base.rstrip("/") + path


def _mail(user, template, context):
    text = render_to_string(template, {"user": user, **context}).strip()
    subject, _blank, body = text.partition("\n")
    send_mail(subject.strip(), body.strip() + "\n", settings.DEFAULT_FROM_EMAIL, [user.email])


def _after_commit(user, template, context):
    # Robust: a mail server that is down must not turn the committed change into an error
    # page; it is logged, and the team page can send the link again.
    transaction.on_commit(lambda: _mail(user, template, context), robust=True)


def _mail_member(membership, by, base_url, template, link_name=None):
    """Mail the member, once the change is committed, what their partner admin did: the
    partner, their role and username, the portal's address and, with `link_name`, a one-time
    link to set their password (the invitation's or a reset's)."""
    user = membership.user
    context = {
        "partner": membership.partner,
        "role": membership.get_role_display(),
        "by": by,
        "username": user.get_username(),
        "portal_url": base_url.rstrip("/") + reverse("review:home"),
    }
    if link_name:
        context["link"] = _link(base_url, link_name, user)
    _after_commit(user, template, context)


@transaction.atomic
def member_invite(*, partner: Partner, email: str, role: str, by, base_url: str) -> Membership:
    """Invite `email` into `partner` with `role`. A new address gets an account (username: the
    address) that cannot log in until its owner sets a password through the mailed link; an
    address with an account already gets the membership and a note. Refused: an address used by
    several accounts, or someone already active in the partner."""
    _require_manager(by, partner)
    role = _role(role)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ReviewError(_("Enter a valid email address.")) from None
    User = get_user_model()
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if len(matches) > 1:
        raise ReviewError(
            _("Several accounts use %(email)s: ask the portal's operators.") % {"email": email}
        )
    created = not matches
    if created:
        if User.objects.filter(username__iexact=email).exists():
            raise ReviewError(
                _("An account is already named %(email)s: ask the portal's operators.")
                % {"email": email}
            )
        user = User(username=email, email=email, is_active=False)
        user.set_unusable_password()
        user.save()
    else:
        user = matches[0]
    membership = Membership.objects.select_for_update().filter(user=user, partner=partner).first()
    if membership is not None and membership.is_active:
        raise ReviewError(
            _("%(user)s is already a member of %(partner)s.") % {"user": user, "partner": partner}
        )
    if membership is None:
        membership = Membership(user=user, partner=partner, created_by=by)
    membership.role = role
    membership.is_active = True
    membership.updated_by = by
    membership.save()
    pending = invitation_pending(user)
    audit_record(
        record=membership,
        actor=by,
        action=AuditAction.MEMBER_INVITED,
        data={"email": email, "role": role, "new_account": created},
    )
    if pending:
        _mail_member(membership, by, base_url, "review/email/invitation.txt", "review:welcome")
    else:
        _mail_member(membership, by, base_url, "review/email/added.txt")
    return membership


def member_add_choices(by):
    """The accounts `by` may add to a partner they manage (the admin's "Add membership"): the
    people of the partners they manage; anyone else is invited by email. Superusers: all."""
    User = get_user_model()
    if by.is_superuser:
        return User.objects.all()
    return User.objects.filter(
        pk__in=Membership.objects.filter(partner__in=_managed(by)).values("user")
    )


@transaction.atomic
def member_add(*, partner: Partner, user, role: str, by) -> Membership:
    """Put an existing account into `partner` (the admin's "Add membership"), one of
    `member_add_choices(by)`."""
    _require_manager(by, partner)
    if not member_add_choices(by).filter(pk=user.pk).exists():
        raise NotAllowed(_("Invite people from outside your partners on the team page."))
    role = _role(role)
    membership = Membership.objects.create(
        user=user, partner=partner, role=role, created_by=by, updated_by=by
    )
    audit_record(
        record=membership,
        actor=by,
        action=AuditAction.MEMBER_INVITED,
        data={"username": user.get_username(), "role": role, "new_account": False},
    )
    return membership


@transaction.atomic
def member_role_change(*, membership: Membership, role: str, by) -> Membership:
    membership = _locked_membership(membership, by)
    _not_yourself(membership, by)
    role = _role(role)
    if membership.role == role:
        return membership
    before = membership.role
    membership.role = role
    membership.updated_by = by
    membership.save(update_fields=["role", "updated_by", "updated_at"])
    audit_record(
        record=membership,
        actor=by,
        action=AuditAction.MEMBER_ROLE_CHANGED,
        data={"username": membership.user.get_username(), "from": before, "to": role},
    )
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, by, comment="") -> Membership:
    """Take a member out of the partner: the membership is kept, inactive (the history and the
    audit trail still name them); their account and other partners are untouched."""
    membership = _locked_membership(membership, by)
    _not_yourself(membership, by)
    if not membership.is_active:
        raise ReviewError(
            _("%(user)s is no longer a member of %(partner)s.")
            % {"user": membership.user, "partner": membership.partner}
        )
    membership.is_active = False
    membership.updated_by = by
    membership.save(update_fields=["is_active", "updated_by", "updated_at"])
    audit_record(
        record=membership,
        actor=by,
        action=AuditAction.MEMBER_REMOVED,
        comment=comment,
        data={"username": membership.user.get_username(), "role": membership.role},
    )
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership, by):
    """Delete a membership row (the admin's delete; the team page's "Remove" keeps it)."""
    membership = _locked_membership(membership, by)
    if not by.is_superuser:
        _not_yourself(membership, by)
    audit_record(
        record=membership,
        actor=by,
        action=AuditAction.MEMBER_REMOVED,
        data={"username": membership.user.get_username(), "role": membership.role, "deleted": 1},
    )
    membership.delete()


@transaction.atomic
def member_password_reset(*, membership: Membership, by, base_url: str) -> Membership:
    """Mail the member a link to set a new password (to their own address: the partner admin
    never sees it). For an invitation still pending, the invitation is sent again."""
    membership = _locked_membership(membership, by)
    user = membership.user
    if not membership.is_active:
        raise ReviewError(
            _("%(user)s is no longer a member of %(partner)s.")
            % {"user": user, "partner": membership.partner}
        )
    if not user.email:
        raise ReviewError(_("%(user)s has no email address.") % {"user": user})
    pending = invitation_pending(user)
    if not user.is_active and not pending:
        raise ReviewError(
            _("%(user)s's account is switched off: ask the portal's operators.") % {"user": user}
        )
    audit_record(
        record=membership,
        actor=by,
        action=AuditAction.MEMBER_INVITED if pending else AuditAction.MEMBER_PASSWORD_RESET,
        data={"username": user.get_username(), "email": user.email, "again": pending},
    )
    if pending:
        _mail_member(membership, by, base_url, "review/email/invitation.txt", "review:welcome")
    else:
        _mail_member(
            membership, by, base_url, "review/email/password_reset.txt", "password_reset_confirm"
        )
    return membership


@transaction.atomic
def member_invite_accept(*, user):
    """The invited person set their password through their link: the account opens. Audited
    under each partner they were invited into."""
    User = get_user_model()
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active or user.last_login is not None:
        # Only an account that never opened: never one the operators switched off.
        raise NotAllowed(_("This link is not an invitation: ask the portal's operators."))
    user.is_active = True
    user.save(update_fields=["is_active"])
    for membership in Membership.objects.filter(user=user, is_active=True).select_related(
        "partner"
    ):
        audit_record(
            record=membership,
            actor=user,
            action=AuditAction.MEMBER_JOINED,
            data={"username": user.get_username()},
        )
    return user


@transaction.atomic
def reference_sync_request(*, partner: Partner, by):
    """Queue a sync of the partner's reference lists from Kiva (the daily task's, for this
    partner now); its outcome shows on the connection (last synced, last report)."""
    _require_manager(by, partner)
    connection = partner_connection(partner.pk, active_only=True)
    if connection is None:
        raise ReviewError(
            _("%(partner)s has no active Kiva connection: set it up first.") % {"partner": partner}
        )
    audit_record(
        record=connection,
        actor=by,
        action=AuditAction.REFERENCE_SYNC_REQUESTED,
        data={"last_synced_at": str(connection.last_synced_at or "")},
    )
    connection_id = connection.pk
    # Robust: a broker that is down must not turn the committed request into an error page;
    # it is logged, and the daily sync (or another click) fetches the lists.
    transaction.on_commit(lambda: kiva_reference_sync_connection.delay(connection_id), robust=True)
    return connection
