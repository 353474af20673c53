"""Reference lists per partner, shaped as Kiva's config endpoints return them.

Kiva's lists differ per partner and change over time, so they are data, never constants.
A value that loans refer to is never deleted when Kiva drops it: it is marked retired.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kivaportal.common.scoping import PartnerScopedQuerySet
from kivaportal.partners.models import currency_code


class ReferenceValue(models.Model):
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.CASCADE
    )
    retired = models.BooleanField(
        _("retired"), default=False, help_text=_("No longer in Kiva's list for this partner.")
    )
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "partner"

    class Meta:
        abstract = True


class Activity(ReferenceValue):
    """config/activities: `activity_id`, `activity`. PA2 derives the sector from it."""

    kiva_id = models.PositiveIntegerField(_("Kiva activity id"))
    name = models.CharField(_("activity"), max_length=200)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "kiva_id"], name="activity_unique_kiva_id")
        ]

    def __str__(self):
        return self.name


class Theme(ReferenceValue):
    """config/themes: `theme_type_id`, `theme_type`."""

    kiva_id = models.PositiveIntegerField(_("Kiva theme type id"))
    name = models.CharField(_("theme"), max_length=200)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("theme")
        verbose_name_plural = _("themes")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "kiva_id"], name="theme_unique_kiva_id")
        ]

    def __str__(self):
        return self.name


class Locale(ReferenceValue):
    """config/locales: a currency with a description language (`language_id`)."""

    currency = models.CharField(_("currency"), max_length=3, validators=[currency_code])
    language_code = models.CharField(_("language code"), max_length=10)
    language_name = models.CharField(_("language"), max_length=100)
    language_id = models.PositiveIntegerField(_("Kiva language id"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("locale")
        verbose_name_plural = _("locales")
        ordering = ["currency", "language_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "currency", "language_id"], name="locale_unique"
            )
        ]

    def __str__(self):
        return f"{self.language_name} ({self.currency})"


class Location(ReferenceValue):
    """config/locations: the draft's `location` takes `full_name`, e.g. "Cusco: Peru"."""

    country = models.CharField(_("country"), max_length=100)
    location = models.CharField(_("location"), max_length=200)
    full_name = models.CharField(_("full name"), max_length=300)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["full_name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "full_name"], name="location_unique")
        ]

    def __str__(self):
        return self.full_name
