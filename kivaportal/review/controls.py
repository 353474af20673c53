"""Changes to the controls around review: a partner's settings, and members' login lockouts.

Some settings weaken a control when changed: four eyes off lets one person send a record to
Kiva alone, and the amount rule changes what every repayment line means. They change only
here, with an audit entry in the same transaction, whatever the path (admin, shell, command).
Four eyes can be turned off only by a superuser who is not a member of the partner: never by
the people it guards. docs/security.md.
"""

from axes.models import AccessAttempt
from axes.utils import reset
from django.db import transaction
from django.utils.translation import gettext as _

from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import partner_ids_where, user_can
from kivaportal.repayments.line_store import partner_report_lines_enqueue
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import NotAllowed
from kivaportal.workflow.transitions import audit_record

# Settings whose change is a control decision of its own; the others are "settings changed".
CONTROL_ACTIONS = {
    "four_eyes": AuditAction.FOUR_EYES_CHANGED,
    "repayment_amount_rule": AuditAction.AMOUNT_RULE_CHANGED,
}


def four_eyes_off_refusal(*, partner: Partner, by) -> str | None:
    """Why `by` may not turn four eyes off for `partner`, or None."""
    if not by.is_superuser:
        return _("Only the portal's operators (superusers) can turn four-eyes approval off.")
    if Membership.objects.filter(user=by, partner=partner).exists():
        return _(
            "You are a member of %(partner)s: four-eyes approval guards your own work there, "
            "so another operator must turn it off."
        ) % {"partner": partner}
    return None


@transaction.atomic
def partner_update(*, partner: Partner, by, **changes) -> Partner:
    """Change `partner`'s settings (model field names and values), auditing each change."""
    locked = Partner.objects.select_for_update().get(pk=partner.pk)
    if not user_can(by, Action.MANAGE, locked.pk):
        raise NotAllowed(_("Your role in %(partner)s does not allow this.") % {"partner": locked})
    changed = {}
    for name, value in changes.items():
        before = getattr(locked, name)
        if before != value:
            changed[name] = (before, value)
    if changed.get("four_eyes", (None, True))[1] is False:
        refusal = four_eyes_off_refusal(partner=locked, by=by)
        if refusal:
            raise NotAllowed(refusal)
    if not changed:
        return locked
    for name, (_before, value) in changed.items():
        setattr(locked, name, value)
    locked.updated_by = by
    locked.full_clean()
    locked.save()
    for name, (before, value) in changed.items():
        audit_record(
            record=locked,
            actor=by,
            action=CONTROL_ACTIONS.get(name, AuditAction.PARTNER_SETTINGS_CHANGED),
            data={"field": name, "from": _plain(before), "to": _plain(value)},
        )
    if changed.keys() & {"repayment_amount_rule", "repayment_csv_format"}:
        partner_report_lines_enqueue(partner_id=locked.pk)  # what every line means
    return locked


def _plain(value):
    return value if isinstance(value, bool | int | str) or value is None else str(value)


@transaction.atomic
def lockout_clear(*, username: str, by) -> int:
    """Clear every lockout record (django-axes) of `username`; returns how many went. Audited
    under each partner of the person that `by` manages."""
    partner_ids = partner_ids_where(by, Action.MANAGE)
    memberships = Membership.objects.filter(user__username=username).select_related("partner")
    if partner_ids is not None:
        # Current members only: a former member may be another partner's now.
        memberships = memberships.filter(partner_id__in=partner_ids, is_active=True)
        if not memberships:
            raise NotAllowed(
                _("%(username)s is not a member of a partner you manage.") % {"username": username}
            )
    addresses = sorted(
        {
            address
            for address in AccessAttempt.objects.filter(username=username).values_list(
                "ip_address", flat=True
            )
            if address
        }
    )
    cleared = reset(username=username)
    for membership in memberships:
        audit_record(
            record=membership,
            actor=by,
            action=AuditAction.MEMBER_UNLOCKED,
            data={"username": username, "addresses": addresses, "cleared": cleared},
        )
    return cleared
