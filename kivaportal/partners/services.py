"""Writes for partner organisations' settings.

Some settings weaken a control when changed: four eyes off lets one person send a record to
Kiva alone, and the amount rule changes what every repayment line means. They change only
here, with an audit entry in the same transaction, whatever the path (admin, shell, command).
Four eyes can be turned off only by a superuser who is not a member of the partner: never by
the people it guards.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.review.errors import NotAllowed
from kivaportal.review.services import audit_record

# Settings whose change is a control decision: each has its own audit action code.
CONTROL_ACTIONS = {
    "four_eyes": "partner.four_eyes_changed",
    "repayment_amount_rule": "partner.amount_rule_changed",
    "is_active": "partner.activation_changed",
}
SETTINGS_ACTION = "partner.settings_changed"


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
            action=CONTROL_ACTIONS.get(name, SETTINGS_ACTION),
            data={"field": name, "from": _plain(before), "to": _plain(value)},
        )
    return locked


def _plain(value):
    return value if isinstance(value, bool | int | str) or value is None else str(value)
