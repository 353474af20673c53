import re

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from kivaportal.common import messages
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
def message_text(value):
    """A stored message (kivaportal/common/messages.py) in the reader's language; plain text
    as it is."""
    return messages.message_text(value)


@register.filter
def money(amount, currency):
    """An amount shown with its currency's decimals (PEN 1,200.50; XOF 400,000)."""
    return money_text(amount, currency)


@register.filter
def grouped(count):
    """A count grouped for the reader's language (1,000; 1.000; 1 000)."""
    from django.utils.formats import number_format

    return number_format(count, use_l10n=True, force_grouping=True)


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
def environment_label(value):
    """Where a record went (`stage`), as staff read it: "Kiva stage (test)"."""
    from integrations.kiva.models import Environment

    return Environment(value).label if value in Environment.values else value


@register.filter
def kiva_severity(value):
    """The severity Kiva gave a problem it reported ("error", "warning", "info"), translated;
    another word Kiva may use shows as is."""
    from kivaportal.common.checks import Severity

    labels = {Severity.ERROR: _("Error"), Severity.WARNING: _("Warning"), "info": _("Information")}
    return labels.get(str(value or "").lower(), value or "")


# Checks name loan shares by the name Kiva's payload gives them (`borrowers[1].amount`).
_FIELD_ALIASES = {"borrowers": "loan_borrowers"}
_PATH_PART = re.compile(r"([A-Za-z_]+)(?:\[(\d+)\])?")


def _path_label(model, path):
    """A check's field path in words: `borrowers[2].amount` on a loan reads "Borrowers in
    loan 2 › Share of the amount" (checks number rows from 1). "" when the path names no field
    of the model (the finding's message says what it is about)."""
    labels = []
    for name, index in _PATH_PART.findall(path):
        try:
            field = model._meta.get_field(_FIELD_ALIASES.get(name, name))
        except (FieldDoesNotExist, AttributeError):
            return ""
        if field.auto_created and not field.concrete:  # a reverse relation: its rows
            label = field.related_model._meta.verbose_name_plural
        else:
            label = field.verbose_name
        label = str(capfirst(label))
        labels.append(f"{label} {index}" if index else label)
        model = field.related_model
    return " › ".join(labels)


@register.filter
def finding_text(finding, record):
    """A check's finding as staff read it: the field it is about by its label, then the
    message; a message that names its field (`%(field)s`) names it by its label, and a Kiva
    status (`%(status)s`, "inactive") by its label."""
    values, model = {}, type(record)
    if "status" in finding.params:
        values["status"] = kiva_status(finding.params["status"])
    if "field" in finding.params:
        label = _path_label(model, finding.params["field"])
        if label:
            values["field"] = label
        return finding.message_with(**values)
    label = _path_label(model, finding.field)
    if not label:
        return finding.message_with(**values)
    return format_html("<strong>{}</strong>: {}", label, finding.message_with(**values))


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
