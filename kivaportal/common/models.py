"""Abstract bases shared by the domain apps: who created and last changed a record, the
partner a record belongs to (the unit of access control), and a photo's page-size copy."""

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


class PagePhoto(models.Model):
    """The page-size copy of a record's `photo` (kivaportal.common.photos).

    Derived, not content: kept out of the change history (the photo's change is in it).
    """

    photo_page = models.ImageField(
        _("photo for the review pages"), upload_to="photos/%Y/%m/", blank=True, editable=False
    )
    photo_copies_of = models.CharField(
        _("copies made from"), max_length=255, blank=True, editable=False
    )

    COPY_FIELDS = ["photo_page", "photo_copies_of"]

    class Meta:
        abstract = True

    @property
    def photo_copies_current(self) -> bool:
        return bool(self.photo) and self.photo_copies_of == self.photo.name

    @property
    def page_photo(self):
        """What a page shows: the scaled copy, or the original while it has none."""
        return self.photo_page if self.photo_copies_current and self.photo_page else self.photo
