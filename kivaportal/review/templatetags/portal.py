from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def person(user, nobody=None):
    """A user's name for staff to read; records without one came from the MIS or the portal."""
    if user is None:
        return nobody or _("MIS")
    return user.get_full_name() or user.username
