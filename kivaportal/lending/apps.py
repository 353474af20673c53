from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LendingConfig(AppConfig):
    name = "kivaportal.lending"
    verbose_name = _("Borrowers and loans")
