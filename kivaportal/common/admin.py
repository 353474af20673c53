"""The admin's one scoping mechanism: every list, form, choice, search, autocomplete and
history page of a partner-owned model shows only the user's partners' records, and what a user
may do follows their role there (kivaportal.partners.roles).

A record of another partner is a 404 on every URL, never a redirect or a 403 that would tell
it exists.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import DataError, models, transaction
from django.http import Http404, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from simple_history.admin import SimpleHistoryAdmin

from kivaportal.common.admin_forms import (
    LabelledInlineFormSet,
    PartnerAutocompleteSelect,
    PhotoInput,
    PortalModelForm,
    is_money,
)
from kivaportal.common.paging import LargeTablePaginator
from kivaportal.common.photos import photo_copies_make, photo_validate_size
from kivaportal.common.scoping import scope_queryset, user_partner_ids
from kivaportal.partners.models import Partner
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import partner_ids_where, user_can

# Read-only tracking fields shown on every partner-owned record.
TRACKING = ("created_at", "created_by", "updated_at", "updated_by")
# Fields only the portal writes (the workflow, the checks, the tracking): read-only in every
# admin form, whatever the model admin lists, so nobody backdates a record or hides its errors.
SYSTEM_FIELDS = (
    "state",
    "version",
    "state_changed_at",
    "check_errors",
    "check_warnings",
    "check_findings",
    "checked_at",
    *TRACKING,
)


def partner_id_of(obj) -> int | None:
    """The id of the partner `obj` belongs to, following the model's `partner_path`."""
    path = obj.partner_path
    if path == "":
        return obj.pk
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop)
    return getattr(obj, f"{last}_id")


# Set on the request by PartnerScopedAdmin.get_form: the partner of the record being edited
# (or, for a new record, the one chosen), which the form's and its inlines' choices follow.
RECORD_PARTNER = "record_partner_id"


def record_partner_id(request):
    return getattr(request, RECORD_PARTNER, None)


def parse_id(text: str) -> int | None:
    """A database id from a URL's text: ASCII digits within a bigint, or None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def autocomplete_partner_ids(request) -> frozenset[int] | None:
    """The partners an autocomplete request may answer for: the one `partner` it names (the
    user's scoping still applies: another partner's id finds nothing), else the user's only
    partner; none for a user of several partners who names none, a malformed one or two.
    None (no restriction) for a superuser who names none: superusers see every partner."""
    named = request.GET.getlist("partner")
    if named:
        partner_id = parse_id(named[0]) if len(named) == 1 else None
        return frozenset() if partner_id is None else frozenset({partner_id})
    ids = user_partner_ids(request.user)
    return ids if ids is None or len(ids) == 1 else frozenset()


def _partner_filter(model, partner_id) -> dict:
    path = model.partner_path
    return {"pk": partner_id} if path == "" else {path: partner_id}


class PartnerListFilter(admin.RelatedFieldListFilter):
    """The partner filter's choices: the user's partners, read from the partner table.

    Django's RelatedOnlyFieldListFilter asks the listed table for its distinct partners, a scan
    of every row on each page view."""

    def field_choices(self, field, request, model_admin):
        from kivaportal.partners.models import Partner

        partners = Partner.objects.order_by("name")
        ids = user_partner_ids(request.user)
        if ids is not None:
            partners = partners.filter(pk__in=ids)
        return [(p.pk, str(p)) for p in partners]


# The partner filter of every partner-owned list.
PARTNER_FILTER = ("partner", PartnerListFilter)


class ScopedFormfieldsMixin:
    """Foreign-key choices limited to the user's partners (and for a `partner` field, to the
    partners where the user may edit) and, for a record's links, to the *record's* partner
    once it is known: a Peru loan never offers Senegal's locations, nor anyone else's
    borrowers, and a user in two partners never links one partner's rows to the other's (the
    model's `clean()` and, on PostgreSQL, the database refuse it too)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if hasattr(related, "partner_path") and "queryset" not in kwargs:
            queryset = scope_queryset(related._default_manager.all(), request.user)
            if db_field.name == "partner":
                allowed = partner_ids_where(request.user, self.edit_action)
                if allowed is not None:
                    queryset = queryset.filter(pk__in=allowed)
            partner_id = record_partner_id(request)
            if partner_id is None and db_field.name != "partner":
                partner_id = self._record_partner_id(request)
            if partner_id is not None:
                queryset = queryset.filter(**_partner_filter(related, partner_id))
                if db_field.name in self.get_autocomplete_fields(request):
                    kwargs.setdefault(
                        "widget",
                        PartnerAutocompleteSelect(
                            db_field, self.admin_site, using=kwargs.get("using"), partner=partner_id
                        ),
                    )
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _record_partner_id(self, request) -> int | None:
        """The partner of the record the form edits: the one in the URL (the parent's, for an
        inline), or on an add form the partner posted with it. None when not known yet."""
        cache = getattr(request, "_record_partner_ids", None)
        if cache is None:
            cache = request._record_partner_ids = {}
        owner = getattr(self, "parent_model", None) or self.model
        if owner not in cache:
            cache[owner] = self._find_record_partner_id(request, owner)
        return cache[owner]

    @staticmethod
    def _find_record_partner_id(request, owner) -> int | None:
        match = getattr(request, "resolver_match", None)
        object_id = match.kwargs.get("object_id") if match else None
        if object_id is not None:
            try:
                obj = owner._default_manager.filter(pk=unquote(object_id)).first()
            except (ValueError, ValidationError, OverflowError):
                return None
            return None if obj is None else partner_id_of(obj)
        if request.method == "POST" and "partner" in {f.name for f in owner._meta.fields}:
            return parse_id(request.POST.get("partner", ""))
        return None

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.ImageField) and db_field.name == "photo":
            kwargs["widget"] = PhotoInput
            field = super().formfield_for_dbfield(db_field, request, **kwargs)
            field.validators.append(photo_validate_size)
            return field
        if is_money(db_field):
            # A text input: a number input refuses the decimal comma of Spanish and French.
            kwargs["localize"] = True
            kwargs["widget"] = forms.TextInput(
                attrs={"class": "money", "inputmode": "decimal", "size": 12}
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class PartnerScopedAdmin(ScopedFormfieldsMixin, SimpleHistoryAdmin):
    form = PortalModelForm
    # Lists cost the same at any size: counts are exact up to 10,000 rows and estimated above
    # (kivaportal/common/paging.py), and no second count of the unfiltered list. Lists also
    # use no date_hierarchy: its year and month links need a DISTINCT over every row (the
    # date filters in list_filter give the usual ranges without a query).
    paginator = LargeTablePaginator
    show_full_result_count = False
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

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        names = {f.name for f in self.model._meta.fields if f.editable}
        return fields + [f for f in SYSTEM_FIELDS if f in names and f not in fields]

    def delete_refusal(self, obj) -> str | None:
        """Why `obj` may never be deleted, superusers included (None: it may be). The admins of
        records sent to Kiva, and of their parts, say why (kivaportal.review.admin)."""
        return None

    def has_delete_permission(self, request, obj=None):
        if obj is not None and self.delete_refusal(obj):
            return False  # sent to Kiva: never deleted, superusers included
        if request.user.is_superuser:
            return True
        if not self.members_may_delete:
            return False
        partner_id = None if obj is None else partner_id_of(obj)
        return user_can(request.user, self.edit_action, partner_id)

    def get_deleted_objects(self, objs, request):
        # The bulk "delete selected" action checks no object's permission: a record sent to
        # Kiva is listed as protected, and Django then deletes nothing.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        refusals = [r for r in (self.delete_refusal(obj) for obj in objs) if r]
        if refusals:
            # The reasons first, instead of "no permission to delete loans" (the sent ones
            # have none): either way nothing is deleted.
            return deleted, counts, set(), [*refusals, *protected]
        return deleted, counts, perms_needed, protected

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the index with "doesn't exist"; for another partner's record that
        # would still differ from a 403. A plain 404 says nothing.
        raise Http404

    def _ensure_visible(self, request, object_id):
        # `get_object` answers None for an id of the wrong type ("abc", "1.5", out of range),
        # as for another partner's id: both are a 404, never a 500.
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404

    def get_object(self, request, object_id, from_field=None):
        try:
            return super().get_object(request, object_id, from_field)
        except (OverflowError, DataError):
            return None

    def get_changelist_instance(self, request):
        # Malformed filters (a NUL byte, a year out of range, a text where a number goes)
        # fail when the list is counted, inside ChangeList; Django answers its own
        # IncorrectLookupParameters with the list without filters (?e=1), so turn them into it.
        # The savepoint keeps a PostgreSQL error from aborting the request's transaction.
        try:
            with transaction.atomic():
                return super().get_changelist_instance(request)
        except (ValueError, ValidationError, OverflowError, DataError) as exc:
            raise IncorrectLookupParameters(exc) from exc

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
        # An old version is shown, never saved back: django-simple-history's setting hides the
        # revert button but still saves a POST, with the old state and no role check (an
        # approval restored over edited parts, four eyes turned off on a partner).
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        self._ensure_visible(request, object_id)
        if not str(version_id).isdigit() or int(version_id) > 2**63 - 1:
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _owns_partner_field(self):
        return any(f.name == "partner" for f in self.model._meta.fields)

    def record_partner(self, request, obj=None) -> int | None:
        """The partner whose records the form's choices come from: the record's own; for a new
        record the one chosen (`?partner=`, or the form's posted value), or the only one the
        user may add records to."""
        if obj is not None:
            return partner_id_of(obj)
        if not self._owns_partner_field():
            return None
        chosen = parse_id(request.POST.get("partner") or request.GET.get("partner") or "")
        if chosen is not None:
            return chosen
        allowed = partner_ids_where(request.user, self.edit_action)
        if allowed is not None and len(allowed) == 1:
            return next(iter(allowed))
        return None

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "autocomplete":
            # An autocomplete box answers with one partner's rows: the record's, which its
            # widget names (`?partner=`, PartnerAutocompleteSelect). Without it, or with a
            # malformed or repeated one, a member of several partners gets nothing, never
            # every partner's rows.
            partner_ids = autocomplete_partner_ids(request)
            if partner_ids is not None:
                if not partner_ids:
                    return queryset.none(), False
                (partner_id,) = partner_ids
                queryset = queryset.filter(**_partner_filter(self.model, partner_id))
        return queryset, may_have_duplicates

    def get_form(self, request, obj=None, change=False, **kwargs):
        setattr(request, RECORD_PARTNER, self.record_partner(request, obj))
        return super().get_form(request, obj, change, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        # With several partners, the partner comes first: the choices depend on it.
        if (
            request.method == "GET"
            and self.has_add_permission(request)
            and self._owns_partner_field()
            and self.record_partner(request) is None
        ):
            return self.partner_choice_view(request)
        return super().add_view(request, form_url, extra_context)

    def partner_choice_view(self, request):
        partners = Partner.objects.for_user(request.user).filter(is_active=True)
        allowed = partner_ids_where(request.user, self.edit_action)
        if allowed is not None:
            partners = partners.filter(pk__in=allowed)
        query = request.GET.copy()
        choices = []
        for partner in partners.order_by("name"):
            query["partner"] = partner.pk
            choices.append((partner, query.urlencode()))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Add %(name)s") % {"name": self.model._meta.verbose_name},
            "choices": choices,
        }
        return TemplateResponse(request, "admin/choose_partner.html", context)

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


class ScopedTabularInline(ScopedInline, admin.TabularInline):
    form = PortalModelForm
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
