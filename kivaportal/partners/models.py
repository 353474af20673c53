from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kivaportal.common.models import Tracked
from kivaportal.common.scoping import PartnerScopedQuerySet
from kivaportal.partners.roles import Role

currency_code = RegexValidator(r"^[A-Z]{3}$", _("Use the three-letter ISO 4217 code, e.g. USD."))
country_code = RegexValidator(r"^[A-Z]{2}$", _("Use the two-letter ISO 3166 code, e.g. PE."))


class RepaymentCsvFormat(models.TextChoices):
    """PA2's per-partner repayment CSV format: whether a client id goes with each loan id."""

    TWO_COLUMNS = "two_columns", _("Two columns (loan id, amount)")
    THREE_COLUMNS = "three_columns", _("Three columns (loan id, client id, amount)")


class RepaymentAmountRule(models.TextChoices):
    """What the `amount` of a repayment line means for this partner (Kiva's docs disagree)."""

    PERIOD_AMOUNT = "period_amount", _("Amount repaid in the period")
    CUMULATIVE_PRINCIPAL = "cumulative_principal", _("Cumulative principal repaid")


class Partner(Tracked):
    """A Kiva field partner organisation (a microfinance institution)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    kiva_partner_id = models.CharField(
        _("Kiva partner id"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^\d+$", _("Kiva partner ids are digits, e.g. 145."))],
        help_text=_("As Kiva issues it, e.g. 145. Kiva sends it as a string."),
    )
    country = models.CharField(_("country"), max_length=2, validators=[country_code])
    default_currency = models.CharField(
        _("default currency"), max_length=3, validators=[currency_code]
    )
    repayment_csv_format = models.CharField(
        _("repayment CSV format"),
        max_length=20,
        choices=RepaymentCsvFormat.choices,
        default=RepaymentCsvFormat.TWO_COLUMNS,
        help_text=_("As set for this partner in PA2."),
    )
    repayment_amount_rule = models.CharField(
        _("repayment amount reported"),
        max_length=30,
        choices=RepaymentAmountRule.choices,
        default=RepaymentAmountRule.PERIOD_AMOUNT,
    )
    four_eyes = models.BooleanField(
        _("four-eyes approval"),
        default=True,
        help_text=_("Nobody approves a record they created or last edited."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = PartnerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    partner_path = ""

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def uses_client_id(self) -> bool:
        return self.repayment_csv_format == RepaymentCsvFormat.THREE_COLUMNS


class Membership(Tracked):
    """A user in a partner organisation with one role. A user may belong to several partners."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)

    objects = PartnerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    partner_path = "partner"

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["partner__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "partner"], name="one_membership_per_partner")
        ]

    def __str__(self):
        return f"{self.user} @ {self.partner} ({self.get_role_display()})"
