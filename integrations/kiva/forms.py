"""The connection form: the client secret is write-only."""

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.kiva.models import KivaConnection


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
        return cleaned

    def save(self, commit=True):
        secret = self.cleaned_data.get("client_secret")
        if secret:
            self.instance.set_client_secret(secret)
        return super().save(commit=commit)
