"""Admin for intake: API keys (partner admins make and revoke them; the key is shown once),
import jobs (the upload itself happens on the intake page), and each partner's file format."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from integrations.mis.keys import api_key_create, api_key_revoke
from integrations.mis.models import ApiKey, ImportJob, IntakeFormat
from kivaportal.common.admin import PartnerScopedAdmin
from kivaportal.partners.roles import Action


@admin.register(ApiKey)
class ApiKeyAdmin(PartnerScopedAdmin):
    edit_action = Action.MANAGE
    list_display = (
        "name",
        "partner",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (("partner", admin.RelatedOnlyFieldListFilter), "revoked_at")
    list_select_related = ("partner", "created_by")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # A key's partner never changes; a new key is made instead.
        return self.readonly_fields + (("partner",) if obj else ())

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        key, full = api_key_create(partner=obj.partner, name=obj.name, by=request.user)
        obj.pk, obj.prefix, obj._full_key = key.pk, key.prefix, full

    def response_add(self, request, obj, post_url_continue=None):
        # Shown in the response, never put in a message: messages may be stored in a cookie.
        return TemplateResponse(
            request,
            "mis/apikey_created.html",
            {**self.admin_site.each_context(request), "key": obj, "full_key": obj._full_key},
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(api_key=key, by=request.user)
        messages.success(request, _("Revoked."))


@admin.register(ImportJob)
class ImportJobAdmin(PartnerScopedAdmin):
    list_display = (
        "original_name",
        "kind",
        "partner",
        "status",
        "created_by",
        "created_at",
        "page",
    )
    list_filter = (("partner", admin.RelatedOnlyFieldListFilter), "kind", "status")
    list_select_related = ("partner", "created_by")
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    @admin.display(description=_("preview and import"))
    def page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("mis:job", args=[obj.pk]), _("open"))

    def add_view(self, request, form_url="", extra_context=None):
        # Uploading, previewing and importing happen on one page, shared with the review side.
        return redirect("mis:upload")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IntakeFormat)
class IntakeFormatAdmin(PartnerScopedAdmin):
    edit_action = Action.MANAGE
    list_display = ("partner", "date_format", "decimal_separator", "encoding")
