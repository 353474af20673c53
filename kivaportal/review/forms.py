from django import forms
from django.utils.translation import gettext_lazy as _

from kivaportal.lending.models import KivaStatus
from kivaportal.lending.selectors import NO_LONGER_LISTED, NOT_LISTED
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.states import RecordState


class QueueFilterForm(forms.Form):
    YES_NO = (("", _("Any")), ("1", _("Yes")), ("0", _("No")))

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Borrower name, MIS loan or client id")}
        ),
    )
    activity = forms.TypedChoiceField(
        label=_("Activity"), required=False, coerce=int, empty_value=None
    )
    location = forms.TypedChoiceField(
        label=_("Location"), required=False, coerce=int, empty_value=None
    )
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any"))] + RecordState.choices
    )
    preparer = forms.TypedChoiceField(
        label=_("Preparer"), required=False, coerce=int, empty_value=None
    )
    since = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Created until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    warnings = forms.ChoiceField(label=_("Has warnings"), required=False, choices=YES_NO)
    errors = forms.ChoiceField(label=_("Has errors"), required=False, choices=YES_NO)
    kiva_status = forms.ChoiceField(
        label=_("At Kiva"),
        required=False,
        choices=[
            ("", _("Any")),
            *KivaStatus.choices,
            (NOT_LISTED, _("Not listed by Kiva")),
            (NO_LONGER_LISTED, _("No longer listed by Kiva")),
        ],
    )

    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, preparers=(), activities=None, locations=None, kiva=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preparer"].choices = [("", _("Anyone"))] + [
            (user.pk, user.get_full_name() or user.username) for user in preparers
        ]
        # Activity and location: loans only, from the partner's own lists.
        for name, values in (("activity", activities), ("location", locations)):
            if values is None:
                del self.fields[name]
            else:
                self.fields[name].choices = [("", _("Any"))] + [(v.pk, str(v)) for v in values]
        if not kiva:  # only loans have a status at Kiva
            del self.fields["kiva_status"]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data

        def flag(value):
            return None if value in ("", None) else value == "1"

        return {
            "q": data["q"].strip() or None,
            "activity": data.get("activity"),
            "location": data.get("location"),
            "sort": data["sort"] or None,
            "state": data["state"] or None,
            "preparer": data["preparer"],
            "since": data["since"],
            "until": data["until"],
            "warnings": flag(data["warnings"]),
            "errors": flag(data["errors"]),
            **({"kiva_status": data["kiva_status"] or None} if "kiva_status" in data else {}),
        }


class AuditFilterForm(forms.Form):
    partner = forms.TypedChoiceField(
        label=_("Partner"), required=False, coerce=int, empty_value=None
    )
    user = forms.CharField(label=_("User"), required=False)
    record_type = forms.ChoiceField(label=_("Record type"), required=False)
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("Any")), *AuditAction.choices]
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, partners=(), record_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [("", _("All my partners"))] + [
            (p.pk, p.name) for p in partners
        ]
        self.fields["record_type"].choices = [("", _("Any"))] + list(record_types)
