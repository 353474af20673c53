"""Audit entries written before the vocabulary (kivaportal/workflow/audit.py) get its codes."""

from django.db import migrations

OLD_TO_NEW = {
    "edited": "review.edited",
    "submitted": "review.submitted",
    "approved": "review.approved",
    "changes_requested": "review.changes_requested",
    "returned_to_draft": "review.returned_to_draft",
    "data_changed": "review.data_changed",
    "withdrawn": "review.withdrawn",
    "new_version": "review.new_version",
    "kiva.queued": "pipeline.queued",
    "kiva.sending": "pipeline.sending",
    "kiva.sent": "pipeline.sent",
    "kiva.rejected": "pipeline.rejected",
    "kiva.needs_attention": "pipeline.needs_attention",
    "kiva.failed": "pipeline.failed",
    "kiva.draft": "pipeline.sending_cancelled",
    "kiva.retry_now": "pipeline.retry_now",
    "kiva.cancelled": "pipeline.cancelled",
    "kiva.marked_sent": "pipeline.marked_sent",
    "kiva.send_again": "pipeline.send_again",
}


def forwards(apps, schema_editor):
    # The model refuses updates one by one (append-only); a queryset update is the migration's
    # own, once.
    entries = apps.get_model("workflow", "AuditEntry").objects
    for old, new in OLD_TO_NEW.items():
        entries.filter(action=old).update(action=new)
    # "created" by an import (its entries name the import job or the API key) or by a person.
    created = entries.filter(action="created")
    created.filter(data__has_key="import_job").update(action="intake.imported")
    created.filter(data__has_key="api_key").update(action="intake.imported")
    created.update(action="review.created")


def backwards(apps, schema_editor):
    entries = apps.get_model("workflow", "AuditEntry").objects
    for old, new in OLD_TO_NEW.items():
        entries.filter(action=new).update(action=old)
    entries.filter(action__in=["review.created", "intake.imported"]).update(action="created")


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
