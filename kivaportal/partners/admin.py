from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from kivaportal.common.admin import PARTNER_FILTER, TRACKING, PartnerScopedAdmin
from kivaportal.partners.lockouts import lockouts_for
from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.review import team
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
    """Members of the partners the user manages. Every change goes through the audited team
    services (kivaportal/review/team.py): adding someone already in the user's partners, the
    role, deleting; removing and password reset links as actions. People from elsewhere are
    invited by email on the partner's team page (the portal's "Team")."""

    edit_action = Action.MANAGE
    list_display = ("user", "partner", "role", "is_active", "created_at")
    list_filter = (PARTNER_FILTER, "role", "is_active")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    list_select_related = ("user", "partner")
    readonly_fields = TRACKING
    members_may_delete = True
    actions = ("remove_members", "send_password_reset")

    def get_exclude(self, request, obj=None):
        # A new membership is active (the service makes it so): no box to untick in vain.
        return ["is_active"] if obj is None else super().get_exclude(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Who and where are fixed; removing is an action (audited), re-adding an invitation.
            fields += ["user", "partner", "is_active"]
            if obj.user_id == request.user.pk and not request.user.is_superuser:
                fields.append("role")  # another partner admin changes it
        return fields

    def get_actions(self, request):
        # Django offers actions only to users with a model permission; these check roles.
        if not user_can(request.user, Action.MANAGE):
            return {}
        actions = {}
        for name in self.actions:
            function = getattr(MembershipAdmin, name)
            actions[name] = (function, name, function.short_description)
        return actions

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not request.user.is_superuser:
            # The people of the partners they manage, as the service allows; others are
            # invited by email on the team page.
            kwargs["queryset"] = team.member_add_choices(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # The form has checked the role and the one-membership rule; a refusal left (a role
        # the user may not give) is the service's NotAllowed, a 403.
        if not change:
            obj.pk = team.member_add(
                partner=obj.partner, user=obj.user, role=obj.role, by=request.user
            ).pk
        elif "role" in form.changed_data:
            team.member_role_change(membership=obj, role=obj.role, by=request.user)

    def delete_model(self, request, obj):
        team.membership_delete(membership=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user"):
            team.membership_delete(membership=membership, by=request.user)

    def _each(self, request, queryset, act, done):
        for membership in queryset.select_related("user", "partner"):
            try:
                act(membership)
            except team.ReviewError as refusal:  # the services' refusals, said plainly
                self.message_user(request, refusal.message, messages.ERROR)
            else:
                self.message_user(request, done % {"user": membership.user})

    @admin.action(description=_("Remove the selected people from the partner"))
    def remove_members(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda m: team.member_remove(membership=m, by=request.user),
            _("%(user)s is no longer a member."),
        )

    @admin.action(description=_("Send the selected people a password reset link"))
    def send_password_reset(self, request, queryset):
        base = f"{request.scheme}://{request.get_host()}"
        self._each(
            request,
            queryset,
            lambda m: team.member_password_reset(membership=m, by=request.user, base_url=base),
            _("A link to set a new password was mailed to %(user)s."),
        )


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
