"""A partner's connection to Kiva's Partner API: where, as whom, and the [open] points.

Kiva has moved its hosts several times and its docs disagree on some details, so everything a
partner might need to change is a field here rather than a constant in the client.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from simple_history.models import HistoricalRecords

from integrations.kiva.hosts import host_allowed, host_of
from kivaportal.common import crypto
from kivaportal.common.messages import message, message_text
from kivaportal.common.models import Tracked
from kivaportal.common.scoping import PartnerScopedQuerySet

ALL_SCOPES = ("read:loans", "create:loan_draft", "create:repayment", "create:journal_update")
DEFAULT_JOURNAL_PATH = "v3/partner/{partner_id}/journals"
# Kiva's advice: at most 200-300 repayment lines per call.
MAX_REPAYMENT_BATCH = 300


class Environment(models.TextChoices):
    SANDBOX = "sandbox", _("Local sandbox")
    STAGE = "stage", _("Kiva stage (test)")
    PRODUCTION = "production", _("Kiva production")


class JournalBodyStyle(models.TextChoices):
    """Kiva's docs wrap journals in an object; one sample posts a bare list (expecting 201)."""

    WRAPPED = "wrapped", _('{"journals": [...]} (docs)')
    BARE_LIST = "list", _("[...] (bare list, as in one sample)")


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _test_loopback(url: str) -> bool:
    """A plain-http URL tests may use: a loopback host they named (never from the env)."""
    host = urlsplit(url).hostname
    return host in LOOPBACK and host in settings.KIVA_TEST_PLAIN_HTTP_HOSTS


class KivaConnection(Tracked):
    partner = models.OneToOneField(
        "partners.Partner",
        verbose_name=_("partner"),
        on_delete=models.CASCADE,
        related_name="kiva_connection",
    )
    environment = models.CharField(
        _("environment"), max_length=12, choices=Environment.choices, default=Environment.SANDBOX
    )
    token_url = models.URLField(_("token URL"), max_length=300)
    api_base_url = models.URLField(
        _("API base URL"), max_length=300, help_text=_("Without the /v3/partner/... part.")
    )
    audience = models.CharField(_("audience"), max_length=300)
    client_id = models.CharField(_("client id"), max_length=200)
    # Fernet ciphertext; never shown, logged or copied into history (see `history` below).
    client_secret_encrypted = models.TextField(editable=False, blank=True)
    kiva_partner_id = models.CharField(
        _("Kiva partner id"),
        max_length=20,
        validators=[RegexValidator(r"^\d+$", _("Kiva partner ids are digits, e.g. 145."))],
        help_text=_("The id in the API paths; stage and production may differ."),
    )
    scopes = models.CharField(
        _("scopes"),
        max_length=300,
        default=" ".join(ALL_SCOPES),
        help_text=_("Space-separated scopes to request with each token."),
    )
    journal_path = models.CharField(
        _("journals path"),
        max_length=200,
        default=DEFAULT_JOURNAL_PATH,
        help_text=_("Relative to the API base URL; {partner_id} is replaced."),
    )
    journal_body_style = models.CharField(
        _("journals body"),
        max_length=10,
        choices=JournalBodyStyle.choices,
        default=JournalBodyStyle.WRAPPED,
    )
    image_data_uri = models.BooleanField(
        _("photo as data URI"),
        default=True,
        help_text=_(
            "Send image_encoded as data:image/...;base64,... as every known working sender "
            "does; off: bare base64."
        ),
    )
    repayment_batch_size = models.PositiveSmallIntegerField(
        _("repayment lines per call"),
        default=200,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REPAYMENT_BATCH)],
    )
    connect_timeout = models.FloatField(
        _("connect timeout (s)"), null=True, blank=True, help_text=_("Empty: the portal default.")
    )
    read_timeout = models.FloatField(
        _("read timeout (s)"), null=True, blank=True, help_text=_("Empty: the portal default.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Kiva approves a partner's stage tests before it may send to production: recorded here
    # (who, and the date Kiva approved them) by `kiva.services.connection_stage_approval_record`.
    stage_approved_on = models.DateField(
        _("Kiva approved the stage tests on"), null=True, blank=True, editable=False
    )
    stage_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("stage approval recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    last_tested_at = models.DateTimeField(_("last tested"), null=True, blank=True)
    last_test_ok = models.BooleanField(_("last test passed"), null=True, blank=True)
    last_test_report = models.TextField(_("last test report"), blank=True)
    last_synced_at = models.DateTimeField(_("reference data last synced"), null=True, blank=True)
    # As a submission's error (kivaportal/common/messages.py): the report's text in the
    # portal's default language, and the message each reader reads in theirs.
    last_sync_report = models.TextField(_("last sync report"), blank=True)
    last_sync_report_message = models.JSONField(
        _("last sync report (message)"), null=True, blank=True, editable=False
    )

    objects = PartnerScopedQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["client_secret_encrypted"])

    partner_path = "partner"

    class Meta:
        verbose_name = _("Kiva connection")
        verbose_name_plural = _("Kiva connections")
        ordering = ["partner__name"]

    def __str__(self):
        return f"{self.partner} ({self.get_environment_display()})"

    def clean(self):
        if self.environment == Environment.SANDBOX and not settings.KIVA_SANDBOX_ENABLED:
            # Where the sandbox is off (production), its plain-http URLs would only serve to
            # make the server call internal addresses.
            raise ValidationError(
                {"environment": _("The local sandbox is not enabled on this portal.")}
            )
        errors = {}
        for name in ("token_url", "api_base_url"):
            url = getattr(self, name, "") or ""
            if (
                self.environment != Environment.SANDBOX
                and not url.lower().startswith("https://")
                and not _test_loopback(url)
            ):
                # Outside the local sandbox the secret and the tokens travel only over TLS
                # (tests may name loopback hosts that serve the sandbox as "stage" or
                # "production": a setting read from code only, never from the environment).
                errors[name] = _("Use an https:// URL outside the local sandbox.")
            elif url and not host_allowed(url):
                # Only to Kiva: the token URL receives the secret, the API URL live tokens.
                errors[name] = _(
                    "%(host)s is not one of Kiva's hosts. The portal sends credentials only to "
                    "the hosts its operator allows (KIVA_ALLOWED_HOSTS)."
                ) % {"host": host_of(url) or url}
        if errors:
            raise ValidationError(errors)

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    def set_client_secret(self, secret: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(secret)

    def get_client_secret(self) -> str:
        return crypto.decrypt(self.client_secret_encrypted) if self.client_secret_encrypted else ""

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def last_sync_text(self) -> str:
        """The last sync's report in the reader's language (an old row's text as it was)."""
        if self.last_sync_report_message:
            return message_text(self.last_sync_report_message)
        return self.last_sync_report

    def production_refusal(self) -> str:
        """Why nothing may be sent through this connection now, or "": production sending
        waits until Kiva's approval of the stage tests is recorded (docs/kiva.md)."""
        return message_text(self.production_refusal_message())

    def production_refusal_message(self) -> dict | None:
        """`production_refusal` as a message to store (kivaportal/common/messages.py)."""
        if self.environment == Environment.PRODUCTION and self.stage_approved_on is None:
            return message(
                gettext_noop(
                    "Kiva has not approved %(partner)s's stage tests yet (none recorded): "
                    "nothing is sent to production until a partner admin records Kiva's "
                    "approval on the Stage and production page."
                ),
                partner=self.partner,
            )
        return None

    def resolved_journal_path(self) -> str:
        return self.journal_path.replace("{partner_id}", self.kiva_partner_id)
