from datetime import date

import pytest

from kivaportal.repayments.services import repayment_reports_touched
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from tests.factories import PartnerFactory, RepaymentReportFactory


@pytest.mark.django_db
def test_changed_repayments_send_a_report_under_review_back_to_draft_and_check_it_again():
    partner = PartnerFactory()
    report = RepaymentReportFactory(partner=partner, month=date(2026, 2, 1), state=S.SUBMITTED)
    other = RepaymentReportFactory(partner=partner, month=date(2026, 3, 1), state=S.SUBMITTED)
    repayment_reports_touched(partner=partner, dates={date(2026, 2, 14)}, data={"job": 1})
    report.refresh_from_db()
    other.refresh_from_db()
    assert (report.state, other.state) == (S.DRAFT, S.SUBMITTED)
    assert report.checked_at is not None
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.data) == (
        "review.returned_to_draft",
        {"job": 1, "reason": "repayments_changed"},
    )


@pytest.mark.django_db
def test_changed_repayments_of_a_sent_report_are_noted_for_a_new_version():
    partner = PartnerFactory()
    report = RepaymentReportFactory(partner=partner, month=date(2026, 2, 1), state=S.SENT)
    repayment_reports_touched(partner=partner, dates={date(2026, 2, 14)})
    report.refresh_from_db()
    assert report.state == S.SENT
    assert AuditEntry.objects.get().action == "review.data_changed"
