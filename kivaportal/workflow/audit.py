"""Every action the audit trail records: one code, namespaced by who acts, and the sentence
staff read for it in their language (as pretix's `log_action` codes). Pages, the audit log,
its CSV export and refusal messages show the label, never the code.

- `review.*`: people moving a record through review (on any path: pages, admin, bulk, API);
- `intake.*`: records brought in from the MIS (file import or the intake API), and the API
  keys, MIS clients and tokens it is done with;
- `pipeline.*`: the outbox following a record's submissions, and staff acting on them;
- `kiva.*`: what Kiva did with a record after it was sent;
- `partner.*`: changes to a partner's settings that weaken or strengthen a control, and a
  partner admin running the team (members, their logins, reference data).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    # Review.
    CREATED = "review.created", _("Created")
    EDITED = "review.edited", _("Edited")
    SUBMITTED = "review.submitted", _("Submitted for review")
    APPROVED = "review.approved", _("Approved")
    CHANGES_REQUESTED = "review.changes_requested", _("Changes requested")
    RETURNED_TO_DRAFT = "review.returned_to_draft", _("Back to draft after an edit")
    DATA_CHANGED = "review.data_changed", _("Data behind it changed")
    WITHDRAWN = "review.withdrawn", _("Withdrawn")
    NEW_VERSION = "review.new_version", _("Reopened as a new version")
    RESEND_REFUSED = (
        "review.resend_refused",
        _("Reopened as a new version to send again the lines Kiva refused"),
    )
    # Intake.
    IMPORTED = "intake.imported", _("Imported from the MIS")
    API_KEY_CREATED = "intake.api_key_created", _("Intake API key created")
    API_KEY_REVOKED = "intake.api_key_revoked", _("Intake API key revoked")
    MIS_CLIENT_CREATED = "intake.mis_client_created", _("MIS client created")
    MIS_CLIENT_REVOKED = "intake.mis_client_revoked", _("MIS client revoked")
    CREDENTIAL_RENAMED = "intake.credential_renamed", _("Intake API key or MIS client renamed")
    TOKEN_REVOKED = "intake.token_revoked", _("MIS client's access token revoked")
    # Pipeline: the record follows its submissions.
    QUEUED = "pipeline.queued", _("Queued for Kiva")
    SENDING = "pipeline.sending", _("Sending to Kiva")
    SENT = "pipeline.sent", _("Sent to Kiva")
    REJECTED = "pipeline.rejected", _("Rejected by Kiva")
    NEEDS_ATTENTION = "pipeline.needs_attention", _("Needs attention: outcome unknown")
    FAILED = "pipeline.failed", _("Sending failed")
    SENDING_CANCELLED = "pipeline.sending_cancelled", _("Back to draft: sending cancelled")
    # Pipeline: staff acting on a submission.
    RETRY_NOW = "pipeline.retry_now", _("Retry now")
    CANCELLED = "pipeline.cancelled", _("Sending cancelled")
    MARKED_SENT = "pipeline.marked_sent", _("Marked as sent")
    SEND_AGAIN = "pipeline.send_again", _("Sent again")
    # Kiva: what Kiva did with a record after it was sent (reconciliation with GET loans).
    FOUND_AT_KIVA = "kiva.found", _("Found at Kiva: marked as sent")
    # Stage and production (docs/kiva.md).
    STAGE_APPROVED = "kiva.stage_approved", _("Kiva's approval of the stage tests recorded")
    SENT_TO_PRODUCTION = "kiva.to_production", _("To be sent to production: new version")
    LEFT_OUT_OF_PRODUCTION = "kiva.left_out", _("Sent to stage only: left out of production")
    # Partner settings.
    PARTNER_SETTINGS_CHANGED = "partner.settings_changed", _("Partner settings changed")
    FOUR_EYES_CHANGED = "partner.four_eyes_changed", _("Four-eyes approval turned on or off")
    AMOUNT_RULE_CHANGED = "partner.amount_rule_changed", _("Repayment amount rule changed")
    CONNECTION_CHANGED = "partner.connection_changed", _("Kiva connection changed")
    MEMBER_UNLOCKED = "partner.member_unlocked", _("Member's login lockout cleared")
    # Partner admins running their team (kivaportal/review/team.py).
    MEMBER_INVITED = "partner.member_invited", _("Member invited")
    MEMBER_JOINED = "partner.member_joined", _("Invitation accepted: password set")
    MEMBER_ROLE_CHANGED = "partner.member_role_changed", _("Member's role changed")
    MEMBER_REMOVED = "partner.member_removed", _("Member removed from the partner")
    MEMBER_PASSWORD_RESET = "partner.member_password_reset", _("Password reset link sent")
    REFERENCE_SYNC_REQUESTED = (
        "partner.reference_sync_requested",
        _("Reference data sync with Kiva requested"),
    )


def action_label(code: str) -> str:
    """The label of a code, or the code itself for one this version does not know."""
    try:
        return AuditAction(code).label
    except ValueError:
        return code
