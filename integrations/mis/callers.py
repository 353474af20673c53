"""Who is calling the intake API: an API key or an MIS client's token, each acting for one
partner, with some of Kiva's scopes, on behalf of its owner (the accountable member)."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from integrations.mis.models import Scope
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can

ALL_SCOPES = frozenset(Scope.values)


@dataclass(frozen=True)
class IntakeCaller:
    partner: object
    owner: object  # the user records are created and edited as
    scopes: frozenset
    audit_data: dict  # names the key or client in audit entries: {"api_key": prefix} ...
    label: str

    def may(self, scope: str) -> bool:
        return scope in self.scopes


def owner_refusal(*, partner_id, owner) -> str | None:
    """Why `owner` cannot be accountable for an MIS's intake in the partner, or None: they
    must be an active member whose role may create and edit records there."""
    if owner is None:
        return _("A key or client needs an owner, the member accountable for what it posts.")
    if not user_can(owner, Action.EDIT, partner_id):
        return _(
            "%(user)s cannot own it: their role in this partner does not allow creating and "
            "editing records."
        ) % {"user": owner}
    return None
