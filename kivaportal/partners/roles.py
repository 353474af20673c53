"""Roles in a partner organisation and what each may do: the one table the admin, the review
pages and the APIs consult. Superusers may do everything.

- preparer: enters and edits records, submits them for review;
- reviewer: approves records or sends them back;
- partner admin: everything a preparer and a reviewer do, plus members, reference data and
  the Kiva connection. Four-eyes approval still applies to their own work.
"""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PREPARER = "preparer", _("Preparer")
    REVIEWER = "reviewer", _("Reviewer")
    PARTNER_ADMIN = "partner_admin", _("Partner admin")


class Action(StrEnum):
    VIEW = "view"
    EDIT = "edit"  # create and change records
    SUBMIT = "submit"
    APPROVE = "approve"
    EXPORT = "export"
    MANAGE = "manage"  # members, reference data, Kiva connection


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.PREPARER: frozenset({Action.VIEW, Action.EDIT, Action.SUBMIT, Action.EXPORT}),
    Role.REVIEWER: frozenset({Action.VIEW, Action.APPROVE, Action.EXPORT}),
    Role.PARTNER_ADMIN: frozenset(Action),
}


def role_allows(role: str, action: Action) -> bool:
    return action in ROLE_ACTIONS.get(role, frozenset())
