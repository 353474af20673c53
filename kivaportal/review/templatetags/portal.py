from django import template
from django.utils.translation import gettext as _

from kivaportal.common.money import money_text
from kivaportal.workflow import states

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
def state_label(value):
    """A record state's label in the reader's language."""
    return states.state_label(value)
