from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from kivaportal.common.admin import PARTNER_FILTER, TRACKING, PartnerScopedAdmin
from kivaportal.partners.lockouts import lockouts_for
from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.review.controls import (
    four_eyes_off_refusal,
    lockout_clear,
    partner_update,
)


@admin.register(Partner)
class PartnerAdmin(PartnerScopedAdmin):
    edit_action = Action.MANAGE
    list_display = (
        "name",
        "kiva_partner_id",
        "country",
        "default_currency",
        "repayment_csv_format",
        "repayment_amount_rule",
        "four_eyes",
        "is_active",
    )
    list_filter = ("country", "repayment_csv_format", "repayment_amount_rule", "is_active")
    search_fields = ("name", "kiva_partner_id")
    readonly_fields = TRACKING

    def has_add_permission(self, request):
        # New partner organisations are set up by the portal's operators.
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and four_eyes_off_refusal(partner=obj, by=request.user):
            fields.append("four_eyes")  # see kivaportal.partners.services
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # Through the service: control settings are audited, four eyes guarded.
        partner_update(
            partner=obj,
            by=request.user,
            **{name: form.cleaned_data[name] for name in form.changed_data},
        )


@admin.register(Membership)
class MembershipAdmin(PartnerScopedAdmin):
    edit_action = Action.MANAGE
    members_may_delete = True
    list_display = ("user", "partner", "role", "is_active", "created_at")
    list_filter = (PARTNER_FILTER, "role", "is_active")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    list_select_related = ("user", "partner")
    readonly_fields = TRACKING

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not request.user.is_superuser:
            # A partner admin picks among the people already in their organisations; creating
            # user accounts is for the portal's operators.
            kwargs["queryset"] = (
                get_user_model()
                .objects.filter(
                    memberships__partner__in=Membership.objects.for_user(request.user).values(
                        "partner"
                    )
                )
                .distinct()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class LockoutAdmin(AccessAttemptAdmin):
    """Failed-login records (django-axes) of the members of the partners the user manages:
    partner admins see who is locked out, and unlock them through an audited action (the
    lockout page tells users to ask them)."""

    actions = ("unlock",)
    # Without axes' "Form data" section: what was typed in a login form is nobody's business.
    fieldsets = (
        (None, {"fields": ("username", "path_info", "failures_since_start", "attempt_time")}),
        (_("Client"), {"fields": ("user_agent", "ip_address")}),
    )

    def get_queryset(self, request):
        return lockouts_for(request.user)

    def has_module_permission(self, request):
        return user_can(request.user, Action.MANAGE)

    def has_view_permission(self, request, obj=None):
        return user_can(request.user, Action.MANAGE)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # unlocking is the audited action below

    def get_actions(self, request):
        # Django offers actions only to users with a model permission; this one checks roles.
        return {
            "unlock": (
                LockoutAdmin.unlock,
                "unlock",
                LockoutAdmin.unlock.short_description,
            )
        }

    @admin.action(description=_("Unlock the selected people (all their addresses)"))
    def unlock(self, request, queryset):
        for username in sorted(set(queryset.values_list("username", flat=True))):
            try:
                lockout_clear(username=username, by=request.user)
            except PermissionDenied as refusal:  # the service's NotAllowed
                self.message_user(request, str(refusal), messages.ERROR)
            else:
                self.message_user(
                    request, _("%(username)s can log in again.") % {"username": username}
                )


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, LockoutAdmin)
