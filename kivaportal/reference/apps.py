from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferenceConfig(AppConfig):
    name = "kivaportal.reference"
    verbose_name = _("Kiva reference data")
