"""The life of a reviewed record (loan, journal, repayment report), from MIS to Kiva.

draft -> submitted -> approved -> queued -> sending -> sent
submitted -> changes_requested (a reviewer's comment) -> submitted (the preparer resubmits)
sending -> rejected (Kiva refused) | needs_attention (outcome unknown) | failed (gave up)
any unsent state -> withdrawn

The transitions, their guards by role and their audit entries belong to the review workflow;
the push states are set by the Kiva pipeline.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    QUEUED = "queued", _("Queued for Kiva")
    SENDING = "sending", _("Sending to Kiva")
    SENT = "sent", _("Sent to Kiva")
    REJECTED = "rejected", _("Rejected by Kiva")
    NEEDS_ATTENTION = "needs_attention", _("Needs attention")
    FAILED = "failed", _("Failed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# States in which the content of a record may still be edited. Editing a submitted or approved
# but unsent record returns it to draft; editing a record whose changes were requested keeps it
# there until resubmitted; sent records are read-only (a correction is a new version).
EDITABLE_STATES = frozenset(
    {
        RecordState.DRAFT,
        RecordState.CHANGES_REQUESTED,
        RecordState.SUBMITTED,
        RecordState.APPROVED,
    }
)

# States in which Kiva's answer (or its silence) waits for a person's decision: the dashboard
# lists them, notifications announce them.
ATTENTION_STATES = (RecordState.REJECTED, RecordState.NEEDS_ATTENTION, RecordState.FAILED)


def state_label(value: str) -> str:
    """A state's label in the reader's language ("" for none, the value for one unknown)."""
    if not value:
        return ""
    try:
        return RecordState(value).label
    except ValueError:
        return value
