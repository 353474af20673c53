"""Reads of the audit trail that rules depend on."""

from django.contrib.contenttypes.models import ContentType

from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.models import AuditEntry

# What changes what a reviewer approves: the record's content or its parts (a loan's borrowers,
# shares, schedule, photo; a report's repayments), by any path.
CONTENT_ACTIONS = (
    AuditAction.CREATED,
    AuditAction.IMPORTED,
    AuditAction.EDITED,
    AuditAction.RETURNED_TO_DRAFT,
    AuditAction.DATA_CHANGED,
    AuditAction.RESEND_REFUSED,
)


def changed_since_last_approval(record, user) -> bool:
    """Did `user` create or change the content of `record`, or of one of its parts, since it
    was last approved (ever, if it never was)?"""
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk
    )
    last_approval = (
        entries.filter(action=AuditAction.APPROVED)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    changes = entries.filter(actor_id=user.pk, action__in=CONTENT_ACTIONS)
    if last_approval is not None:
        changes = changes.filter(id__gt=last_approval)
    return changes.exists()
