from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KivaConfig(AppConfig):
    name = "integrations.kiva"
    label = "kiva"
    verbose_name = _("Kiva connection")

    def ready(self):
        from integrations.kiva import checks  # noqa: F401 - registers the system checks
