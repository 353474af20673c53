from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RepaymentsConfig(AppConfig):
    name = "kivaportal.repayments"
    verbose_name = _("Repayments")

    def ready(self):
        from kivaportal.lending.signals import loan_data_changed_signal
        from kivaportal.repayments import tasks  # noqa: F401 - registers the tasks by name
        from kivaportal.repayments.line_store import on_loan_data_changed, on_record_checked
        from kivaportal.workflow.signals import record_checked

        record_checked.connect(on_record_checked, dispatch_uid="repayments.record_checked")
        loan_data_changed_signal.connect(
            on_loan_data_changed, dispatch_uid="repayments.loan_data_changed"
        )
