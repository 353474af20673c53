from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from integrations.mis.models import ImportKind

ENCODING_CHOICES = [
    ("auto", _("Detect (UTF-8, else Windows-1252)")),
    ("utf-8", "UTF-8"),
    ("windows-1252", "Windows-1252"),
    ("latin-1", "Latin-1 (ISO-8859-1)"),
]


class UploadForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=None, label=_("Partner"))
    kind = forms.ChoiceField(choices=ImportKind.choices, label=_("What the file holds"))
    file = forms.FileField(
        label=_("File (CSV or .xlsx)"),
        help_text=_("For loans as .xlsx: one workbook with sheets loans, borrowers, schedule."),
    )
    members_file = forms.FileField(
        label=_("Loans only: borrowers in each loan (CSV)"), required=False
    )
    schedule_file = forms.FileField(label=_("Loans only: schedule lines (CSV)"), required=False)
    photos_file = forms.FileField(
        label=_("Loans only: photos (.zip)"),
        required=False,
        help_text=_("The JPEG or PNG files the loans' photo column names, in one .zip."),
    )
    encoding = forms.ChoiceField(choices=ENCODING_CHOICES, initial="auto", label=_("Encoding"))

    def __init__(self, *args, partners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners
        if partners.count() == 1:
            self.fields["partner"].initial = partners.first()

    def clean(self):
        data = super().clean()
        limit = settings.INTAKE_UPLOAD_MAX_BYTES
        for name in ("file", "members_file", "schedule_file", "photos_file"):
            upload = data.get(name)
            if upload and upload.size > limit:
                self.add_error(name, _("The file is larger than %(n)d bytes.") % {"n": limit})
            if upload and upload.name.lower().endswith(".xls"):
                self.add_error(name, _("Old .xls files are not read: save as .xlsx or CSV."))
        photos = data.get("photos_file")
        if photos and not photos.name.lower().endswith(".zip"):
            self.add_error("photos_file", _("The photos must come as one .zip file."))
        if data.get("kind") != ImportKind.LOANS:
            for name in ("members_file", "schedule_file", "photos_file"):
                if data.get(name):
                    self.add_error(name, _("Only for loans."))
        return data
