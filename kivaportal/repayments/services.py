"""Writes for repayments and their monthly reports."""

from datetime import date

from django.db import transaction

from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.repayments.line_store import partner_report_lines_enqueue, report_charts_enqueue
from kivaportal.repayments.models import RepaymentReport, SentRepaymentLoan
from kivaportal.repayments.selectors import loans_by_sent_id
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import NotAllowed
from kivaportal.workflow.transitions import audit_record, record_data_changed, record_recheck


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
        audit_record(record=report, actor=by, action=AuditAction.CREATED, to_state=report.state)
        record_recheck(record=report)
    return report, created


def repayment_reports_touched(*, partner, dates, by=None, data=None):
    """Repayments dated on `dates` were imported or changed: the reports of those months learn
    it (see `record_data_changed`)."""
    months = {d.replace(day=1) for d in dates}
    for report in RepaymentReport.objects.filter(partner=partner, month__in=months):
        # Checked again: its stored lines are computed again after the commit (line_store).
        record_data_changed(record=report, by=by, reason="repayments_changed", data=data)
    report_charts_enqueue(partner_id=partner.pk, months=months)


def repayment_edited(*, repayment, by, dates, changed_fields):
    """A repayment was changed or deleted by a person (the admin): the reports of its months
    (`dates`: before and after the change) learn it, each with an audit entry naming the part
    and the person (see `record_data_changed`). Call in the same transaction."""
    repayment_reports_touched(
        partner=repayment.partner,
        dates=[d for d in dates if d],
        by=by,
        data={
            "part": "repayment",
            "repayment": repayment.mis_repayment_id,
            "fields": sorted(changed_fields),
        },
    )


def report_loans_sent(*, report_id, loan_ids, refused=()):
    """Kiva took a chunk of a report: record its loans (by the `loan_id`s the chunk sent,
    less those Kiva `refused`) as reported for the report's month. Idempotent; one query to
    match, one to insert. Call in the transaction that writes the chunk's outcome."""
    report = RepaymentReport.objects.only("partner_id", "month").get(pk=report_id)
    taken = {str(i) for i in loan_ids} - {str(i) for i in refused}
    loans = set(loans_by_sent_id(report.partner_id, taken).values())
    SentRepaymentLoan.objects.bulk_create(
        [
            SentRepaymentLoan(
                partner_id=report.partner_id, loan_id=loan, report_id=report_id, month=report.month
            )
            for loan in sorted(loans)
        ],
        ignore_conflicts=True,
    )
    # Later months' lines say "reported before", and expect these loans.
    partner_report_lines_enqueue(partner_id=report.partner_id, after=report.month)
