"""The outbox: what the portal has decided to send to Kiva (`Submission`, the audit of what
was sent) and every HTTP exchange of it (`Attempt`). How they guarantee exactly-once:
docs/pipeline.md.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from kivaportal.common.messages import message_text
from kivaportal.common.scoping import PartnerScopedQuerySet


class SubmissionKind(models.TextChoices):
    LOAN_DRAFT = "loan_draft", _("Loan draft")
    REPAYMENTS = "repayments", _("Repayment report chunk")
    JOURNAL = "journal", _("Journal")


class SubmissionState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    RETRYING = "retrying", _("Waiting to retry")
    SENT = "sent", _("Sent")
    REJECTED = "rejected", _("Rejected by Kiva")
    FAILED = "failed", _("Failed")
    NEEDS_ATTENTION = "needs_attention", _("Needs attention")
    CANCELLED = "cancelled", _("Cancelled")


# A worker may pick these up when their time has come.
DUE_STATES = (SubmissionState.PENDING, SubmissionState.RETRYING)


class AttemptOutcome(models.TextChoices):
    SENT = "sent", _("Kiva accepted it")
    SENT_WITH_PROBLEMS = "sent_with_problems", _("Kiva accepted it and reported problems")
    REJECTED = "rejected", _("Kiva refused the content")
    RETRYABLE = "retryable", _("Not received, or refused for a passing reason: retried")
    AMBIGUOUS = "ambiguous", _("Outcome unknown: Kiva may have it")
    FAILED = "failed", _("Failed: Kiva refused the credentials")
    NOT_SENT = "not_sent", _("Not sent: the request could not be made")
    LOOKUP = "lookup", _("Looked up with GET loans")
    LOOKUP_FAILED = "lookup_failed", _("Look-up with GET loans failed")


class ClaimResult(models.TextChoices):
    """What a worker's `submission_send` returns when it did not send."""

    NOT_CLAIMED = "not_claimed", _("Not claimed: not due, finished, or another worker's")
    LOST_CLAIM = "lost_claim", _("Claim lost: the sweeper settled it meanwhile")


class Submission(models.Model):
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    record_version = models.PositiveIntegerField(_("record version"))
    record_label = models.CharField(_("record"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=SubmissionKind.choices)
    chunk = models.PositiveIntegerField(_("chunk"), default=1)
    chunks = models.PositiveIntegerField(_("of chunks"), default=1)
    # Unique per record version and chunk: approving the same version twice cannot queue it
    # twice, whatever path the approval took.
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    endpoint = models.CharField(_("endpoint"), max_length=40)
    # Where it goes: the connection's environment and API base URL when it was approved
    # (a switch from stage to production must not make stage sends look like production ones).
    environment = models.CharField(_("Kiva environment"), max_length=12, blank=True)
    api_base_url = models.CharField(_("Kiva API base URL"), max_length=300, blank=True)
    # Sent to stage (or the sandbox) and, once the partner moved to production, left out of
    # production by a person (audited): no longer listed as "sent to stage only".
    left_out_at = models.DateTimeField(_("left out of production at"), null=True, blank=True)
    payload = models.TextField(_("payload (exact JSON sent)"))
    payload_sha256 = models.CharField(_("payload SHA-256"), max_length=64)

    state = models.CharField(
        _("state"),
        max_length=20,
        choices=SubmissionState.choices,
        default=SubmissionState.PENDING,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    enqueued_at = models.DateTimeField(_("last put on the queue"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=120, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    # Kiva's answer: the draft uuid, the repayment upload id, or the journal's confirm link.
    kiva_reference = models.CharField(_("Kiva reference"), max_length=300, blank=True)
    confirm_url = models.URLField(_("confirm link"), max_length=500, blank=True)
    problems = models.JSONField(_("problems reported by Kiva"), default=list, blank=True)
    response = models.JSONField(_("Kiva's answer"), null=True, blank=True)
    # What went wrong, or how it was settled: `error_message` the message, read in each
    # reader's language (kivaportal/common/messages.py); `error` its text in the portal's
    # default language, for search (and the whole of it in rows written before messages).
    # Written together by `message_fields("error", ...)`; shown by `error_text`.
    error = models.TextField(_("error"), blank=True)
    error_message = models.JSONField(_("error (message)"), null=True, blank=True, editable=False)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "partner"

    class Meta:
        db_table = "kiva_submission"  # moved from the kiva app with its table
        verbose_name = _("submission to Kiva")
        verbose_name_plural = _("submissions to Kiva")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["content_type", "object_id", "record_version"]),
        ]

    def __str__(self):
        chunk = f" ({self.chunk}/{self.chunks})" if self.chunks > 1 else ""
        return f"{self.get_kind_display()} {self.record_label} v{self.record_version}{chunk}"

    @property
    def error_text(self) -> str:
        """The error in the reader's language (an old row's text as it was written)."""
        return message_text(self.error_message) if self.error_message else self.error

    @property
    def sent_with_problems(self) -> bool:
        """Sent, and Kiva reported problems (per repayment line, or warnings): an outcome of
        its own, shown apart from a plain "sent"."""
        return self.state == SubmissionState.SENT and bool(self.problems)


class Attempt(models.Model):
    """One HTTP exchange with Kiva for a submission (GET loans look-ups included).

    The row is written *before* the request goes out (`started_at`) and completed after: a
    submission whose worker died with no attempt row was certainly not sent.
    """

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="attempt_rows"
    )
    number = models.PositiveIntegerField(_("attempt"))
    method = models.CharField(_("method"), max_length=8, default="POST")
    endpoint = models.CharField(_("endpoint"), max_length=200)
    url = models.CharField(_("full URL"), max_length=500, blank=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=AttemptOutcome.choices, blank=True
    )
    error_class = models.CharField(_("error class"), max_length=60, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    response_body = models.TextField(_("response (first 10 kB)"), blank=True)
    worker = models.CharField(_("worker"), max_length=120, blank=True)

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "submission__partner"

    class Meta:
        db_table = "kiva_attempt"  # moved from the kiva app with its table
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["submission", "number", "id"]

    def __str__(self):
        return f"{self.submission_id}#{self.number} {self.http_status or self.error_class}"


class ReconciliationState(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Stopped by an error: the next run resumes it")


class Reconciliation(models.Model):
    """One reading of a partner's whole loan list at Kiva (GET loans, page by page), by the
    reconciliation service (reconcile.py).

    Each page is recorded in its own transaction together with `next_offset`, so a run that
    stops (Kiva down, worker killed) is resumed from the page it reached by the next one.
    Loans Kiva listed before but not during a complete run are flagged at its end.
    """

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.CASCADE
    )
    environment = models.CharField(_("environment"), max_length=12)
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=ReconciliationState.choices,
        default=ReconciliationState.RUNNING,
    )
    started_at = models.DateTimeField(_("started"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    next_offset = models.PositiveIntegerField(_("next offset"), default=0)
    total = models.PositiveIntegerField(_("loans Kiva lists"), null=True, blank=True)
    pages = models.PositiveIntegerField(_("pages read"), default=0)
    seen = models.PositiveIntegerField(_("loans read"), default=0)
    matched = models.PositiveIntegerField(_("matched to the portal's loans"), default=0)
    changed = models.PositiveIntegerField(_("status changes"), default=0)
    unknown = models.PositiveIntegerField(_("not in the portal"), default=0)
    unreadable = models.PositiveIntegerField(_("unreadable items"), default=0)
    settled = models.PositiveIntegerField(_("needs attention settled"), default=0)
    flagged = models.PositiveIntegerField(_("no longer listed"), default=0)
    error = models.TextField(_("error"), blank=True)

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "partner"

    class Meta:
        verbose_name = _("reconciliation with Kiva")
        verbose_name_plural = _("reconciliations with Kiva")
        ordering = ["-started_at", "-id"]
        constraints = [
            # One running reading per partner: the beat and a button cannot both page.
            models.UniqueConstraint(
                fields=["partner"],
                condition=models.Q(state="running"),
                name="reconciliation_one_running_per_partner",
            )
        ]

    def __str__(self):
        return f"{self.partner_id} {self.started_at:%Y-%m-%d %H:%M} {self.state}"
