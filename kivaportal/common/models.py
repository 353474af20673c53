"""Abstract bases shared by the domain apps: who created and last changed a record, and the
partner a record belongs to (the unit of access control)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from kivaportal.common.scoping import PartnerScopedQuerySet


class Tracked(models.Model):
    """Who created a record and when, and who last changed it and when.

    Services set `created_by` / `updated_by`; the full change history is kept by
    django-simple-history on each concrete model.
    """

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last changed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        abstract = True


class PartnerOwned(Tracked):
    """A record that belongs to one partner organisation; every query is scoped by it."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT
    )

    objects = PartnerScopedQuerySet.as_manager()

    partner_path = "partner"

    class Meta:
        abstract = True


def require_same_partner(record, *fields: str) -> None:
    """Raise a ValidationError naming each foreign key of `record` (a PartnerOwned row) that
    points at another partner's row: partner-owned rows link only within one partner. The
    database enforces the same on PostgreSQL (partners/migrations, `partner_isolation`)."""
    if record.partner_id is None:
        return
    errors = {}
    for name in fields:
        related = getattr(record, name, None)
        if related is not None and related.partner_id != record.partner_id:
            errors[name] = _("%(value)s belongs to another partner than this %(model)s.") % {
                "value": related,
                "model": record._meta.verbose_name,
            }
    if errors:
        raise ValidationError(errors)
