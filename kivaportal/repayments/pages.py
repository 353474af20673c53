"""What a repayment report's review page reads: its lines as computed once and kept
(`ReportLineStore`, `StoredReportLine`: kivaportal/repayments/line_store.py), searched,
filtered and paged with indexes; its totals and the 12 months' chart kept beside them. The
page never computes a big report's lines: stale, it shows them as they were computed, and
when, while the task computes them again. A page costs the same few queries at 20 or 20,000
lines (docs/performance.md).
"""

from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from kivaportal.common.money import quantize
from kivaportal.repayments.line_store import report_line_store
from kivaportal.repayments.models import RepaymentReport, ReportLineStore, StoredReportLine
from kivaportal.repayments.selectors import (
    ReportLine,
    ReportTotals,
    expected_in_month,
    in_month,
)

REPORT_LINES_PER_PAGE = 100
# The first page reads this many lines, enough for the payload preview's first call too (a
# Kiva call takes at most 300: MAX_REPAYMENT_BATCH in integrations/kiva/connection_models.py;
# the preview reads its own lines when these are too few).
FIRST_LINES = 300


def report_line_filters(params) -> dict:
    """A report page's line search (`q`) and filters from its query: `zero=1` nothing repaid,
    `warnings=1` lines of loans a check names, `problems=1` lines Kiva reported a problem on
    (`problem_loans`: the loan ids of those problems, given by the caller that reads them)."""
    return {
        "search": (params.get("q") or "").strip()[:100] or None,
        "zero": params.get("zero") == "1",
        "warnings": params.get("warnings") == "1",
        "problems": params.get("problems") == "1",
    }


def _stored_totals(store: ReportLineStore) -> ReportTotals:
    data = store.totals
    return ReportTotals(
        lines=data["lines"],
        transactions=data["transactions"],
        period_amount=Decimal(data["period_amount"]),
        amount=Decimal(data["amount"]),
        expected=data["expected"],
        zero_lines=data["zero_lines"],
        left_out=data["left_out"],
        unexpected=data["unexpected"],
    )


def stored_lines(report, filters: dict, problem_loans=()):
    """The report's stored lines narrowed by the page's filters, in report order."""
    rows = StoredReportLine.objects.filter(report=report)
    if filters.get("zero"):
        rows = rows.filter(nothing_repaid=True)
    if filters.get("warnings"):
        rows = rows.filter(warned=True)
    if filters.get("problems"):
        rows = rows.filter(mis_loan_id__in=sorted(set(problem_loans)))
    for word in (filters.get("search") or "").lower().split():
        rows = rows.filter(search__contains=word)
    return rows.order_by("position")


LINE_FIELDS = (
    "loan_id",
    "mis_loan_id",
    "client_id",
    "currency",
    "amount",
    "period_amount",
    "transactions",
    "principal_unknown",
    "kiva_status",
    "sent_before",
)


def _lines(rows) -> list[ReportLine]:
    """Stored rows as `ReportLine`s (read as tuples: no model instances for 300 rows)."""
    return [
        ReportLine(
            loan_pk=loan_pk,
            mis_loan_id=mis_loan_id,
            client_id=client_id,
            amount=quantize(amount, currency),
            period_amount=quantize(period_amount, currency),
            transactions=transactions,
            principal_unknown=principal_unknown,
            kiva_status=kiva_status,
            sent_before=sent_before,
            currency=currency,
        )
        for (
            loan_pk,
            mis_loan_id,
            client_id,
            currency,
            amount,
            period_amount,
            transactions,
            principal_unknown,
            kiva_status,
            sent_before,
        ) in rows.values_list(*LINE_FIELDS)
    ]


def report_stored_lines(report, params=None, problem_loans=()) -> list[ReportLine] | None:
    """Every line of the report the page's filters keep (the CSV download); None while they
    are being computed (stale or never computed: the task is enqueued)."""
    state = report_line_store(report)
    if not state.fresh:
        return None
    filters = report_line_filters(params or {})
    return _lines(stored_lines(report, filters, problem_loans))


def _display_rows(pairs, currency) -> list[dict]:
    """A page's lines as the template shows them, formatted here once: a 100-line page is
    400 amounts, and formatting them through template filters took most of the page's time."""
    from kivaportal.common.money import money_text
    from kivaportal.lending.models import KivaStatus

    labels = dict(KivaStatus.choices)
    not_listed = format_html('<span class="muted">{}</span>', _("not listed"))
    before = format_html(' <span class="muted">{}</span>', _("reported before"))
    zero = format_html(' <span class="state">{}</span>', _("zero line"))
    unexpected = format_html(
        ' <span class="state state-needs_attention">{}</span>', _("not expected by Kiva")
    )
    rows = []
    for line, due in pairs:
        status = (
            conditional_escape(labels.get(line.kiva_status, line.kiva_status))
            if line.kiva_status
            else not_listed
        )
        badge = zero if line.zero else ("" if line.expected else unexpected)
        rows.append(
            {
                "line": line,
                "due": money_text(due, currency),
                "repaid": money_text(line.period_amount, currency),
                "amount": money_text(line.amount, currency),
                "differs": due is not None and due != line.period_amount,
                "status": mark_safe(status + (before if line.sent_before else "") + badge),  # noqa: S308 - built from escaped parts
            }
        )
    return rows


def _pending_totals(report: RepaymentReport) -> dict:
    """What a report never computed can say cheaply: its month's repayment transactions and
    their sum, before loans Kiva shows ended or refunded are left out (one aggregate)."""
    month = in_month(report).aggregate(n=Count("id"), total=Sum("amount"))
    return {"transactions": month["n"], "repaid": month["total"] or Decimal("0")}


def report_page(report: RepaymentReport, page_number=None, params=None) -> dict:
    """What a report's review page shows: its totals, one page of its lines (searched and
    filtered by `params`, each with what the loan's schedule says is due in the month), the
    last 12 months' totals, and the findings of its last check (see `record_recheck`: a month
    of 20,000 loans takes a quarter of a second to check, too slow for every view).
    `params["problem_loans"]`: the loan ids Kiva reported problems on (the caller reads them).

    The lines as stored: `lines_fresh` False, they are being computed again (the page says
    since when they are as shown: `lines_computed_at`); `lines_pending`, they never were, and
    the page shows only `pending_totals`."""
    from kivaportal.repayments.chart import month_chart

    params = params or {}
    state = report_line_store(report)
    findings = report.stored_findings if report.checked_at else report.findings()
    filters = report_line_filters(params)
    if state.store is None:
        return {
            "lines_pending": True,
            "lines_fresh": False,
            "pending_totals": _pending_totals(report),
            "line_filters": filters,
            "findings": findings,
            "checked_at": report.checked_at,
        }
    store = state.store
    totals = _stored_totals(store)
    filtered = any(filters.values())
    rows = stored_lines(report, filters, params.get("problem_loans") or ())
    shown = rows.count() if filtered else totals.lines
    page = Paginator(range(shown), REPORT_LINES_PER_PAGE).get_page(page_number)
    offset = page.start_index() - 1 if shown else 0
    if offset == 0 and not filtered:  # the page's lines and the preview's in one query
        first_lines = _lines(rows[: max(FIRST_LINES, REPORT_LINES_PER_PAGE)])
        lines = first_lines[:REPORT_LINES_PER_PAGE]
    else:
        if filtered:
            rows = rows[offset : offset + REPORT_LINES_PER_PAGE]
        else:  # positions run 0..n-1: the page is a range of the index, not an OFFSET
            rows = rows.filter(position__gte=offset, position__lt=offset + REPORT_LINES_PER_PAGE)
        lines = _lines(rows)
        # The payload preview's first call, from the stored lines too (fresh ones only).
        first_lines = _lines(stored_lines(report, {})[:FIRST_LINES]) if state.fresh else None
    expected = expected_in_month(report, {line.loan_pk for line in lines})
    query = {
        key: value
        for key, value in (
            ("q", filters["search"]),
            ("zero", "1" * filters["zero"]),
            ("warnings", "1" * filters["warnings"]),
            ("problems", "1" * filters["problems"]),
        )
        if value
    }
    chart = [(date.fromisoformat(m), Decimal(t)) for m, t in store.totals["chart"]]
    pairs = [(line, expected.get(line.loan_pk)) for line in lines]
    return {
        "lines_pending": False,
        "lines_fresh": state.fresh,
        "lines_computed_at": store.built_at,
        "lines_page": page,
        "lines": pairs,
        "line_rows": _display_rows(pairs, report.partner.default_currency),
        "first_lines": first_lines,
        "lines_shown": shown,
        "line_filters": filters,
        "lines_query": urlencode(query),
        "totals": totals,
        "chart": month_chart(chart, report.partner.default_currency),
        "findings": findings,
        "checked_at": report.checked_at,
    }
