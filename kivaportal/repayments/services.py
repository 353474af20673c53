"""Writes for repayments and their monthly reports."""

from datetime import date

from django.db import transaction

from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.repayments.models import RepaymentReport
from kivaportal.review.errors import NotAllowed
from kivaportal.review.services import audit_record, record_recheck


@transaction.atomic
def repayment_report_open(*, partner, month: date, by) -> tuple[RepaymentReport, bool]:
    """The partner's report for `month`, created as a draft if it does not exist yet."""
    if not user_can(by, Action.EDIT, partner.pk):
        raise NotAllowed(f"{by} may not prepare reports for {partner}")
    report, created = RepaymentReport.objects.get_or_create(
        partner=partner,
        month=month.replace(day=1),
        defaults={"created_by": by, "updated_by": by},
    )
    if created:
        audit_record(record=report, actor=by, action="created", to_state=report.state)
        record_recheck(record=report)
    return report, created
