from django.contrib import admin

from kivaportal.common.admin import PARTNER_FILTER, PartnerScopedAdmin, ReadOnlyAdminMixin
from kivaportal.notifications.models import SentNotification
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import partner_ids_where, user_can


@admin.register(SentNotification)
class SentNotificationAdmin(ReadOnlyAdminMixin, PartnerScopedAdmin):
    """What was emailed to whom: for the partner's admins (and superusers), read-only."""

    list_display = ("sent_at", "partner", "user", "event", "key")
    list_filter = (PARTNER_FILTER, "event", "sent_at")
    search_fields = ("user__username", "key")
    list_select_related = ("partner", "user")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        managed = partner_ids_where(request.user, Action.MANAGE)
        return queryset if managed is None else queryset.filter(partner_id__in=managed)

    def has_module_permission(self, request):
        return user_can(request.user, Action.MANAGE)

    def has_view_permission(self, request, obj=None):
        return user_can(request.user, Action.MANAGE, None if obj is None else obj.partner_id)
