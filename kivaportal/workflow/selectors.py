"""Reads of the audit trail that rules depend on."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, OuterRef, Q, Subquery

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
    return record.pk in changed_since_last_approval_of(type(record), [record.pk], user)


def changed_since_last_approval_of(model, ids, user) -> set:
    """The ids among `ids` (records of `model`) whose content or parts `user` created or
    changed since each was last approved (ever, if it never was): one query for any number."""
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id__in=list(ids)
    )
    last_approval = (
        AuditEntry.objects.filter(
            content_type_id=OuterRef("content_type_id"),
            object_id=OuterRef("object_id"),
            action=AuditAction.APPROVED,
        )
        .order_by("-created_at", "-id")
        .values("id")[:1]
    )
    changes = (
        entries.filter(actor_id=user.pk, action__in=CONTENT_ACTIONS)
        .annotate(last_approval=Subquery(last_approval))
        .filter(Q(last_approval__isnull=True) | Q(id__gt=F("last_approval")))
    )
    return set(changes.values_list("object_id", flat=True).distinct())
