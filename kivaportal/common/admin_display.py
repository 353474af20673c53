"""Rendering of check findings in the admin's change forms."""

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _


def findings_html(findings):
    if not findings:
        return _("No problems found.")
    return format_html(
        "<ul class='findings'>{}</ul>",
        format_html_join(
            "",
            "<li class='finding-{}'><strong>{}</strong> <code>{}</code> {}</li>",
            (
                (f.severity, _("Error") if f.is_error else _("Warning"), f.field, f.message)
                for f in findings
            ),
        ),
    )
