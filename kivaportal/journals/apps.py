from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JournalsConfig(AppConfig):
    name = "kivaportal.journals"
    verbose_name = _("Journals (borrower updates)")
