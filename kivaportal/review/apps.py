from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    name = "kivaportal.review"
    verbose_name = _("Review")

    def ready(self):
        from kivaportal.review import tasks  # noqa: F401 - registers the tasks by name
