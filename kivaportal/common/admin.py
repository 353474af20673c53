"""The admin's one scoping mechanism: every list, form, choice, search, autocomplete and
history page of a partner-owned model shows only the user's partners' records, and what a user
may do follows their role there (kivaportal.partners.roles).

A record of another partner is a 404 on every URL, never a redirect or a 403 that would tell
it exists.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.utils.translation import gettext
from simple_history.admin import SimpleHistoryAdmin

from kivaportal.common.photos import photo_copies_make
from kivaportal.common.scoping import scope_queryset
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import partner_ids_where, user_can

# Read-only tracking fields shown on every partner-owned record.
TRACKING = ("created_at", "created_by", "updated_at", "updated_by")


def partner_id_of(obj) -> int | None:
    """The id of the partner `obj` belongs to, following the model's `partner_path`."""
    path = obj.partner_path
    if path == "":
        return obj.pk
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop)
    return getattr(obj, f"{last}_id")


class ScopedFormfieldsMixin:
    """Foreign-key choices limited to the user's partners (and for a `partner` field, to the
    partners where the user may edit)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if hasattr(related, "partner_path") and "queryset" not in kwargs:
            queryset = scope_queryset(related._default_manager.all(), request.user)
            if db_field.name == "partner":
                allowed = partner_ids_where(request.user, self.edit_action)
                if allowed is not None:
                    queryset = queryset.filter(pk__in=allowed)
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class PartnerScopedAdmin(ScopedFormfieldsMixin, SimpleHistoryAdmin):
    # The role action needed to add or change records of this model.
    edit_action = Action.EDIT
    # Deleting records is for superusers only: records are withdrawn, not deleted.
    members_may_delete = False

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user)

    def has_module_permission(self, request):
        return user_can(request.user, Action.VIEW)

    def has_view_permission(self, request, obj=None):
        partner_id = None if obj is None else partner_id_of(obj)
        return user_can(request.user, Action.VIEW, partner_id)

    def has_add_permission(self, request):
        return user_can(request.user, self.edit_action)

    def has_change_permission(self, request, obj=None):
        if obj is not None and not getattr(obj, "is_editable", True):
            return False  # sent records are read-only; a correction is a new version
        partner_id = None if obj is None else partner_id_of(obj)
        return user_can(request.user, self.edit_action, partner_id)

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if not self.members_may_delete:
            return False
        partner_id = None if obj is None else partner_id_of(obj)
        return user_can(request.user, self.edit_action, partner_id)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the index with "doesn't exist"; for another partner's record that
        # would still differ from a 403. A plain 404 says nothing.
        raise Http404

    def _ensure_visible(self, request, object_id):
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            raise Http404

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Before Django's permission check, which would answer another partner's id with 403.
        self._ensure_visible(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._ensure_visible(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._ensure_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._ensure_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request, obj, form, change):
        if hasattr(obj, "updated_by_id"):
            if not change:
                obj.created_by = request.user
            obj.updated_by = request.user
        super().save_model(request, obj, form, change)
        if "photo" in form.changed_data and hasattr(obj, "photo_copies_of"):
            photo_copies_make(record=obj)


class ScopedInline(ScopedFormfieldsMixin):
    """Inline rows follow their parent: editable when the parent may be changed."""

    edit_action = Action.EDIT

    def _parent_editable(self, request, obj):
        if obj is None:
            return user_can(request.user, self.edit_action)
        if not getattr(obj, "is_editable", True):
            return False
        return user_can(request.user, self.edit_action, partner_id_of(obj))

    def has_view_permission(self, request, obj=None):
        partner_id = None if obj is None else partner_id_of(obj)
        return user_can(request.user, Action.VIEW, partner_id)

    def has_add_permission(self, request, obj=None):
        return self._parent_editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._parent_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._parent_editable(request, obj)


class LabelledInlineFormSet(BaseInlineFormSet):
    """A tabular inline labels its inputs only by the column headers, which screen readers do
    not tie to the inputs: each input gets its own name, the column's label and the row."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row = gettext("new row") if index is None else index + 1
        for field in form.fields.values():
            if not field.widget.is_hidden:
                field.widget.attrs["aria-label"] = f"{field.label} ({row})"


class ScopedTabularInline(ScopedInline, admin.TabularInline):
    formset = LabelledInlineFormSet


class ReadOnlyAdminMixin:
    """For records nobody edits or deletes through the portal, superusers included (the audit
    trail, what was sent to Kiva). Put it before PartnerScopedAdmin in the bases."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def history_view(self, request, object_id, extra_context=None):
        # These models keep no change history of their own: Django's plain history page.
        self._ensure_visible(request, object_id)
        return admin.ModelAdmin.history_view(self, request, object_id, extra_context)
