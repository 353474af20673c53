"""The sandbox's state: partners with their config lists and faults, registered API clients,
and what was received (drafts, repayment uploads, journals, every request).

Nothing here is a portal record: these tables play Kiva's side.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class FaultTarget(models.TextChoices):
    API = "api", _("Partner API only")
    TOKEN = "token", _("Token endpoint only")
    ALL = "all", _("Both")


class RepaymentsAnswer(models.TextChoices):
    """The two shapes seen for the repayments answer (which Kiva sends is open)."""

    OBJECT = "object", _("An object: upload_id and problems (a production connector)")
    LIST = "list", _("A list of problems (Kiva's .NET client)")


class SandboxPartner(models.Model):
    partner_id = models.CharField(_("Kiva partner id"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    activities = models.JSONField(_("config/activities"), default=list, blank=True)
    locales = models.JSONField(_("config/locales"), default=list, blank=True)
    themes = models.JSONField(_("config/themes"), default=list, blank=True)
    locations = models.JSONField(_("config/locations"), default=list, blank=True)
    three_columns = models.BooleanField(
        _("three-column repayments"), default=False, help_text=_("client_id with each line.")
    )
    genders = models.CharField(_("accepted genders"), max_length=200, default="male female")
    config_scope = models.CharField(
        _("scope the config lists need"),
        max_length=50,
        blank=True,
        help_text=_("Empty: any valid token (Kiva's docs do not say)."),
    )
    list_drafts = models.BooleanField(
        _("drafts appear in GET loans"), default=True, help_text=_("Kiva's behaviour is open.")
    )
    repayments_answer = models.CharField(
        _("repayments answer shape"),
        max_length=10,
        choices=RepaymentsAnswer.choices,
        default=RepaymentsAnswer.OBJECT,
    )
    max_repayment_lines = models.PositiveIntegerField(default=300)
    max_page_size = models.PositiveIntegerField(default=300)
    # Invalidates every token issued before it was bumped ("revoke all tokens").
    token_epoch = models.PositiveIntegerField(default=0)

    # Fault injection. Each share is a probability 0..1, tried in the order reset, hang, 429,
    # error; `faults_remaining` (when set) counts down each injected fault, then faults stop.
    fault_target = models.CharField(
        max_length=10, choices=FaultTarget.choices, default=FaultTarget.API
    )
    latency_ms = models.PositiveIntegerField(default=0)
    error_share = models.FloatField(default=0.0)
    error_statuses = models.CharField(max_length=50, default="500 502 503")
    rate_limit_share = models.FloatField(default=0.0)
    retry_after = models.PositiveIntegerField(default=1)
    hang_share = models.FloatField(default=0.0)
    hang_seconds = models.FloatField(default=30.0)
    reset_share = models.FloatField(default=0.0)
    faults_remaining = models.IntegerField(null=True, blank=True)
    # Tokens stop working this many seconds after issue, whatever their expires_in says.
    token_valid_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["partner_id"]

    def __str__(self):
        return f"{self.partner_id} {self.name}"


class SandboxClient(models.Model):
    """Client credentials the sandbox's auth service accepts."""

    client_id = models.CharField(max_length=200, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    partner = models.ForeignKey(SandboxPartner, on_delete=models.CASCADE, related_name="clients")
    audience = models.CharField(max_length=300)
    allowed_scopes = models.CharField(
        max_length=300,
        default="read:loans create:loan_draft create:repayment create:journal_update",
    )
    token_lifetime = models.PositiveIntegerField(default=43199)

    def __str__(self):
        return self.client_id


class SandboxLoan(models.Model):
    """A loan draft as received, then the loan it becomes as it moves through Kiva's lifecycle
    (services.LIFECYCLE): publishing plays the partner publishing it in PA2."""

    partner = models.ForeignKey(SandboxPartner, on_delete=models.CASCADE, related_name="loans")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kiva_id = models.PositiveIntegerField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=30, default="inactive", db_index=True)
    internal_loan_id = models.CharField(max_length=64, db_index=True)
    internal_client_id = models.CharField(max_length=64, blank=True)
    # Every borrower's loan and client ids, for search and repayment matching.
    loan_ids = models.JSONField(default=list)
    client_ids = models.JSONField(default=list)
    name = models.CharField(max_length=300)
    location = models.CharField(max_length=300, blank=True)
    borrower_count = models.PositiveSmallIntegerField(default=1)
    currency = models.CharField(max_length=3, blank=True)
    amount = models.DecimalField(max_digits=16, decimal_places=3)
    funded_amount = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    delinquent = models.BooleanField(default=False)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.internal_loan_id} ({self.status})"


class SandboxUpload(models.Model):
    """One `POST repayments` call: one CSV upload in the month's PA2 report."""

    partner = models.ForeignKey(SandboxPartner, on_delete=models.CASCADE, related_name="uploads")
    upload_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lines = models.JSONField()
    problems = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return str(self.upload_id)


class SandboxJournal(models.Model):
    partner = models.ForeignKey(SandboxPartner, on_delete=models.CASCADE, related_name="journals")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    internal_loan_id = models.CharField(max_length=64)
    internal_client_id = models.CharField(max_length=64, blank=True)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    image_url = models.CharField(max_length=500, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.subject


class SandboxRequest(models.Model):
    """Every request the sandbox received, as received (credentials redacted): "what Kiva got"."""

    partner_id = models.CharField(max_length=20, blank=True, db_index=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    query = models.TextField(blank=True)
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    fault = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.method} {self.path} -> {self.status}"
