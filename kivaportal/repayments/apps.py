from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RepaymentsConfig(AppConfig):
    name = "kivaportal.repayments"
    verbose_name = _("Repayments")
