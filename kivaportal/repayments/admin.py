from django.contrib import admin

from kivaportal.common.admin import PARTNER_FILTER, TRACKING, PartnerScopedAdmin
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
        "amount",
        "principal",
        "interest",
        "partner",
    )
    list_filter = (PARTNER_FILTER, "date")
    search_fields = ("mis_repayment_id", "loan__mis_loan_id", "borrower__mis_client_id")
    list_select_related = ("loan", "borrower", "partner")
    autocomplete_fields = ("loan", "borrower")
    readonly_fields = TRACKING

    # A repayment is part of its month's report: a change or a deletion reaches the report.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            repayment_edited(
                repayment=obj,
                by=request.user,
                dates=[form.initial.get("date"), obj.date],
                changed_fields=form.changed_data,
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
