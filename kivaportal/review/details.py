"""What each kind of record's review page shows, beyond the record itself."""

from decimal import Decimal
from urllib.parse import urlencode

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
from kivaportal.repayments.selectors import (
    expected_in_month,
    report_line_count,
    report_lines,
    report_monthly_totals,
    report_totals,
)
from kivaportal.review.states import RecordState
from kivaportal.review.timeline import record_timeline

REPORT_LINES_PER_PAGE = 100


def _findings(findings):
    return {"errors": errors(findings), "warnings": warnings(findings)}


def detail_context(record, page_number=None, params=None) -> dict:
    """`params`: the page's query (a report's line search and filter)."""
    if isinstance(record, Loan):
        context = _loan_context(record)
    elif isinstance(record, RepaymentReport):
        context = _report_context(record, page_number, params or {})
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


def report_line_filters(params) -> dict:
    return {
        "search": (params.get("q") or "").strip()[:100] or None,
        "zero": params.get("zero") == "1",
    }


def _report_context(report, page_number, params):
    totals = report_totals(report)
    filters = report_line_filters(params)
    shown = report_line_count(report, **filters) if any(filters.values()) else totals.lines
    page = Paginator(range(shown), REPORT_LINES_PER_PAGE).get_page(page_number)
    lines = report_lines(
        report,
        offset=page.start_index() - 1 if shown else 0,
        limit=REPORT_LINES_PER_PAGE,
        **filters,
    )
    query = {k: v for k, v in (("q", filters["search"]), ("zero", "1" * filters["zero"])) if v}
    expected = expected_in_month(report, {line.loan_pk for line in lines})
    return {
        "lines_page": page,
        "lines": [(line, expected.get(line.loan_pk)) for line in lines],
        "lines_shown": shown,
        "line_filters": filters,
        "lines_query": urlencode(query),
        "totals": totals,
        "chart": _month_chart(report_monthly_totals(report), report.partner.default_currency),
        # Stored by the last check (see `record_recheck`): a month of 20,000 loans takes a
        # quarter of a second to check, too slow for every view of the page.
        **_findings(report.stored_findings if report.checked_at else report_findings(report)),
        "checked_at": report.checked_at,
        "timeline": record_timeline(report),
    }


CHART_WIDTH, CHART_HEIGHT, CHART_TOP = 600, 150, 16


def _month_chart(months, currency) -> dict:
    """Bars of an inline SVG (no script, no library): each month's total, the tallest bar the
    chart's height."""
    highest = max((total for _m, total in months), default=Decimal(0)) or Decimal(1)
    step = CHART_WIDTH / max(len(months), 1)
    bars = []
    for i, (month, total) in enumerate(months):
        height = float(total / highest) * (CHART_HEIGHT - CHART_TOP)
        bars.append(
            {
                "x": round(i * step + step * 0.15, 1),
                "width": round(step * 0.7, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "height": round(height, 1),
                "label_x": round(i * step + step / 2, 1),
                "month": month,
                "total": total,
            }
        )
    return {"bars": bars, "width": CHART_WIDTH, "height": CHART_HEIGHT, "currency": currency}
