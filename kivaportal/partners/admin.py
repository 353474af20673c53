from django.contrib import admin
from django.contrib.auth import get_user_model

from kivaportal.common.admin import PARTNER_FILTER, TRACKING, PartnerScopedAdmin
from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Action


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
