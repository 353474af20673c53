from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kivaportal.common.admin import PARTNER_FILTER, TRACKING, PartnerScopedAdmin
from kivaportal.common.money import money_text
from kivaportal.repayments.models import Repayment, RepaymentReport
from kivaportal.repayments.services import repayment_edited
from kivaportal.review.admin import ReviewableAdmin, SentRecordsKeptMixin


@admin.register(Repayment)
class RepaymentAdmin(SentRecordsKeptMixin, PartnerScopedAdmin):
    list_display = (
        "mis_repayment_id",
        "loan",
        "borrower",
        "date",
        "amount_display",
        "principal_display",
        "interest_display",
        "partner",
    )
    list_filter = (PARTNER_FILTER, "date")
    search_fields = ("mis_repayment_id", "loan__mis_loan_id", "borrower__mis_client_id")
    list_select_related = ("loan", "borrower", "partner")
    autocomplete_fields = ("loan", "borrower")
    readonly_fields = TRACKING

    # In the loan's currency's precision and the user's language (not 800.000).
    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj):
        return money_text(obj.amount, obj.loan.currency)

    @admin.display(description=_("principal part"), ordering="principal")
    def principal_display(self, obj):
        return money_text(obj.principal, obj.loan.currency)

    @admin.display(description=_("interest part"), ordering="interest")
    def interest_display(self, obj):
        return money_text(obj.interest, obj.loan.currency)

    # A repayment is part of its month's report: an addition, a change or a deletion reaches
    # the report (an approved one goes back to draft).
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or form.changed_data:
            repayment_edited(
                repayment=obj,
                by=request.user,
                dates=[form.initial.get("date"), obj.date],
                changed_fields=form.changed_data if change else ["added"],
            )

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        repayment_edited(
            repayment=obj, by=request.user, dates=[obj.date], changed_fields=["deleted"]
        )

    def delete_queryset(self, request, queryset):
        for repayment in queryset:
            self.delete_model(request, repayment)


@admin.register(RepaymentReport)
class RepaymentReportAdmin(ReviewableAdmin):
    list_display = ("month", "partner", "state", "version", "created_by", "updated_at")
    list_filter = (PARTNER_FILTER, "state", "month")
    list_select_related = ("partner", "created_by")
    readonly_fields = ("state", "version", *TRACKING)
