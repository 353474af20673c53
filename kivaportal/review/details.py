"""What each kind of record's review page shows, beyond the record itself."""

from decimal import Decimal

from django.core.paginator import Paginator
from django.utils.translation import gettext as _

from integrations.kiva.diff import changes_since_sent
from integrations.kiva.preview import payload_preview
from integrations.kiva.selectors import record_submissions
from kivaportal.common.checks import errors, warnings
from kivaportal.journals.checks import journal_findings
from kivaportal.lending.checks import loan_findings
from kivaportal.lending.models import Loan, LoanBorrower, ScheduleLine
from kivaportal.repayments.checks import report_findings
from kivaportal.repayments.models import RepaymentReport
from kivaportal.repayments.selectors import report_lines, report_totals
from kivaportal.review.states import RecordState
from kivaportal.review.timeline import record_timeline

REPORT_LINES_PER_PAGE = 100


def _findings(findings):
    return {"errors": errors(findings), "warnings": warnings(findings)}


def detail_context(record, page_number=None) -> dict:
    if isinstance(record, Loan):
        context = _loan_context(record)
    elif isinstance(record, RepaymentReport):
        context = _report_context(record, page_number)
    else:
        context = {**_findings(journal_findings(record)), "timeline": record_timeline(record)}
    totals = context.get("totals")
    if record.state != RecordState.SENT:
        # A sent record shows what was sent (its submissions), not what would be sent now.
        context["payload"] = payload_preview(record, line_count=totals.lines if totals else None)
    context["submissions"] = record_submissions(record)
    if record.version > 1:
        context["since_sent"] = changes_since_sent(record)
    return context


def _loan_context(loan):
    shares = list(loan.loan_borrowers.all())
    schedule = list(loan.schedule.all())
    related = (
        (
            LoanBorrower.history.filter(loan_id=loan.pk).select_related("borrower"),
            lambda row: _("Borrower %(name)s, share %(amount)s")
            % {"name": row.borrower.full_name, "amount": row.amount},
        ),
        (
            ScheduleLine.history.filter(loan_id=loan.pk),
            lambda row: _("Instalment %(date)s: %(principal)s + %(interest)s")
            % {"date": row.due_date, "principal": row.principal, "interest": row.interest},
        ),
    )
    return {
        "shares": shares,
        "schedule": schedule,
        "shares_total": sum((s.amount for s in shares), Decimal(0)),
        "principal_total": sum((line.principal for line in schedule), Decimal(0)),
        "interest_total": sum((line.interest for line in schedule), Decimal(0)),
        **_findings(loan_findings(loan)),
        "timeline": record_timeline(loan, related=related),
    }


def _report_context(report, page_number):
    totals = report_totals(report)
    page = Paginator(range(totals.lines), REPORT_LINES_PER_PAGE).get_page(page_number)
    lines = report_lines(
        report, offset=page.start_index() - 1 if totals.lines else 0, limit=REPORT_LINES_PER_PAGE
    )
    return {
        "lines_page": page,
        "lines": lines,
        "totals": totals,
        # Stored by the last check (see `record_recheck`): a month of 20,000 loans takes a
        # quarter of a second to check, too slow for every view of the page.
        **_findings(report.stored_findings if report.checked_at else report_findings(report)),
        "checked_at": report.checked_at,
        "timeline": record_timeline(report),
    }
