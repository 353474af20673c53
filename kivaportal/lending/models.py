from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kivaportal.common.models import PagePhoto, PartnerOwned
from kivaportal.common.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from kivaportal.common.scoping import PartnerScopedQuerySet
from kivaportal.partners.models import currency_code
from kivaportal.workflow.models import CHECK_FIELDS, REVIEW_TIME_FIELDS, Reviewable


def money_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name,
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        **kwargs,
    )


class Gender(models.TextChoices):
    # Kiva's samples show lower-case "female" and "male"; its full list is not documented.
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class Borrower(PartnerOwned):
    """A client of the partner, as the MIS knows them."""

    mis_client_id = models.CharField(_("MIS client id"), max_length=64)
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    city = models.CharField(_("town or village"), max_length=120, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("borrower")
        verbose_name_plural = _("borrowers")
        ordering = ["last_name", "first_name"]
        # The admin list's order within a partner.
        indexes = [
            models.Index(fields=["partner", "last_name", "first_name"], name="borrower_by_name")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "mis_client_id"], name="borrower_unique_mis_client_id"
            )
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name} ({self.mis_client_id})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class LoanType(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    GROUP = "group", _("Group")


class Loan(Reviewable, PagePhoto):
    """A loan to be posted to Kiva as a draft: one borrower (individual) or several (group)."""

    mis_loan_id = models.CharField(_("MIS loan id"), max_length=64)
    loan_type = models.CharField(
        _("loan type"), max_length=12, choices=LoanType.choices, default=LoanType.INDIVIDUAL
    )
    group_name = models.CharField(_("group name"), max_length=200, blank=True)
    group_client_id = models.CharField(
        _("group MIS client id"),
        max_length=64,
        blank=True,
        help_text=_("Group loans only: the group's client id in the MIS."),
    )
    amount = money_field(_("amount"), validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(_("currency"), max_length=3, validators=[currency_code])
    disbursal_date = models.DateField(_("disbursal date"), null=True, blank=True)
    activity = models.ForeignKey(
        "reference.Activity",
        verbose_name=_("activity"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    theme = models.ForeignKey(
        "reference.Theme", verbose_name=_("theme"), on_delete=models.PROTECT, null=True, blank=True
    )
    description_language = models.ForeignKey(
        "reference.Locale",
        verbose_name=_("description language"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    location = models.ForeignKey(
        "reference.Location",
        verbose_name=_("location"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    description = models.TextField(_("description"), blank=True)
    loan_use = models.TextField(_("loan use"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="loans/%Y/%m/", blank=True)
    photo_kiva = models.FileField(
        _("photo as sent to Kiva"), upload_to="photos/%Y/%m/", blank=True, editable=False
    )
    client_waiver_signed = models.BooleanField(_("client waiver signed"), default=False)

    COPY_FIELDS = [*PagePhoto.COPY_FIELDS, "photo_kiva"]
    history = HistoricalRecords(excluded_fields=[*CHECK_FIELDS, *REVIEW_TIME_FIELDS, *COPY_FIELDS])

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "mis_loan_id"], name="loan_unique_mis_id")
        ]
        indexes = [
            # The review queue's order, with and without a state filter, and the admin
            # list's (newest first); each also serves counts by partner and state.
            models.Index(
                fields=["partner", "state", "state_changed_at", "created_at", "id"],
                name="loan_queue_by_state",
            ),
            models.Index(
                fields=["partner", "state_changed_at", "created_at", "id"], name="loan_queue"
            ),
            models.Index(fields=["partner", "created_at", "id"], name="loan_newest"),
            # The queue's sorts by a column (kivaportal/review/selectors.py QUEUE_SORTS), read
            # in order for the page, either way, instead of sorting every loan of the partner.
            # By MIS id: the unique constraint's index.
            models.Index(fields=["partner", "amount", "id"], name="loan_by_amount"),
            models.Index(fields=["partner", "check_errors", "id"], name="loan_by_errors"),
            models.Index(fields=["partner", "check_warnings", "id"], name="loan_by_warnings"),
            # The dashboard's time saved: this month's approvals and their review times
            # (review/selectors.py time_saved), read from the index alone.
            models.Index(fields=["partner", "approved_at", "review_seconds"], name="loan_approved"),
        ]

    def __str__(self):
        return self.mis_loan_id

    def findings(self):
        from kivaportal.lending.checks import loan_findings

        return loan_findings(self)

    @property
    def kiva_photo(self):
        """The copy scaled for Kiva when the photo was stored, or None (then the payload scales
        the original)."""
        return self.photo_kiva if self.photo_copies_current and self.photo_kiva else None

    @property
    def is_group(self) -> bool:
        return self.loan_type == LoanType.GROUP

    def clean(self):
        # A loan may only use its own partner's reference data; the same rule the checks apply.
        from kivaportal.lending.checks import reference_errors

        errors = reference_errors(self)
        if errors:
            raise ValidationError({f.field: f.message for f in errors})


class LoanBorrower(models.Model):
    """One borrower in a loan (Kiva's `entreps` item), with their share of the amount."""

    loan = models.ForeignKey(
        Loan, verbose_name=_("loan"), on_delete=models.CASCADE, related_name="loan_borrowers"
    )
    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="loan_shares"
    )
    amount = money_field(_("share of the amount"), validators=[MinValueValidator(Decimal("0"))])
    mis_loan_id = models.CharField(
        _("MIS loan id for this borrower"),
        max_length=64,
        blank=True,
        help_text=_("Leave empty to use the loan's MIS id."),
    )
    not_pictured = models.BooleanField(
        _("not pictured"), default=False, help_text=_("Group loans only.")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = PartnerScopedQuerySet.as_manager()
    history = HistoricalRecords()
    partner_path = "loan__partner"

    class Meta:
        verbose_name = _("borrower in loan")
        verbose_name_plural = _("borrowers in loan")
        ordering = ["loan", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "borrower"], name="loan_borrower_once")
        ]
        # Reconciliation finds a group borrower's loan by the borrower's own MIS loan id.
        indexes = [models.Index(fields=["mis_loan_id"], name="loanborrower_mis_loan_id")]

    def __str__(self):
        return f"{self.borrower} in {self.loan}"

    def clean(self):
        loan = getattr(self, "loan", None)
        borrower = getattr(self, "borrower", None)
        if loan is not None and borrower is not None and borrower.partner_id != loan.partner_id:
            raise ValidationError(
                {"borrower": _("This borrower belongs to another partner than the loan.")}
            )

    @property
    def effective_mis_loan_id(self) -> str:
        return self.mis_loan_id or self.loan.mis_loan_id


class ScheduleLine(models.Model):
    """One instalment of the repayment schedule: due date, principal and interest."""

    loan = models.ForeignKey(
        Loan, verbose_name=_("loan"), on_delete=models.CASCADE, related_name="schedule"
    )
    due_date = models.DateField(_("due date"))
    principal = money_field(_("principal"), validators=[MinValueValidator(Decimal("0"))])
    interest = money_field(
        _("interest"), default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )

    objects = PartnerScopedQuerySet.as_manager()
    history = HistoricalRecords()
    partner_path = "loan__partner"

    class Meta:
        verbose_name = _("schedule line")
        verbose_name_plural = _("repayment schedule")
        ordering = ["loan", "due_date", "id"]

    def __str__(self):
        return f"{self.due_date}: {self.principal} + {self.interest}"


class KivaStatus(models.TextChoices):
    """A loan's status as GET loans shows it: every status Kiva's docs list, and the three only
    Kiva's .NET sample lists (`deleted`, `issue_revising`, `issue_approving`)."""

    INACTIVE = "inactive", _("Draft in PA2 (not published)")
    INACTIVE_EXPIRED = "inactive_expired", _("Draft expired in PA2")
    REVIEWED = "reviewed", _("Reviewed by Kiva")
    ISSUE = "issue", _("Sent back with an issue")
    ISSUE_REVISING = "issue_revising", _("Issue: being revised")
    ISSUE_APPROVING = "issue_approving", _("Issue: revision awaiting approval")
    FUNDRAISING = "fundRaising", _("Fundraising")
    EXPIRED = "expired", _("Expired (not fully funded)")
    RAISED = "raised", _("Raised")
    PAYING_BACK = "payingBack", _("Paying back")
    ENDED = "ended", _("Ended")
    DEFAULTED = "defaulted", _("Defaulted")
    REFUNDED = "refunded", _("Refunded")
    DELETED = "deleted", _("Deleted in PA2")


# Kiva expects a repayment report line for every loan in these statuses (fetch_loans.md).
KIVA_REPAYING = (KivaStatus.PAYING_BACK, KivaStatus.DEFAULTED)
# A loan Kiva knows as published: journals may be posted for it.
KIVA_PUBLISHED = (
    KivaStatus.FUNDRAISING,
    KivaStatus.EXPIRED,
    KivaStatus.RAISED,
    KivaStatus.PAYING_BACK,
    KivaStatus.ENDED,
    KivaStatus.DEFAULTED,
    KivaStatus.REFUNDED,
)
# Sent back by Kiva's review: a person at the partner must act in PA2.
KIVA_ISSUE = (KivaStatus.ISSUE, KivaStatus.ISSUE_REVISING, KivaStatus.ISSUE_APPROVING)


class LoanAtKiva(models.Model):
    """What Kiva knows of a loan, as reconciliation last read it from GET loans.

    A table of its own rather than fields on Loan: reconciliation writes it in bulk for
    thousands of loans, and none of it is the loan's content (no review, no content history).
    Each status change is kept in KivaStatusChange.
    """

    loan = models.OneToOneField(
        Loan,
        verbose_name=_("loan"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="kiva",
    )
    kiva_id = models.PositiveBigIntegerField(_("Kiva loan id"), null=True, blank=True)
    draft_uuid = models.UUIDField(_("Kiva draft uuid"), null=True, blank=True)
    status = models.CharField(
        _("Kiva status"), max_length=20, choices=KivaStatus.choices, blank=True
    )
    funded_amount = money_field(_("funded at Kiva"), null=True, blank=True)
    delinquent = models.BooleanField(_("delinquent at Kiva"), null=True, blank=True)
    seen_at = models.DateTimeField(_("last seen at Kiva"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("Kiva status since"), null=True, blank=True)
    # Set when a reconciliation that read Kiva's whole list did not find a loan it had seen
    # (or a sent draft): flagged for a person, never guessed (deleted in PA2?).
    missing_since = models.DateTimeField(_("not listed by Kiva since"), null=True, blank=True)
    # The Kiva environment all of this was read from or sent to (stage, production...): what
    # stage knows of a loan is not production's; a row of another environment is replaced,
    # not matched, when the partner's connection has moved (docs/kiva.md).
    environment = models.CharField(_("Kiva environment"), max_length=12, blank=True)

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "loan__partner"

    class Meta:
        verbose_name = _("loan at Kiva")
        verbose_name_plural = _("loans at Kiva")
        indexes = [
            models.Index(fields=["kiva_id"], name="loanatkiva_kiva_id"),
            models.Index(fields=["draft_uuid"], name="loanatkiva_draft_uuid"),
            models.Index(fields=["status"], name="loanatkiva_status"),
        ]

    def __str__(self):
        return f"{self.loan_id}: {self.status or '-'} ({self.kiva_id or '-'})"

    @property
    def is_published(self) -> bool:
        return self.status in KIVA_PUBLISHED

    def known_in(self, environment: str) -> bool:
        """Whether this row is what `environment` knows of the loan: one read from or sent
        to another environment (stage's, once the partner's connection is production) is
        not (docs/kiva.md, "Stage and production"); a row or a question naming none is."""
        return not (self.environment and environment and self.environment != environment)


class KivaStatusChange(models.Model):
    """One change of a loan's Kiva status: what it was, what it became (empty: Kiva no longer
    lists the loan), when it was seen and by whom (reconciliation reading Kiva:
    `recorded_by` empty, shown as "Kiva, seen at 14:02")."""

    loan = models.ForeignKey(
        Loan, verbose_name=_("loan"), on_delete=models.CASCADE, related_name="kiva_changes"
    )
    from_status = models.CharField(_("from"), max_length=20, choices=KivaStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=KivaStatus.choices, blank=True)
    kiva_id = models.PositiveBigIntegerField(_("Kiva loan id"), null=True, blank=True)
    seen_at = models.DateTimeField(_("seen at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "loan__partner"

    class Meta:
        verbose_name = _("Kiva status change")
        verbose_name_plural = _("Kiva status changes")
        ordering = ["loan", "-seen_at", "-id"]

    def __str__(self):
        return f"{self.loan_id}: {self.from_status or '-'} -> {self.to_status or '-'}"


class LoanDataVersion(models.Model):
    """A counter per partner, raised in the transaction of every change to what its reports'
    lines show of its loans but the repayments: a loan's MIS ids, its borrowers' ids and names,
    Kiva's status of a loan (`lending.services.loan_data_changed`). A report's stored lines
    say which count they were computed at (docs/performance.md, "A report page that reads its
    lines")."""

    partner = models.OneToOneField(
        "partners.Partner",
        verbose_name=_("partner"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    version = models.PositiveBigIntegerField(_("version"), default=0)

    class Meta:
        verbose_name = _("version of the loans' data")
        verbose_name_plural = _("versions of the loans' data")

    def __str__(self):
        return f"{self.partner_id}: {self.version}"
