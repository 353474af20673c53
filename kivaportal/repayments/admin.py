from django.contrib import admin

from kivaportal.common.admin import TRACKING, PartnerScopedAdmin
from kivaportal.repayments.models import Repayment, RepaymentReport
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
    list_filter = (("partner", admin.RelatedOnlyFieldListFilter), "date")
    search_fields = ("mis_repayment_id", "loan__mis_loan_id", "borrower__mis_client_id")
    list_select_related = ("loan", "borrower", "partner")
    autocomplete_fields = ("loan", "borrower")
    date_hierarchy = "date"
    readonly_fields = TRACKING


@admin.register(RepaymentReport)
class RepaymentReportAdmin(ReviewableAdmin):
    list_display = ("month", "partner", "state", "version", "created_by", "updated_at")
    list_filter = (("partner", admin.RelatedOnlyFieldListFilter), "state", "month")
    list_select_related = ("partner", "created_by")
    readonly_fields = ("state", "version", *TRACKING)
