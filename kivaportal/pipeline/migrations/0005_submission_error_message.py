"""A submission's error as a message each reader reads in their language (error_message).

Rows written before keep their text in `error`, shown as it was. Those whose text is one of
the portal's own messages, in English, get its message as well, so that they too are read
in each reader's language; any other text (Kiva's own, another language) stays as it is.
The templates are frozen here as they were written."""

import re

from django.db import migrations, models

TEMPLATES = (
    "Kiva refused the portal's credentials: %(error)s. Fix the Kiva connection, then retry.",
    "Nothing was sent to Kiva: %(error)s Fix it, then retry.",
    "The partner has no Kiva connection any more: nothing was sent.",
    "Approved for Kiva %(then)s, but the connection is now %(now)s: nothing was sent. "
    "Correct it as a new version to send it through review to %(now)s.",
    "Kiva has not approved %(partner)s's stage tests yet (none recorded): nothing is sent to "
    "production until a partner admin records Kiva's approval on the Stage and production "
    "page.",
    "Gave up after %(n)s attempts: %(error)s",
    "Kiva's answer was lost (%(reason)s); GET loans shows the draft, so it was created once.",
    "The outcome is unknown (%(reason)s): Kiva may or may not have it. Check PA2, then mark "
    "it as sent or send it again.",
    "Kiva already holds draft %(uuid)s of an earlier version of this loan. Posting again makes "
    "a second draft: delete the old one in PA2, then choose Send again; or, if you corrected "
    "the draft in PA2 itself, Mark as sent.",
    "The worker stopped before sending; sending again.",
)
# Portal messages that were written as a reason inside another.
REASONS = (
    "the worker stopped while sending",
    "Kiva accepted it, but its answer has no draft uuid the portal can read",
)
PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")


def _pattern(template):
    seen = set()

    def group(match):
        name = match.group(1)
        if name in seen:
            return f"(?P={name})"
        seen.add(name)
        return f"(?P<{name}>.+?)"

    return re.compile(PLACEHOLDER.sub(group, re.escape(template)), re.DOTALL)


def message_of(text, patterns):
    for template, pattern in patterns:
        found = pattern.fullmatch(text)
        if found:
            params = {
                name: {"msgid": value, "params": {}} if value in REASONS else value
                for name, value in found.groupdict().items()
            }
            return {"msgid": template, "params": params}
    return None


def forwards(apps, schema_editor):
    Submission = apps.get_model("pipeline", "Submission")
    patterns = [(t, _pattern(t)) for t in TEMPLATES]
    rows = Submission.objects.exclude(error="").filter(error_message__isnull=True)
    for pk, text in rows.values_list("pk", "error").iterator():
        found = message_of(text, patterns)
        if found is not None:
            Submission.objects.filter(pk=pk).update(error_message=found)


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0004_submission_left_out_of_production"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="error_message",
            field=models.JSONField(
                blank=True, editable=False, null=True, verbose_name="error (message)"
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True),
    ]
