"""Admin for intake: API keys and MIS clients (partner admins make and revoke them, each owned
by an accountable member; the key or secret is shown once), import jobs (the upload itself
happens on the intake page), and each partner's file format."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from integrations.mis.callers import owner_refusal
from integrations.mis.credentials import credential_rename
from integrations.mis.keys import api_key_create, api_key_revoke
from integrations.mis.models import (
    ApiKey,
    ImportJob,
    IntakeFormat,
    IssuedToken,
    MisClient,
    Scope,
)
from integrations.mis.oauth import mis_client_create, mis_client_revoke, token_revoke
from kivaportal.common.admin import PARTNER_FILTER, PartnerScopedAdmin
from kivaportal.partners.roles import ROLE_ACTIONS, Action
from kivaportal.partners.selectors import partner_ids_where, user_can


def revoke_each(admin_, request, items, revoke):
    """Revoke each of `items` through its audited service; one the user may not manage is
    named and left, the others are revoked (Django's admin runs an action without a
    transaction: a 403 half-way left some revoked and said nothing)."""
    revoked = 0
    for item in items:
        try:
            revoke(item)
        except PermissionDenied as refusal:
            admin_.message_user(request, f"{item}: {refusal}", messages.ERROR)
        else:
            revoked += 1
    if revoked:
        admin_.message_user(
            request,
            ngettext("%(n)d revoked.", "%(n)d revoked.", revoked) % {"n": revoked},
            messages.SUCCESS,
        )


def manager_actions(actions, request):
    """The revoke action only for someone who manages a partner (viewers see no action)."""
    if not user_can(request.user, Action.MANAGE):
        actions.pop("revoke", None)
    return actions


class OwnedForm(forms.ModelForm):
    """The owner must be a member who may create and edit records in the chosen partner."""

    def clean(self):
        cleaned = super().clean()
        partner = cleaned.get("partner") or getattr(self.instance, "partner", None)
        if partner is not None and "owner" in self.fields:
            refusal = owner_refusal(partner_id=partner.pk, owner=cleaned.get("owner"))
            if refusal:
                self.add_error("owner", refusal)
        return cleaned


class OwnedAdmin(PartnerScopedAdmin):
    """Keys and clients: made by partner admins, owned by a member, revoked, never edited but
    for their name."""

    edit_action = Action.MANAGE
    form = OwnedForm
    actions = ["revoke"]
    created_template = ""
    list_filter = (PARTNER_FILTER, "revoked_at")
    list_select_related = ("partner", "owner", "created_by")
    # Who made it and when, its last use and its revocation: never typed in.
    stamps = ("created_by", "created_at", "last_used_at", "revoked_at")

    def get_actions(self, request):
        return manager_actions(super().get_actions(request), request)

    def delete_refusal(self, obj):
        # Revoked, never deleted: the audit trail and the records it posted name it.
        return gettext("%(credential)s is revoked, not deleted.") % {"credential": obj}

    def get_readonly_fields(self, request, obj=None):
        # A key's partner and owner never change; a new one is made instead.
        return self.readonly_fields + (("partner", "owner") if obj else ())

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            # Members who may edit, in the partners this admin manages: never other partners'.
            editing = [role for role, actions in ROLE_ACTIONS.items() if Action.EDIT in actions]
            users = get_user_model().objects.filter(
                is_active=True, memberships__is_active=True, memberships__role__in=editing
            )
            managed = partner_ids_where(request.user, Action.MANAGE)
            if managed is not None:
                users = users.filter(memberships__partner_id__in=managed)
            kwargs["queryset"] = users.distinct().order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            credential_rename(credential=obj, name=obj.name, by=request.user)
            return
        row, secret = self.create(obj, form, request.user)
        obj.pk, obj._secret = row.pk, secret
        for name in ("prefix", "client_id"):
            if hasattr(row, name):
                setattr(obj, name, getattr(row, name))

    def response_add(self, request, obj, post_url_continue=None):
        # Shown in the response, never put in a message: messages may be stored in a cookie.
        return TemplateResponse(
            request,
            self.created_template,
            {
                **self.admin_site.each_context(request),
                "key": obj,
                "secret": obj._secret,
                "token_url": request.build_absolute_uri(reverse("mis_api:token")),
                "api_base": request.build_absolute_uri(reverse("mis_api:openapi")).rsplit("/", 1)[
                    0
                ],
            },
        )


@admin.register(ApiKey)
class ApiKeyAdmin(OwnedAdmin):
    fields = (
        "partner",
        "name",
        "owner",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_display = (
        "name",
        "partner",
        "prefix",
        "owner",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("prefix", *OwnedAdmin.stamps)
    created_template = "mis/apikey_created.html"

    def create(self, obj, form, by):
        return api_key_create(partner=obj.partner, name=obj.name, owner=obj.owner, by=by)

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        revoke_each(
            self, request, queryset, lambda key: api_key_revoke(api_key=key, by=request.user)
        )


class MisClientForm(OwnedForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(Scope.values),
    )

    class Meta:
        model = MisClient
        fields = ("partner", "name", "owner", "scopes", "expires_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields.pop("scopes", None)  # read-only once made: shown, not posted


@admin.register(MisClient)
class MisClientAdmin(OwnedAdmin):
    form = MisClientForm
    list_display = (
        "name",
        "partner",
        "client_id",
        "owner",
        "scope_list",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("client_id", *OwnedAdmin.stamps)
    created_template = "mis/misclient_created.html"

    def get_readonly_fields(self, request, obj=None):
        return super().get_readonly_fields(request, obj) + (("scopes", "expires_at") if obj else ())

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        return " ".join(obj.scopes)

    def create(self, obj, form, by):
        return mis_client_create(
            partner=obj.partner,
            name=obj.name,
            owner=obj.owner,
            scopes=form.cleaned_data["scopes"],
            expires_at=obj.expires_at,
            by=by,
        )

    @admin.action(description=_("Revoke the selected clients"))
    def revoke(self, request, queryset):
        revoke_each(
            self,
            request,
            queryset,
            lambda client: mis_client_revoke(client=client, by=request.user),
        )


@admin.register(IssuedToken)
class IssuedTokenAdmin(PartnerScopedAdmin):
    """The bearer tokens given to MIS clients, to revoke one alone (the MIS reports the `jti`
    of its token answer); revoking the client revokes them all."""

    edit_action = Action.MANAGE
    actions = ["revoke"]
    list_display = ("jti", "client", "scope", "issued_at", "expires_at", "revoked_at", "revoked_by")
    list_filter = ("revoked_at", "expires_at")
    list_select_related = ("client__partner", "revoked_by")
    search_fields = ("jti", "client__client_id", "client__name")
    readonly_fields = [f.name for f in IssuedToken._meta.fields]

    def get_actions(self, request):
        return manager_actions(super().get_actions(request), request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # No form to change: the revoke action is the one change, for partner admins.
        return obj is None and super().has_change_permission(request)

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        revoke_each(
            self, request, queryset, lambda token: token_revoke(token=token, by=request.user)
        )


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
    list_filter = (PARTNER_FILTER, "kind", "status")
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
