from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kivaportal.common.models import PartnerOwned, require_same_partner
from kivaportal.lending.models import money_field
from kivaportal.workflow.models import CHECK_FIELDS, REVIEW_TIME_FIELDS, Reviewable


class Repayment(PartnerOwned):
    """A repayment transaction as the MIS recorded it.

    Kiva is not told of single transactions: the month's report sums them per loan, by the
    partner's amount rule (amount paid in the period, or cumulative principal repaid).
    """

    loan = models.ForeignKey(
        "lending.Loan",
        verbose_name=_("loan"),
        on_delete=models.PROTECT,
        related_name="repayments",
    )
    borrower = models.ForeignKey(
        "lending.Borrower",
        verbose_name=_("borrower"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("For group loans reported per borrower (three-column partners)."),
    )
    mis_repayment_id = models.CharField(
        _("MIS transaction id"),
        max_length=64,
        help_text=_("The MIS's own id, so importing the same file twice changes nothing."),
    )
    date = models.DateField(_("date"))
    amount = money_field(_("amount"), validators=[MinValueValidator(Decimal("0"))])
    principal = money_field(
        _("principal part"), null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    interest = money_field(
        _("interest part"), null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "mis_repayment_id"], name="repayment_unique_mis_id"
            )
        ]
        indexes = [
            # The admin list's order (newest first) within a partner and across partners
            # (superusers); the first also serves a month's repayments of a partner.
            models.Index(fields=["partner", "date", "id"], name="repayment_partner_date"),
            models.Index(fields=["date", "id"], name="repayment_date"),
            models.Index(fields=["loan", "date"]),
        ]

    def __str__(self):
        return f"{self.mis_repayment_id}: {self.amount} on {self.date}"

    def clean(self):
        require_same_partner(self, "loan", "borrower")


class RepaymentReport(Reviewable):
    """What one partner reports to Kiva for one month; reviewed and sent as one unit.

    Its lines are derived from the repayment transactions dated in the month (see
    `repayments.selectors.report_lines`); what was actually sent is frozen in the outbox.
    """

    month = models.DateField(_("month"), help_text=_("The first day of the reported month."))

    history = HistoricalRecords(excluded_fields=[*CHECK_FIELDS, *REVIEW_TIME_FIELDS])

    class Meta:
        verbose_name = _("repayment report")
        verbose_name_plural = _("repayment reports")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "month"], name="one_report_per_month"),
            models.CheckConstraint(
                condition=models.Q(month__day=1), name="report_month_is_first_day"
            ),
        ]

    def __str__(self):
        return f"{self.partner} {self.month:%Y-%m}"

    def findings(self):
        from kivaportal.repayments.checks import report_findings

        return report_findings(self)


class ResendLine(models.Model):
    """A line Kiva refused on a sent version of a report, held by the new version that sends
    it again (`version`): that version sends these lines only, not the month's. Staff correct
    them (the loan id, client id or amount Kiva could not take) before it is reviewed again;
    the refused version keeps what was sent and Kiva's answer on its submissions.
    """

    report = models.ForeignKey(
        RepaymentReport,
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        related_name="resend_lines",
    )
    version = models.PositiveIntegerField(_("sent again in version"))
    from_version = models.PositiveIntegerField(_("refused in version"))
    loan = models.ForeignKey(
        "lending.Loan",
        verbose_name=_("loan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The portal's loan of the line as sent, when it can be told."),
    )
    mis_loan_id = models.CharField(_("loan id"), max_length=64)
    client_id = models.CharField(_("client id"), max_length=64, blank=True)
    amount = money_field(_("amount"), validators=[MinValueValidator(Decimal("0"))])
    sent_amount = money_field(_("amount as sent"))
    code = models.CharField(_("Kiva's code"), max_length=100, blank=True)
    severity = models.CharField(_("severity"), max_length=20, blank=True)
    details = models.TextField(_("Kiva's text"), blank=True)

    class Meta:
        verbose_name = _("line sent again")
        verbose_name_plural = _("lines sent again")
        ordering = ["report", "version", "id"]
        indexes = [models.Index(fields=["report", "version"])]

    def __str__(self):
        return f"{self.report} v{self.version} {self.mis_loan_id}: {self.amount}"


class SentRepaymentLoan(models.Model):
    """The portal's own record of what it sent: a loan had a line in a chunk of a month's
    report that Kiva took (written with the chunk's outcome; a line Kiva refused is not).
    With what reconciliation reads, it makes the set of loans a later month's report is
    expected to cover (docs/kiva.md, "The report Kiva expects")."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="+"
    )
    loan = models.ForeignKey(
        "lending.Loan", verbose_name=_("loan"), on_delete=models.CASCADE, related_name="+"
    )
    report = models.ForeignKey(
        RepaymentReport, verbose_name=_("report"), on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField(_("month"))
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("loan reported to Kiva")
        verbose_name_plural = _("loans reported to Kiva")
        constraints = [
            models.UniqueConstraint(fields=["report", "loan"], name="sent_repayment_loan_once")
        ]
        indexes = [
            models.Index(fields=["loan", "month"], name="sent_repayment_loan_month"),
            # The last row of a partner for months before a report's (its lines' key, read
            # backwards from the newest without visiting the table: line_store._store_key).
            models.Index(
                fields=["partner", "id"], include=["month"], name="sent_repayment_loan_last"
            ),
        ]

    def __str__(self):
        return f"{self.loan_id} {self.month:%Y-%m}"


class ReportLineStore(models.Model):
    """A report's lines as its page reads them, computed once and kept (`StoredReportLine`),
    with their totals and the 12 months' chart: the page of a 20,000-line report then reads
    one indexed slice instead of aggregating the month on every view. `key` says what the
    lines were computed from (kivaportal/repayments/line_store.py); a page that finds it
    changed shows them as they are, with `built_at`, while a task computes them again."""

    report = models.OneToOneField(
        RepaymentReport,
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="line_store",
    )
    key = models.CharField(_("computed from"), max_length=300)
    totals = models.JSONField(_("totals"), default=dict)
    built_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        verbose_name = _("report lines as computed")
        verbose_name_plural = _("report lines as computed")

    def __str__(self):
        return f"{self.report_id} {self.key}"


class StoredReportLine(models.Model):
    """One line of a report as `ReportLineStore` computed it, with what its page filters on."""

    report = models.ForeignKey(
        RepaymentReport, verbose_name=_("report"), on_delete=models.CASCADE, related_name="+"
    )
    position = models.PositiveIntegerField(_("position"))
    loan = models.ForeignKey(
        "lending.Loan", verbose_name=_("loan"), on_delete=models.CASCADE, related_name="+"
    )
    borrower_id = models.PositiveBigIntegerField(_("borrower"), null=True, blank=True)
    mis_loan_id = models.CharField(_("loan id"), max_length=64)
    client_id = models.CharField(_("client id"), max_length=64, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    amount = money_field(_("amount"))
    period_amount = money_field(_("repaid in the month"))
    transactions = models.PositiveIntegerField(_("transactions"))
    principal_unknown = models.BooleanField(default=False)
    kiva_status = models.CharField(_("Kiva status"), max_length=20, blank=True)
    sent_before = models.BooleanField(default=False)
    nothing_repaid = models.BooleanField(_("nothing repaid"), default=False)
    warned = models.BooleanField(_("named by a check"), default=False)
    # Lower-cased loan, group, client ids and borrower names, for the page's search.
    search = models.TextField(blank=True)

    class Meta:
        verbose_name = _("stored report line")
        verbose_name_plural = _("stored report lines")
        constraints = [
            models.UniqueConstraint(fields=["report", "position"], name="stored_line_position")
        ]
        indexes = [
            models.Index(
                fields=["report", "nothing_repaid", "position"], name="stored_line_nothing_repaid"
            ),
            models.Index(fields=["report", "warned", "position"], name="stored_line_warned"),
            models.Index(fields=["report", "mis_loan_id"], name="stored_line_loan_id"),
        ]

    def __str__(self):
        return f"{self.report_id}#{self.position} {self.mis_loan_id}"
