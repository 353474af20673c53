from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from integrations.kiva.forms import KivaConnectionForm
from integrations.kiva.models import Attempt, KivaConnection, Submission
from integrations.kiva.services import connection_save, connection_test
from kivaportal.common.admin import TRACKING, PartnerScopedAdmin, ReadOnlyAdminMixin
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import partner_ids_where, user_can


@admin.register(KivaConnection)
class KivaConnectionAdmin(PartnerScopedAdmin):
    """Only partner admins see or change a connection; the secret is never displayed."""

    edit_action = Action.MANAGE
    form = KivaConnectionForm
    list_display = (
        "partner",
        "environment",
        "api_base_url",
        "client_id",
        "kiva_partner_id",
        "is_active",
        "last_test_ok",
        "last_tested_at",
        "last_synced_at",
    )
    list_filter = ("environment", "is_active", "last_test_ok")
    search_fields = ("partner__name", "client_id", "kiva_partner_id")
    list_select_related = ("partner",)
    readonly_fields = (
        "secret_stored",
        "last_tested_at",
        "last_test_ok",
        "last_test_report",
        "last_synced_at",
        "last_sync_report",
        *TRACKING,
    )
    actions = ("test_connection",)

    def has_module_permission(self, request):
        return user_can(request.user, Action.MANAGE)

    def has_view_permission(self, request, obj=None):
        partner_id = None if obj is None else obj.partner_id
        return user_can(request.user, Action.MANAGE, partner_id)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(partner_id__in=partner_ids_where(request.user, Action.MANAGE))

    def save_model(self, request, obj, form, change):
        connection_save(
            connection=obj,
            by=request.user,
            client_secret=form.cleaned_data.get("client_secret") or None,
        )

    @admin.display(description=_("client secret"), boolean=True)
    def secret_stored(self, obj):
        return obj.has_secret

    @admin.action(description=_("Test connection (token and reference lists)"))
    def test_connection(self, request, queryset):
        for connection in queryset.select_related("partner"):
            report = connection_test(connection=connection)
            level = messages.SUCCESS if report.ok else messages.ERROR
            lines = "; ".join(report.lines)
            self.message_user(request, f"{connection.partner}: {lines}", level)


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
        ("partner", admin.RelatedOnlyFieldListFilter),
        "state",
        "kind",
        ("error", admin.EmptyFieldListFilter),
        "created_at",
    )
    search_fields = ("record_label", "kiva_reference", "idempotency_key", "error")
    list_select_related = ("partner",)
    date_hierarchy = "created_at"
    inlines = (AttemptInline,)
    exclude = ("content_type",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Submission._meta.fields if f.name != "content_type"]


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
    date_hierarchy = "started_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Attempt._meta.fields]
