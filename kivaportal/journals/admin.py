from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kivaportal.common.admin import PARTNER_FILTER, TRACKING
from kivaportal.common.admin_display import findings_html
from kivaportal.journals.checks import journal_findings
from kivaportal.journals.models import Journal
from kivaportal.review.admin import ReviewableAdmin


@admin.register(Journal)
class JournalAdmin(ReviewableAdmin):
    list_display = ("subject", "loan", "borrower", "partner", "state", "created_by", "created_at")
    list_filter = (PARTNER_FILTER, "state", "created_at")
    search_fields = (
        "subject",
        "loan__mis_loan_id",
        "borrower__mis_client_id",
        "borrower__last_name",
    )
    list_select_related = ("loan", "borrower", "partner", "created_by")
    autocomplete_fields = ("loan", "borrower")
    readonly_fields = ("state", "version", "checks", *TRACKING)

    @admin.display(description=_("checks"))
    def checks(self, obj):
        if obj.pk is None:
            return "-"
        return findings_html(journal_findings(obj))
