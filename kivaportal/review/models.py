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


class BulkApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to start")
    RUNNING = "running", _("Approving")
    DONE = "done", _("Done")
    FAILED = "failed", _("Stopped by an error")


class BulkApproval(models.Model):
    """A big bulk approval (the admin's action on more records than
    `bulk_jobs.INLINE_MAX`), run as a job so its page shows progress
    (docs/pipeline.md, section 1). It runs as the user who asked, in batches: each batch's
    approvals, their rows here and the job's counts commit together, so its rows list exactly
    what was approved or refused. Only that user sees it."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    record_ids = models.JSONField(_("selected records"), default=list)
    # The language of the request: refusals are written in it.
    language = models.CharField(_("language"), max_length=10)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=BulkApprovalStatus.choices,
        default=BulkApprovalStatus.PENDING,
    )
    total = models.PositiveIntegerField(_("records"), default=0)
    done = models.PositiveIntegerField(_("records done"), default=0)
    approved = models.PositiveIntegerField(_("approved"), default=0)
    refused = models.PositiveIntegerField(_("refused"), default=0)
    failure = models.TextField(_("failure"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bulk approval")
        verbose_name_plural = _("bulk approvals")

    def __str__(self):
        return f"{self.content_type.model} × {self.total} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in (BulkApprovalStatus.PENDING, BulkApprovalStatus.RUNNING)


class BulkApprovalOutcome(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class BulkApprovalRow(models.Model):
    """What a bulk approval job did with one selected record."""

    job = models.ForeignKey(BulkApproval, on_delete=models.CASCADE, related_name="rows")
    object_id = models.PositiveBigIntegerField()
    # None: the record was not found among the user's partners' records when the job ran.
    partner_id = models.PositiveBigIntegerField(null=True, blank=True)
    label = models.CharField(_("record"), max_length=255, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=BulkApprovalOutcome.choices)
    # A refusal's reason, written in the job's language by the service that refused.
    reason = models.TextField(_("reason"), blank=True)
    # An approved record's warnings (findings as stored by its checks: shown in the reader's
    # language), and their count.
    warnings = models.PositiveIntegerField(_("warnings"), default=0)
    findings = models.JSONField(_("warnings found"), default=list, blank=True)

    class Meta:
        verbose_name = _("bulk approval row")
        verbose_name_plural = _("bulk approval rows")
        indexes = [models.Index(fields=["job", "outcome", "warnings"], name="bulk_row_order")]

    def __str__(self):
        return f"{self.label}: {self.outcome}"
