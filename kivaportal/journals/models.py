from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kivaportal.common.models import PagePhoto, require_same_partner
from kivaportal.workflow.models import CHECK_FIELDS, REVIEW_TIME_FIELDS, Reviewable


class Journal(Reviewable, PagePhoto):
    """A borrower update (journal) for a loan; Kiva answers with a link staff open to publish."""

    loan = models.ForeignKey(
        "lending.Loan", verbose_name=_("loan"), on_delete=models.PROTECT, related_name="journals"
    )
    borrower = models.ForeignKey(
        "lending.Borrower",
        verbose_name=_("borrower"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Sent as the client id for three-column partners."),
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    photo = models.ImageField(_("photo"), upload_to="journals/%Y/%m/", blank=True)

    history = HistoricalRecords(
        excluded_fields=[*CHECK_FIELDS, *REVIEW_TIME_FIELDS, *PagePhoto.COPY_FIELDS]
    )

    class Meta:
        verbose_name = _("journal")
        verbose_name_plural = _("journals")
        ordering = ["-created_at"]
        indexes = [
            # As the loan's (kivaportal/lending/models.py): the queue's order, the admin's.
            models.Index(
                fields=["partner", "state", "state_changed_at", "created_at", "id"],
                name="journal_queue_by_state",
            ),
            models.Index(
                fields=["partner", "state_changed_at", "created_at", "id"], name="journal_queue"
            ),
            models.Index(fields=["partner", "created_at", "id"], name="journal_newest"),
        ]

    def __str__(self):
        return self.subject

    def clean(self):
        require_same_partner(self, "loan", "borrower")

    def findings(self):
        from kivaportal.journals.checks import journal_findings

        return journal_findings(self)
