from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MisConfig(AppConfig):
    name = "integrations.mis"
    label = "mis"
    verbose_name = _("MIS intake")
