from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kivaportal.common.scoping import PartnerScopedQuerySet


class ReviewOpening(models.Model):
    """The first time a reviewer opened a record's review page in one round of review (the
    round starts when the record is submitted: `submitted_at` is that moment). The approval of
    that round reads it to store the review time on the record (docs/architecture.md)."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    opened_at = models.DateTimeField(_("first opened at"), default=timezone.now)

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "partner"

    class Meta:
        verbose_name = _("review opening")
        verbose_name_plural = _("review openings")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "reviewer", "submitted_at"],
                name="one_opening_per_reviewer_and_round",
            )
        ]

    def __str__(self):
        return f"{self.reviewer} {self.content_type.model} {self.object_id} {self.opened_at}"
