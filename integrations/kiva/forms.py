"""The connection form: the client secret is write-only."""

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.kiva.models import KivaConnection
from integrations.kiva.services import SECRET_BOUND_FIELDS


class KivaConnectionForm(forms.ModelForm):
    # Never rendered with a value: the secret goes in, it never comes back out.
    client_secret = forms.CharField(
        label=_("client secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Write-only. Leave empty to keep the stored secret."),
    )

    token_url = forms.URLField(label=_("token URL"), max_length=300, assume_scheme="https")
    api_base_url = forms.URLField(
        label=_("API base URL"),
        max_length=300,
        assume_scheme="https",
        help_text=_("Without the /v3/partner/... part."),
    )

    class Meta:
        model = KivaConnection
        fields = [
            "partner",
            "environment",
            "token_url",
            "api_base_url",
            "audience",
            "client_id",
            "client_secret",
            "kiva_partner_id",
            "scopes",
            "journal_path",
            "journal_body_style",
            "image_data_uri",
            "repayment_batch_size",
            "connect_timeout",
            "read_timeout",
            "is_active",
        ]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("client_secret") and not self.instance.has_secret:
            self.add_error("client_secret", _("A client secret is required."))
        elif not cleaned.get("client_secret"):
            # `self.instance` holds the edits by now (ModelForm's _post_clean runs after).
            moved = [f for f in SECRET_BOUND_FIELDS if f in self.changed_data]
            if moved and self.instance.pk is not None:
                self.add_error(
                    "client_secret",
                    _(
                        "Enter the client secret again to change %(fields)s: the secret goes to "
                        "the token URL, and tokens to the API URL."
                    )
                    % {"fields": ", ".join(str(self.fields[f].label) for f in moved)},
                )
        return cleaned

    # Saved by `connection_save` (see KivaConnectionAdmin.save_model), which sets the secret
    # and audits the change.
