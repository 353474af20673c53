"""Admin side of the review workflow: actions that call the same services as the review pages
(so four eyes and the audit apply here too), and a read-only audit trail."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kivaportal.common.admin import PARTNER_FILTER, PartnerScopedAdmin, ReadOnlyAdminMixin
from kivaportal.kinds import kind_of
from kivaportal.review import services
from kivaportal.review.bulk_jobs import bulk_approval_inline, bulk_approval_start
from kivaportal.review.deletion import delete_refusal
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import IllegalTransition, ReviewError
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.transitions import audit_record, record_recheck


def _run(modeladmin, request, queryset, service, done):
    ok = 0
    for record in queryset:
        try:
            service(record=record, by=request.user)
            ok += 1
        except ReviewError as refusal:
            modeladmin.message_user(request, f"{record}: {refusal.message}", messages.ERROR)
    if ok:
        modeladmin.message_user(request, done % {"n": ok}, messages.SUCCESS)


@admin.action(description=_("Submit selected for review"))
def submit_selected(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.record_submit, _("%(n)d submitted for review."))


@admin.action(description=_("Approve selected"))
def approve_selected(modeladmin, request, queryset):
    """At batch speed (`records_bulk_approve`), each record under the single approval's rules;
    a big selection as a job whose page shows its progress (`review.bulk_jobs`)."""
    ids = list(queryset.values_list("pk", flat=True))
    if not bulk_approval_inline(len(ids)):
        try:
            job = bulk_approval_start(model=queryset.model, ids=ids, by=request.user)
        except ReviewError as refusal:
            modeladmin.message_user(request, refusal.message, messages.ERROR)
            return None
        return redirect("review:bulk_approval", pk=job.pk)
    result = services.records_bulk_approve(records=queryset, by=request.user)
    for record, reason in result.refused:
        modeladmin.message_user(request, f"{record}: {reason}", messages.ERROR)
    if result.approved:
        modeladmin.message_user(
            request, _("%(n)d approved.") % {"n": len(result.approved)}, messages.SUCCESS
        )


class SentRecordsKeptMixin:
    """Records sent to Kiva, and their parts, are never deleted (kivaportal.review.deletion)."""

    def delete_refusal(self, obj):
        return delete_refusal(obj)


class ReviewableAdmin(SentRecordsKeptMixin, PartnerScopedAdmin):
    """Admin for reviewed records: content edits are noted by `record_edited` (which sends a
    record under review back to draft), and the workflow actions go through the services."""

    actions = (submit_selected, approve_selected)
    change_form_template = "admin/review/change_form.html"

    def review_url(self, obj):
        return reverse("review:record", args=[obj.partner_id, kind_of(obj).slug, obj.pk])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id) if object_id else None
        extra_context = {**(extra_context or {}), "review_url": obj and self.review_url(obj)}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            services.record_lock_for_edit(obj)
        super().save_model(request, obj, form, change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IllegalTransition as refusal:
            # The record moved on while the form was open (a worker took it for Kiva): nothing
            # was saved (`record_lock_for_edit`); the form opens again as it now is.
            self.message_user(request, refusal.message, messages.ERROR)
            return redirect(request.get_full_path())

    def response_change(self, request, obj):
        if "_review" in request.POST:
            return redirect(self.review_url(obj))
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        if "_review" in request.POST:
            return redirect(self.review_url(obj))
        return super().response_add(request, obj, post_url_continue)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        record = form.instance
        if change:
            changed = list(form.changed_data)
            for formset in formsets:
                if formset.has_changed():
                    changed.append(formset.model._meta.model_name)
            if changed:
                services.record_edited(record=record, by=request.user, changed_fields=changed)
        else:
            audit_record(
                record=record, actor=request.user, action=AuditAction.CREATED, to_state=record.state
            )
            record_recheck(record=record)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, PartnerScopedAdmin):
    """Nobody edits or deletes the audit trail, superusers included."""

    list_display = (
        "created_at",
        "partner",
        "content_type",
        "record_label",
        "record_version",
        "actor",
        "action",
        "from_state",
        "to_state",
    )
    list_filter = (
        PARTNER_FILTER,
        "action",
        "content_type",
        "created_at",
    )
    search_fields = ("record_label", "actor__username", "comment")
    list_select_related = ("partner", "content_type", "actor")
    # The comment as the reader reads it (a portal's comment in their language).
    exclude = ("comment",)
    readonly_fields = ("comment_shown",)

    @admin.display(description=_("comment"))
    def comment_shown(self, obj):
        return obj.comment_text
