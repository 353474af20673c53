from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from kivaportal.common.messages import message_text
from kivaportal.common.models import PartnerOwned
from kivaportal.common.scoping import PartnerScopedQuerySet
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.states import EDITABLE_STATES, RecordState

UNSENT = [
    RecordState.DRAFT,
    RecordState.CHANGES_REQUESTED,
    RecordState.SUBMITTED,
    RecordState.APPROVED,
    RecordState.REJECTED,
]
PUSH = [RecordState.QUEUED, RecordState.SENDING, RecordState.NEEDS_ATTENTION, RecordState.FAILED]
# Derived by the checks, not content: kept out of the change history.
CHECK_FIELDS = ["check_errors", "check_warnings", "check_findings", "checked_at"]
# Written by the approval (a workflow move, audited): kept out of the change history too.
REVIEW_TIME_FIELDS = ["approved_at", "review_seconds"]
# Moved by the workflow and the pipeline only: an edit of the content never writes them.
WORKFLOW_FIELDS = ["state", "version", "state_changed_at", *CHECK_FIELDS, *REVIEW_TIME_FIELDS]


class Reviewable(PartnerOwned):
    """A record that staff review before it goes to Kiva.

    The transitions below are the whole table of allowed moves; django-fsm refuses any other
    with TransitionNotAllowed. They only change the state: who may call them, the four-eyes
    rule and the audit entry live in the services that every path goes through:
    `kivaportal.review.services` (review moves) and `kivaportal.pipeline` (push moves), both
    on top of `kivaportal.workflow.transitions`.

    `updated_by` is the last person who changed the content (never a state change): the
    four-eyes rule compares it, and `created_by`, with the approver.
    """

    state = FSMField(
        verbose_name=_("state"),
        max_length=20,
        choices=RecordState.choices,
        default=RecordState.DRAFT,
        db_index=True,
    )
    version = models.PositiveIntegerField(
        _("version"), default=1, help_text=_("Goes up when a sent record is corrected.")
    )
    state_changed_at = models.DateTimeField(_("state changed at"), null=True, blank=True)
    # The last check run, kept on the row: queues filter and sort by the counts at any size,
    # and a large repayment report shows its stored findings instead of recomputing them on
    # every view. `record_recheck` refreshes them; submission and approval always check afresh.
    check_errors = models.PositiveIntegerField(_("blocking errors"), default=0)
    check_warnings = models.PositiveIntegerField(_("warnings"), default=0)
    check_findings = models.JSONField(_("findings"), default=list, blank=True, editable=False)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True, editable=False)
    # The last approval, and how long its reviewer took (docs/architecture.md, "Review time"):
    # written by the approval, in its transaction; the dashboard's time saved reads them.
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    review_seconds = models.PositiveIntegerField(
        _("review time (seconds)"), null=True, blank=True, editable=False
    )

    @property
    def stored_findings(self):
        from kivaportal.common.checks import Finding

        return [Finding.from_dict(item) for item in self.check_findings]

    class Meta:
        abstract = True

    def findings(self):
        """This record's checks (errors and warnings), run now. Each kind says its own."""
        raise NotImplementedError

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    # Review.
    @transition(
        field="state",
        source=[RecordState.DRAFT, RecordState.CHANGES_REQUESTED],
        target=RecordState.SUBMITTED,
    )
    def submit(self):
        """A first submission, or a resubmission once the requested changes are made."""

    @transition(field="state", source=RecordState.SUBMITTED, target=RecordState.APPROVED)
    def approve(self):
        pass

    @transition(field="state", source=RecordState.SUBMITTED, target=RecordState.CHANGES_REQUESTED)
    def request_changes(self):
        """A reviewer sends it back to its preparer with a comment; edits keep it here."""

    @transition(
        field="state",
        source=[RecordState.SUBMITTED, RecordState.APPROVED],
        target=RecordState.DRAFT,
    )
    def reopen(self):
        """Content changed after submission: the review starts again."""

    @transition(field="state", source=UNSENT, target=RecordState.WITHDRAWN)
    def withdraw(self):
        pass

    @transition(
        field="state", source=[RecordState.SENT, RecordState.REJECTED], target=RecordState.DRAFT
    )
    def start_new_version(self):
        self.version += 1

    # Push to Kiva: the pipeline moves the record to follow its outbox submissions (a
    # repayment report has several), so these accept any push state as their source.
    @transition(field="state", source=[RecordState.APPROVED, *PUSH], target=RecordState.QUEUED)
    def queue(self):
        pass

    @transition(field="state", source=[RecordState.APPROVED, *PUSH], target=RecordState.SENDING)
    def start_sending(self):
        pass

    @transition(field="state", source=[RecordState.APPROVED, *PUSH], target=RecordState.SENT)
    def mark_sent(self):
        pass

    @transition(field="state", source=[RecordState.APPROVED, *PUSH], target=RecordState.REJECTED)
    def mark_rejected(self):
        pass

    @transition(
        field="state", source=[RecordState.APPROVED, *PUSH], target=RecordState.NEEDS_ATTENTION
    )
    def mark_needs_attention(self):
        pass

    @transition(field="state", source=[RecordState.APPROVED, *PUSH], target=RecordState.FAILED)
    def mark_failed(self):
        pass

    @transition(field="state", source=[RecordState.APPROVED, *PUSH], target=RecordState.DRAFT)
    def cancel_sending(self):
        """Staff stopped the sending: back to draft, to be corrected and reviewed again."""


def transition_sources(method) -> frozenset:
    """The states a transition of `Reviewable` may start from, read off the table above (so a
    rule about "which states allow X" is never a second copy of it)."""
    return frozenset(method._django_fsm.transitions)


# A record in one of these is corrected as a new version (an MIS re-posting it, or staff).
NEW_VERSION_STATES = transition_sources(Reviewable.start_new_version)
# A record in one of these may be submitted for review (a draft, or one sent back to its preparer).
SUBMIT_STATES = transition_sources(Reviewable.submit)


class AuditEntry(models.Model):
    """One thing that happened to a record: who, when, what, from which state to which.

    Append-only: written by services in the same transaction as the change it records, never
    edited or deleted through the portal (the model refuses it, the admin is read-only).
    """

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    record_label = models.CharField(_("record"), max_length=200)
    record_version = models.PositiveIntegerField(_("version"), default=1)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty when the portal itself acted (the Kiva pipeline)."),
        related_name="+",
    )
    action = models.CharField(
        _("action"), max_length=60, choices=AuditAction.choices, db_index=True
    )
    from_state = models.CharField(_("from"), max_length=20, blank=True)
    to_state = models.CharField(_("to"), max_length=20, blank=True)
    # A person's words as they wrote them; a comment of the portal's own (a bulk action's) is
    # also kept as a message, read in each reader's language (kivaportal/common/messages.py).
    comment = models.TextField(_("comment"), blank=True)
    comment_message = models.JSONField(
        _("comment (message)"), null=True, blank=True, editable=False
    )
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "partner"

    class Meta:
        # Moved from the review app with its table (docs/architecture.md).
        db_table = "review_auditentry"
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "created_at"]),
            models.Index(fields=["partner", "created_at"]),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor or 'portal'} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit entries cannot be deleted.")

    @property
    def comment_text(self) -> str:
        """The comment in the reader's language where the portal wrote it; a person's as is."""
        return message_text(self.comment_message) if self.comment_message else self.comment
