from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    name = "kivaportal.pipeline"
    verbose_name = _("Sending to Kiva")

    def ready(self):
        from kivaportal.pipeline import tasks  # noqa: F401 - registers the tasks by name
