from decimal import Decimal

from django.contrib import admin
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from kivaportal.common.admin import (
    PARTNER_FILTER,
    TRACKING,
    PartnerScopedAdmin,
    ScopedTabularInline,
)
from kivaportal.common.admin_display import findings_html
from kivaportal.common.money import money_text
from kivaportal.lending.checks import loan_findings
from kivaportal.lending.models import Borrower, Loan, LoanBorrower, ScheduleLine
from kivaportal.lending.services import borrower_edited
from kivaportal.review.admin import ReviewableAdmin, SentRecordsKeptMixin


@admin.register(Borrower)
class BorrowerAdmin(SentRecordsKeptMixin, PartnerScopedAdmin):
    list_display = (
        "mis_client_id",
        "first_name",
        "last_name",
        "gender",
        "city",
        "partner",
        "is_active",
    )
    list_filter = (PARTNER_FILTER, "gender", "is_active")
    search_fields = ("mis_client_id", "first_name", "last_name")
    list_select_related = ("partner",)
    readonly_fields = TRACKING

    # A borrower is part of every loan they are on: a change reaches those loans.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            borrower_edited(borrower=obj, by=request.user, changed_fields=form.changed_data)


class LoanBorrowerInline(ScopedTabularInline):
    model = LoanBorrower
    extra = 0
    fields = ("position", "borrower", "amount", "mis_loan_id", "not_pictured")
    autocomplete_fields = ("borrower",)


class ScheduleLineInline(ScopedTabularInline):
    model = ScheduleLine
    extra = 0
    fields = ("due_date", "principal", "interest")


@admin.register(Loan)
class LoanAdmin(ReviewableAdmin):
    list_display = (
        "mis_loan_id",
        "partner",
        "loan_type",
        "group_name",
        "borrower_count",
        "amount_display",
        "disbursal_date",
        "state",
        "created_by",
        "created_at",
    )
    list_filter = (
        PARTNER_FILTER,
        "state",
        "loan_type",
        "disbursal_date",
        "created_at",
    )
    search_fields = (
        "mis_loan_id",
        "group_name",
        "loan_borrowers__borrower__mis_client_id",
        "loan_borrowers__borrower__last_name",
        "loan_borrowers__borrower__first_name",
    )
    list_select_related = ("partner", "created_by")
    # Explicit, so the loan autocomplete pages in a stable order; the index
    # (partner, created_at, id) serves it.
    ordering = ("-created_at", "-pk")
    inlines = (LoanBorrowerInline, ScheduleLineInline)
    readonly_fields = ("state", "version", "checks", "totals", *TRACKING)
    fieldsets = (
        (None, {"fields": ("partner", "mis_loan_id", "loan_type", "state", "version", "checks")}),
        (_("Group"), {"fields": ("group_name", "group_client_id")}),
        (
            _("Loan"),
            {
                "fields": (
                    "amount",
                    "currency",
                    "totals",
                    "disbursal_date",
                    "activity",
                    "theme",
                    "description_language",
                    "location",
                    "client_waiver_signed",
                )
            },
        ),
        (_("Profile"), {"fields": ("description", "loan_use", "photo")}),
        (_("Tracking"), {"fields": TRACKING, "classes": ("collapse",)}),
    )

    REFERENCE_FIELDS = ("activity", "theme", "description_language", "location")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name in self.REFERENCE_FIELDS and field is not None:
            # Kiva's current lists only; a loan keeps a value Kiva has since retired (the
            # checks warn about it) so that editing it does not fail on that field.
            current = Loan.objects.filter(
                pk=(request.resolver_match.kwargs.get("object_id") or 0)
            ).values_list(f"{db_field.name}_id", flat=True)
            field.queryset = field.queryset.filter(Q(retired=False) | Q(pk__in=current))
        return field

    def get_queryset(self, request):
        # A correlated subquery, not a JOIN with GROUP BY: PostgreSQL computes it for the
        # page's rows only, after the LIMIT, and counts never include it. A search on
        # borrowers' names cannot multiply it either.
        shares = (
            LoanBorrower.objects.filter(loan=OuterRef("pk"))
            .order_by()
            .values("loan")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(_borrower_count=Coalesce(Subquery(shares), 0))

    # Not sortable: sorting by it would compute it for every loan of the partner.
    @admin.display(description=_("borrowers"))
    def borrower_count(self, obj):
        return obj._borrower_count

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj):
        return f"{money_text(obj.amount, obj.currency)} {obj.currency}"

    @admin.display(description=_("totals"))
    def totals(self, obj):
        if obj.pk is None:
            return "-"
        shares = sum((s.amount for s in obj.loan_borrowers.all()), Decimal(0))
        lines = list(obj.schedule.all())
        rows = (
            (_("Borrowers' shares"), shares),
            (_("Schedule: principal"), sum((line.principal for line in lines), Decimal(0))),
            (_("Schedule: interest"), sum((line.interest for line in lines), Decimal(0))),
        )
        return format_html(
            '<table class="totals">{}</table><div class="help">{}</div>',
            format_html_join(
                "",
                '<tr><th scope="row">{}</th><td class="money">{} {}</td></tr>',
                ((label, money_text(value, obj.currency), obj.currency) for label, value in rows),
            ),
            _("As saved; the shares and the principal should each add up to the amount."),
        )

    @admin.display(description=_("checks"))
    def checks(self, obj):
        if obj.pk is None:
            return "-"
        return findings_html(loan_findings(obj))
