from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from integrations.kiva.forms import KivaConnectionForm
from integrations.kiva.models import KivaConnection
from integrations.kiva.services import connection_save, connection_test
from kivaportal.common.admin import TRACKING, PartnerScopedAdmin
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
        "last_sync_shown",
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

    @admin.display(description=_("last sync report"))
    def last_sync_shown(self, obj):
        return obj.last_sync_text

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
