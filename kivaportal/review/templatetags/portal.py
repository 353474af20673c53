from django import template
from django.utils.translation import gettext as _

from kivaportal.common.money import money_text
from kivaportal.partners.models import Partner
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.workflow import audit, states

register = template.Library()


@register.filter
def person(user, nobody=None):
    """A user's name for staff to read; records without one came from the MIS or the portal."""
    if user is None:
        return nobody or _("MIS")
    return user.get_full_name() or user.username


@register.filter
def money(amount, currency):
    """An amount shown with its currency's decimals (PEN 1,200.50; XOF 400,000)."""
    return money_text(amount, currency)


@register.filter
def money_input(amount, currency):
    """An amount for a form field: its currency's decimals, a dot, no grouping (12.50)."""
    from kivaportal.common.money import quantize

    return "" if amount is None else str(quantize(amount, currency))


@register.filter
def state_label(value):
    """A record state's label in the reader's language."""
    return states.state_label(value)


@register.filter
def action_label(value):
    """An audit action's label in the reader's language."""
    return audit.action_label(value)


@register.filter
def kiva_status(value):
    """A Kiva loan status (`payingBack`) as staff read it; one Kiva added later shows as is."""
    from kivaportal.lending.models import KivaStatus

    return KivaStatus(value).label if value in KivaStatus.values else value


@register.filter
def kiva_severity(value):
    """The severity Kiva gave a problem (`error`, `warning`, `info`) as staff read it; one
    Kiva added later shows as Kiva wrote it."""
    labels = {"error": _("error"), "warning": _("warning"), "info": _("information")}
    return labels.get(str(value or "").lower(), value or "")


@register.filter
def kiva_loan_url(at_kiva, partner):
    """The loan's page on kiva.org, for a loan Kiva has published through the partner's
    production connection; "" otherwise (stage and sandbox ids are not on kiva.org)."""
    from django.conf import settings

    from integrations.kiva.models import Environment

    connection = getattr(partner, "kiva_connection", None)
    if not (at_kiva and at_kiva.kiva_id and at_kiva.is_published and connection):
        return ""
    if connection.environment != Environment.PRODUCTION:
        return ""
    return settings.KIVA_LOAN_URL.format(kiva_id=at_kiva.kiva_id)


@register.filter
def manages(user, partner):
    """Whether `user` is a partner admin of `partner` (or a superuser): the team page's link."""
    return isinstance(partner, Partner) and user_can(user, Action.MANAGE, partner.pk)
