from django.contrib import admin

from kivaportal.common.admin import PARTNER_FILTER, PartnerScopedAdmin
from kivaportal.partners.roles import Action
from kivaportal.reference.models import Activity, Locale, Location, Theme


class ReferenceAdmin(PartnerScopedAdmin):
    edit_action = Action.MANAGE
    list_select_related = ("partner",)
    list_filter = (PARTNER_FILTER, "retired")
    readonly_fields = ("synced_at",)


@admin.register(Activity)
class ActivityAdmin(ReferenceAdmin):
    list_display = ("name", "kiva_id", "partner", "retired", "synced_at")
    search_fields = ("name", "=kiva_id")


@admin.register(Theme)
class ThemeAdmin(ReferenceAdmin):
    list_display = ("name", "kiva_id", "partner", "retired", "synced_at")
    search_fields = ("name", "=kiva_id")


@admin.register(Locale)
class LocaleAdmin(ReferenceAdmin):
    list_display = (
        "language_name",
        "language_code",
        "language_id",
        "currency",
        "partner",
        "retired",
    )
    search_fields = ("language_name", "language_code", "currency")


@admin.register(Location)
class LocationAdmin(ReferenceAdmin):
    list_display = ("full_name", "country", "location", "partner", "retired")
    search_fields = ("full_name", "country", "location")
