"""Data migrations shared by the apps of reviewed records (lending, journals, repayments).

Kept here, with the state machine, so the three apps run the same rule; they use the
historical models the migration gives them, never today's.
"""

from django.db.models import F, OuterRef, Subquery


def drafts_returned_to_changes_requested(app_label, model_name):
    """A RunPython operation: before the *changes requested* state existed, a reviewer's
    request sent the record back to draft. Drafts whose last state move (an audit entry whose
    from and to states differ; edits of a draft keep it a draft) was a request for changes
    move to the new state, where the preparer now finds them. The reverse puts them back to
    draft."""

    def forwards(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        audit_entry = apps.get_model("workflow", "AuditEntry")
        content_type = (
            apps.get_model("contenttypes", "ContentType")
            .objects.filter(app_label=app_label, model=model_name.lower())
            .first()
        )
        if content_type is None:  # a new database: no record, no audit entry yet
            return
        last_move = (
            audit_entry.objects.filter(content_type=content_type, object_id=OuterRef("pk"))
            .exclude(from_state=F("to_state"))
            .order_by("-created_at", "-id")
            .values("action")[:1]
        )
        returned = list(
            model.objects.filter(state="draft")
            .annotate(last_move=Subquery(last_move))
            .filter(last_move="review.changes_requested")
            .values_list("pk", flat=True)
        )
        for start in range(0, len(returned), 1000):
            model.objects.filter(pk__in=returned[start : start + 1000]).update(
                state="changes_requested"
            )

    def backwards(apps, schema_editor):
        apps.get_model(app_label, model_name).objects.filter(state="changes_requested").update(
            state="draft"
        )

    return forwards, backwards
