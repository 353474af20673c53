"""What a repayment report's review page reads: its lines as computed once and kept
(`ReportLineStore`, `StoredReportLine`), searched, filtered and paged with indexes; its totals
and the 12 months' chart kept beside them. Lines are computed again when what they were
computed from changed (`_store_key`): the report's version or last check, the month's
repayments, Kiva's statuses, the portal's record of what Kiva took, the partner's rules. A
page then costs the same few queries at 20 or 20,000 lines (docs/performance.md).
"""

from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from kivaportal.common.money import quantize
from kivaportal.lending.models import KivaStatusChange, LoanBorrower
from kivaportal.repayments.anomalies import report_named_loans
from kivaportal.repayments.models import (
    RepaymentReport,
    ReportLineStore,
    SentRepaymentLoan,
    StoredReportLine,
)
from kivaportal.repayments.selectors import (
    ReportLine,
    ReportTotals,
    dated_in_month,
    expected_in_month,
    report_lines,
    report_monthly_totals,
    report_totals,
    zero_line_loans,
)

REPORT_LINES_PER_PAGE = 100
# The first page reads this many lines, enough for the payload preview's first call too (a
# Kiva call takes at most 300: MAX_REPAYMENT_BATCH in integrations/kiva/connection_models.py;
# the preview reads its own lines when these are too few).
FIRST_LINES = 300
INSERT_BATCH = 5000


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


def _store_key(report: RepaymentReport) -> str:
    month = dated_in_month(report).aggregate(n=Count("id"), last=Max("id"))
    status = KivaStatusChange.objects.aggregate(last=Max("id"))["last"]
    sent = SentRepaymentLoan.objects.aggregate(last=Max("id"))["last"]
    partner = report.partner
    checked = report.checked_at.isoformat() if report.checked_at else "-"
    return (
        f"v{report.version} c{checked} r{month['n']}:{month['last']} k{status} s{sent} "
        f"{partner.repayment_amount_rule} {partner.repayment_csv_format}"
    )[:300]


def _search_text(line: ReportLine, loan_words: dict[int, list[str]]) -> str:
    words = [line.mis_loan_id, line.client_id, *loan_words.get(line.loan_pk, ())]
    return " ".join(w for w in words if w).lower()


def _build(report: RepaymentReport, key: str) -> ReportLineStore:
    lines = report_lines(report)
    named = report_named_loans(report)
    loan_words: dict[int, list[str]] = {}
    # The lines' loans, by semi-joins: the month's and the zero lines'.
    for loan_id, *words in LoanBorrower.objects.filter(
        Q(loan_id__in=dated_in_month(report).values("loan_id"))
        | Q(loan_id__in=zero_line_loans(report).values("pk"))
    ).values_list(
        "loan_id",
        "loan__mis_loan_id",
        "loan__group_client_id",
        "mis_loan_id",
        "borrower__mis_client_id",
        "borrower__first_name",
        "borrower__last_name",
    ):
        loan_words.setdefault(loan_id, []).extend(words)
    totals = report_totals(report)
    chart = report_monthly_totals(report)
    StoredReportLine.objects.filter(report=report).delete()
    StoredReportLine.objects.bulk_create(
        (
            StoredReportLine(
                report=report,
                position=position,
                loan_id=line.loan_pk,
                mis_loan_id=line.mis_loan_id[:64],
                client_id=(line.client_id or "")[:64],
                currency=line.currency or report.partner.default_currency,
                amount=line.amount,
                period_amount=line.period_amount,
                transactions=line.transactions,
                principal_unknown=line.principal_unknown,
                kiva_status=line.kiva_status,
                sent_before=line.sent_before,
                nothing_repaid=not line.period_amount,
                warned=line.mis_loan_id in named,
                search=_search_text(line, loan_words),
            )
            for position, line in enumerate(lines)
        ),
        batch_size=INSERT_BATCH,
    )
    return ReportLineStore.objects.update_or_create(
        report=report,
        defaults={
            "key": key,
            "totals": {
                **{
                    name: str(value) if isinstance(value, Decimal) else value
                    for name, value in totals.__dict__.items()
                },
                "chart": [[month.isoformat(), str(total)] for month, total in chart],
            },
        },
    )[0]


def report_line_store(report: RepaymentReport) -> ReportLineStore:
    """The report's stored lines, computed again first if what they came from changed.
    Two viewers at once compute them once: the second waits on the first's row lock."""
    key = _store_key(report)
    store = ReportLineStore.objects.filter(report=report).first()
    if store is not None and store.key == key:
        return store
    with transaction.atomic():
        ReportLineStore.objects.get_or_create(report=report, defaults={"key": ""})
        store = ReportLineStore.objects.select_for_update().get(report=report)
        if store.key == key:
            return store
        return _build(report, key)


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


def report_stored_lines(report, params=None, problem_loans=()) -> list[ReportLine]:
    """Every line of the report the page's filters keep (the CSV download)."""
    report_line_store(report)
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


def report_page(report: RepaymentReport, page_number=None, params=None) -> dict:
    """What a report's review page shows: its totals, one page of its lines (searched and
    filtered by `params`, each with what the loan's schedule says is due in the month), the
    last 12 months' totals, and the findings of its last check (see `record_recheck`: a month
    of 20,000 loans takes a quarter of a second to check, too slow for every view).
    `params["problem_loans"]`: the loan ids Kiva reported problems on (the caller reads them)."""
    from kivaportal.repayments.chart import month_chart

    params = params or {}
    store = report_line_store(report)
    totals = _stored_totals(store)
    filters = report_line_filters(params)
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
        # The payload preview's first call, from the stored lines too.
        first_lines = _lines(stored_lines(report, {})[:FIRST_LINES])
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
        "lines_page": page,
        "lines": pairs,
        "line_rows": _display_rows(pairs, report.partner.default_currency),
        "first_lines": first_lines,
        "lines_shown": shown,
        "line_filters": filters,
        "lines_query": urlencode(query),
        "totals": totals,
        "chart": month_chart(chart, report.partner.default_currency),
        "findings": report.stored_findings if report.checked_at else report.findings(),
        "checked_at": report.checked_at,
    }
