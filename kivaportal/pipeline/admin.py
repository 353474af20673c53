"""The outbox in the admin: what was sent to Kiva and what Kiva answered, read-only for
everyone (staff act on submissions from the record's review page, which audits it)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kivaportal.common.admin import PARTNER_FILTER, PartnerScopedAdmin, ReadOnlyAdminMixin
from kivaportal.pipeline.models import Attempt, Submission


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "method",
        "endpoint",
        "started_at",
        "duration_ms",
        "http_status",
        "outcome",
        "error_class",
        "error_message",
        "worker",
    )
    readonly_fields = fields
    ordering = ("number", "id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # the parent's scoping decides who sees the submission


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdminMixin, PartnerScopedAdmin):
    """What was sent to Kiva and what Kiva answered: read-only for everyone. Staff act on
    submissions from the record's review page (retry, cancel, resolve), which audits it."""

    list_display = (
        "created_at",
        "partner",
        "kind",
        "record_label",
        "record_version",
        "chunk",
        "state",
        "attempts",
        "kiva_reference",
        "next_attempt_at",
    )
    list_filter = (
        PARTNER_FILTER,
        "state",
        "kind",
        ("error", admin.EmptyFieldListFilter),
        "created_at",
    )
    search_fields = ("record_label", "kiva_reference", "idempotency_key", "error")
    list_select_related = ("partner",)
    inlines = (AttemptInline,)
    # The error as the reader reads it (`error_text`), in place of its stored fields.
    exclude = ("content_type", "error", "error_message")

    def get_readonly_fields(self, request, obj=None):
        hidden = set(self.exclude)
        return [f.name for f in Submission._meta.fields if f.name not in hidden] + ["error_shown"]

    @admin.display(description=_("error"))
    def error_shown(self, obj):
        return obj.error_text


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdminMixin, PartnerScopedAdmin):
    list_display = (
        "started_at",
        "submission",
        "number",
        "method",
        "endpoint",
        "http_status",
        "outcome",
        "error_class",
        "duration_ms",
    )
    list_filter = ("outcome", "error_class", "method", "started_at")
    search_fields = ("submission__record_label", "error_message", "worker")
    list_select_related = ("submission",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Attempt._meta.fields]
