"""What MIS intake keeps: per-partner API keys and MIS clients (OAuth2 client credentials, as
Kiva's API has), file import jobs, and each partner's file format.

An API key or a client secret is stored as a SHA-256 hash only; it is shown once, when it is
made. Each carries 256 bits of randomness, so a plain hash (no salt, no slow KDF) is enough:
nobody can guess a preimage, and lookups stay one indexed query on the public part.

Each key and client has an owner: the member accountable for what it posts. Records it creates
or edits carry the owner as `created_by` / `updated_by`, so under four eyes the owner cannot
approve them (docs/intake.md).
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kivaportal.common.models import PartnerOwned
from kivaportal.common.scoping import PartnerScopedQuerySet

KEY_PREFIX_BYTES = 5  # 10 hex characters, public: it names the key in lists and audits


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _owner_field(**options):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "The member accountable for what it posts: records it creates or edits are theirs, "
            "so under four eyes someone else approves them."
        ),
        **options,
    )


class Scope(models.TextChoices):
    """Kiva's four scopes. The reference lists need `read:loans` or `create:loan_draft`."""

    READ_LOANS = "read:loans", _("Read loans and reference lists (read:loans)")
    CREATE_LOAN_DRAFT = "create:loan_draft", _("Post loan drafts and borrowers (create:loan_draft)")
    CREATE_REPAYMENT = "create:repayment", _("Post repayments (create:repayment)")
    CREATE_JOURNAL_UPDATE = "create:journal_update", _("Post journals (create:journal_update)")


class IntakeCredential(models.Model):
    """What an intake API key and an MIS client share: a name, the owner accountable for what
    it posts, who made it, a secret kept as a hash only (in the subclass's `secret_hash_field`),
    revocation and last use. Made, renamed and revoked only through integrations/mis/credentials.py,
    which audits each."""

    secret_hash_field = ""

    name = models.CharField(_("name"), max_length=100, help_text=_("Which MIS or system uses it."))
    owner = _owner_field()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "partner"

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(getattr(self, self.secret_hash_field), _hash(secret))


class ApiKey(IntakeCredential):
    secret_hash_field = "key_hash"

    partner = models.ForeignKey(
        "partners.Partner",
        verbose_name=_("partner"),
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    # Empty only for keys made before keys had owners and whose maker is unknown: refused.
    owner = _owner_field(null=True)

    class Meta(IntakeCredential.Meta):
        verbose_name = _("intake API key")
        verbose_name_plural = _("intake API keys")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def generate(cls) -> tuple[str, str, str]:
        """A new (full key, prefix, hash). The full key is `kp_<prefix>_<secret>`."""
        # Hex, so the prefix never contains the "_" that separates the parts.
        prefix = secrets.token_hex(KEY_PREFIX_BYTES)
        key = f"kp_{prefix}_{secrets.token_urlsafe(32)}"
        return key, prefix, _hash(key)

    @staticmethod
    def prefix_of(key: str) -> str | None:
        parts = key.split("_", 2) if key.startswith("kp_") else []
        return parts[1] if len(parts) == 3 and parts[1] else None

    @property
    def public_id(self) -> str:
        return self.prefix


class MisClient(IntakeCredential):
    """An MIS's OAuth2 client-credentials client, as Kiva gives a partner: an id and a secret
    exchanged at `oauth/token` for short-lived bearer tokens with some of Kiva's scopes."""

    secret_hash_field = "secret_hash"

    partner = models.ForeignKey(
        "partners.Partner",
        verbose_name=_("partner"),
        on_delete=models.CASCADE,
        related_name="mis_clients",
    )
    client_id = models.CharField(_("client id"), max_length=40, unique=True, editable=False)
    secret_hash = models.CharField(_("secret hash"), max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Empty: until revoked.")
    )

    class Meta(IntakeCredential.Meta):
        verbose_name = _("MIS client (OAuth)")
        verbose_name_plural = _("MIS clients (OAuth)")

    def __str__(self):
        return f"{self.name} ({self.client_id})"

    @property
    def is_active(self) -> bool:
        return super().is_active and (self.expires_at is None or self.expires_at > timezone.now())

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """A new (client id, secret, hash of the secret)."""
        secret = secrets.token_urlsafe(32)
        return f"kpc_{secrets.token_hex(8)}", secret, _hash(secret)

    @property
    def public_id(self) -> str:
        return self.client_id


class IssuedToken(models.Model):
    """One bearer token given to an MIS client (by its `jti`), so that one token can be revoked
    without revoking the client: a token is accepted only while its row is here and not
    revoked. Rows are deleted a day after the token expired."""

    client = models.ForeignKey(
        MisClient, verbose_name=_("MIS client"), on_delete=models.CASCADE, related_name="tokens"
    )
    jti = models.CharField(_("token id (jti)"), max_length=64, unique=True, editable=False)
    scope = models.CharField(_("scopes"), max_length=200, editable=False)
    issued_at = models.DateTimeField(_("issued at"), editable=False)
    expires_at = models.DateTimeField(_("expires at"), editable=False, db_index=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "client__partner"

    class Meta:
        verbose_name = _("MIS access token")
        verbose_name_plural = _("MIS access tokens")
        ordering = ["-issued_at"]

    def __str__(self):
        return f"{self.client.client_id} {self.jti}"


class ImportKind(models.TextChoices):
    BORROWERS = "borrowers", _("Borrowers")
    LOANS = "loans", _("Loans with borrowers and schedules")
    REPAYMENTS = "repayments", _("Repayments")
    JOURNALS = "journals", _("Journals (borrower updates)")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be checked")
    CHECKING = "checking", _("Checking")
    CHECKED = "checked", _("Checked: ready to import")
    INVALID = "invalid", _("Has errors: nothing imported")
    IMPORTING = "importing", _("Importing")
    IMPORTED = "imported", _("Imported")
    FAILED = "failed", _("Failed: nothing imported")


class ImportJob(PartnerOwned):
    """One uploaded file (for loans, up to three files) from preview to commit.

    `results` holds the counts, the per-row errors and a preview of the first rows' actions;
    it is what the page shows. Progress of a running job is also kept in the cache, because the
    import writes inside one transaction that other connections cannot see into.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    file = models.FileField(_("file"), upload_to="intake/%Y/%m/")
    members_file = models.FileField(
        _("borrowers in loans file"), upload_to="intake/%Y/%m/", blank=True
    )
    schedule_file = models.FileField(_("schedule file"), upload_to="intake/%Y/%m/", blank=True)
    photos_file = models.FileField(
        _("photos (.zip)"),
        upload_to="intake/%Y/%m/",
        blank=True,
        help_text=_("Loans only: the photos the loans file's photo column names."),
    )
    original_name = models.CharField(_("file name"), max_length=255)
    encoding = models.CharField(_("encoding"), max_length=20, default="auto")
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    results = models.JSONField(_("results"), default=dict, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.original_name}"

    @property
    def is_running(self) -> bool:
        return self.status in (
            ImportStatus.PENDING,
            ImportStatus.CHECKING,
            ImportStatus.IMPORTING,
        )

    def mark(self, status, **fields):
        self.status = status
        if status in (ImportStatus.CHECKED, ImportStatus.INVALID, ImportStatus.IMPORTED):
            fields.setdefault("finished_at", timezone.now())
        for name, value in fields.items():
            setattr(self, name, value)
        self.save(update_fields=["status", "updated_at", *fields])


class DateFormat(models.TextChoices):
    ISO = "%Y-%m-%d", _("2026-03-31 (year-month-day)")
    DAY_FIRST = "%d/%m/%Y", _("31/03/2026 (day/month/year)")
    MONTH_FIRST = "%m/%d/%Y", _("03/31/2026 (month/day/year)")
    DAY_FIRST_DOTS = "%d.%m.%Y", _("31.03.2026 (day.month.year)")
    DAY_FIRST_DASHES = "%d-%m-%Y", _("31-03-2026 (day-month-year)")


class DecimalSeparator(models.TextChoices):
    POINT = ".", _("Point: 1234.50")
    COMMA = ",", _("Comma: 1234,50")


class IntakeFormat(models.Model):
    """How one partner's MIS writes files: dates, decimals, encoding. Defaults without a row."""

    partner = models.OneToOneField(
        "partners.Partner",
        verbose_name=_("partner"),
        on_delete=models.CASCADE,
        related_name="intake_format",
    )
    date_format = models.CharField(
        _("date format"), max_length=12, choices=DateFormat.choices, default=DateFormat.ISO
    )
    decimal_separator = models.CharField(
        _("decimal separator"),
        max_length=1,
        choices=DecimalSeparator.choices,
        default=DecimalSeparator.POINT,
    )
    encoding = models.CharField(
        _("file encoding"),
        max_length=20,
        default="auto",
        help_text=_("auto, utf-8, windows-1252 or latin-1."),
    )

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "partner"

    class Meta:
        verbose_name = _("intake file format")
        verbose_name_plural = _("intake file formats")

    def __str__(self):
        return str(self.partner)

    @classmethod
    def for_partner(cls, partner) -> "IntakeFormat":
        found = cls.objects.filter(partner=partner).first()
        return found or cls(partner=partner)
