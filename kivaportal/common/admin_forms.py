"""The admin's forms and widgets as staff need them: amounts in the currency's precision and
the user's language, a photo with its preview, autocomplete boxes that ask for the record's
partner's rows, and tabular inlines whose every input has a name (kivaportal.common.admin puts
them to use)."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AdminFileWidget, AutocompleteSelect
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext

from kivaportal.common.money import MONEY_DECIMAL_PLACES, quantize


def money_currency(instance) -> str | None:
    """The currency a record's amounts are in: its own, or its loan's."""
    currency = getattr(instance, "currency", None)
    if currency:
        return currency
    if getattr(instance, "loan_id", None) is not None:
        return instance.loan.currency
    return None


def is_money(db_field) -> bool:
    return isinstance(db_field, models.DecimalField) and (
        db_field.decimal_places == MONEY_DECIMAL_PLACES
    )


class PartnerAutocompleteSelect(AutocompleteSelect):
    """An autocomplete box that asks only for the record's partner's rows (see
    `PartnerScopedAdmin.get_search_results`); the form's choices refuse any other anyway."""

    def __init__(self, *args, partner, **kwargs):
        super().__init__(*args, **kwargs)
        self.partner = partner

    def get_url(self):
        return f"{super().get_url()}?partner={self.partner}"


class PhotoInput(AdminFileWidget):
    """The admin's file input with a preview of the photo (its page-size copy)."""

    # In an app's templates: the form renderer does not read the project's templates folder.
    template_name = "common/widgets/photo_input.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["max_mb"] = f"{settings.PORTAL_PHOTO_MAX_MB:g}"
        return context


class PortalModelForm(forms.ModelForm):
    """Amounts shown with their currency's decimals in the user's language (800,00 in Spanish,
    not 800.000), and typed the same way."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        currency = money_currency(self.instance)
        if currency is None:
            return
        for name, field in self.fields.items():
            value = self.initial.get(name)
            if isinstance(field, forms.DecimalField) and isinstance(value, Decimal):
                self.initial[name] = quantize(value, currency)


class LabelledInlineFormSet(BaseInlineFormSet):
    """A tabular inline labels its inputs only by the column headers, which screen readers do
    not tie to the inputs: each input gets its own name, the column's label and the row."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row = gettext("new row") if index is None else index + 1
        for field in form.fields.values():
            if not field.widget.is_hidden:
                field.widget.attrs["aria-label"] = f"{field.label} ({row})"
