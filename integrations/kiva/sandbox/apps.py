from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KivaSandboxConfig(AppConfig):
    name = "integrations.kiva.sandbox"
    label = "kiva_sandbox"
    verbose_name = _("Kiva sandbox")
