"""A report's lines as computed once and kept (`ReportLineStore`, `StoredReportLine`), and
when they are computed: in a task (`repayments.report_lines_build`) enqueued after the
transaction that changed what they come from commits, never by the page that shows them
(but for a small report never computed yet). docs/performance.md, "A report page that reads
its lines", says the rule and what each change enqueues.

`_store_key` says what they were computed from; a task that finds it unchanged does nothing,
two at once compute once (the store's row lock).
"""

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from celery import current_app
from django.db import transaction
from django.db.models import Count, Max, Q
from kombu.exceptions import OperationalError

from kivaportal.common.commit import on_commit_once
from kivaportal.lending.models import LoanBorrower, LoanDataVersion
from kivaportal.repayments.anomalies import report_named_loans
from kivaportal.repayments.models import (
    RepaymentReport,
    ReportLineStore,
    SentRepaymentLoan,
    StoredReportLine,
)
from kivaportal.repayments.selectors import (
    ReportLine,
    dated_in_month,
    report_lines,
    report_monthly_totals,
    report_totals,
    zero_line_loans,
)

logger = logging.getLogger(__name__)

# The tasks, by name (kivaportal/repayments/tasks.py): the services do not import them.
BUILD_TASK = "repayments.report_lines_build"
PARTNER_TASK = "repayments.partner_report_lines_refresh"
CHART_TASK = "repayments.report_chart_refresh"
INSERT_BATCH = 5000
# A report never computed with at most this many lines (a bound read cheaply:
# `report_lines_bound`) is computed by the page that first shows it (about a second); a bigger
# one by the task, the page saying so meanwhile.
INLINE_LINES = 2000
CHART_MONTHS = 12


def _store_key(report: RepaymentReport) -> str:
    month = dated_in_month(report).aggregate(n=Count("id"), last=Max("id"))
    loans = (
        LoanDataVersion.objects.filter(partner_id=report.partner_id)
        .values_list("version", flat=True)
        .first()
    )
    # Reported in an earlier month (a line's "reported before", the loans Kiva expects): the
    # last such row, by an index of (partner, id) with the month (`sent_repayment_loan_last`).
    sent = (
        SentRepaymentLoan.objects.filter(partner_id=report.partner_id, month__lt=report.month)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    partner = report.partner
    checked = report.checked_at.isoformat() if report.checked_at else "-"
    return (
        f"v{report.version} c{checked} r{month['n']}:{month['last']} l{loans or 0} s{sent} "
        f"{partner.repayment_amount_rule} {partner.repayment_csv_format}"
    )[:300]


@dataclass(frozen=True)
class StoreState:
    """What the page can show of a report's lines: `store`, the lines as last computed (None:
    never), and whether they are `fresh` (computed from what the report is now made of)."""

    store: ReportLineStore | None
    fresh: bool


def report_lines_bound(report: RepaymentReport) -> int:
    """At most how many lines the report has, cheaply: its month's repayment transactions and
    the loans Kiva expects a line for (a line is one of either)."""
    from kivaportal.repayments.selectors import expected_loans

    return dated_in_month(report).count() + expected_loans(report).count()


def report_line_store(report: RepaymentReport, *, inline_up_to=None) -> StoreState:
    """The report's stored lines as they are. Stale or missing, they are computed again by the
    task, enqueued here (without a broker, CELERY_TASK_ALWAYS_EAGER, the task runs right away in
    this process, as every task does there); a report never computed with at most
    `inline_up_to` lines (`INLINE_LINES`) is computed here."""
    inline_up_to = INLINE_LINES if inline_up_to is None else inline_up_to
    key = _store_key(report)
    store = ReportLineStore.objects.filter(report=report).first()
    if store is not None and store.key == key:
        return StoreState(store, True)
    if store is None and report_lines_bound(report) <= inline_up_to:
        return StoreState(_build_locked(report, key)[0], True)
    report_lines_enqueue(report_ids=[report.pk])
    if transaction.get_connection().in_atomic_block:
        return StoreState(store, False)
    # Outside a transaction the task was enqueued already; run in place (no broker), it has
    # computed them: read them again.
    store = ReportLineStore.objects.filter(report=report).first()
    return StoreState(store, store is not None and store.key == key)


def _search_text(line: ReportLine, loan_words: dict[int, list[str]]) -> str:
    words = [line.mis_loan_id, line.client_id, *loan_words.get(line.loan_pk, ())]
    return " ".join(w for w in words if w).lower()


def _chart(report) -> list:
    return [[m.isoformat(), str(t)] for m, t in report_monthly_totals(report, CHART_MONTHS)]


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
                "chart": _chart(report),
            },
        },
    )[0]


def _build_locked(report: RepaymentReport, key: str) -> tuple[ReportLineStore, bool]:
    """Compute the lines unless another did while this one waited for the row lock; whether
    this one did."""
    with transaction.atomic():
        ReportLineStore.objects.get_or_create(report=report, defaults={"key": ""})
        store = ReportLineStore.objects.select_for_update().get(report=report)
        if store.key == key:
            return store, False
        return _build(report, key), True


def report_lines_build(*, report_id: int) -> bool:
    """The task's work: compute the report's lines if what they come from changed since they
    were computed (the key); True if it did."""
    report = RepaymentReport.objects.select_related("partner").filter(pk=report_id).first()
    if report is None:  # deleted since
        return False
    key = _store_key(report)
    store = ReportLineStore.objects.filter(report=report).first()
    if store is not None and store.key == key:
        return False
    return _build_locked(report, key)[1]


def report_chart_refresh(*, report_id: int) -> bool:
    """The task's work after repayments of an earlier month changed: the stored 12 months'
    chart of the report computed again (the lines do not depend on other months)."""
    with transaction.atomic():
        store = (
            ReportLineStore.objects.select_for_update()
            .select_related("report__partner")
            .filter(report_id=report_id)
            .first()
        )
        if store is None or not store.totals:
            return False
        chart = _chart(store.report)
        if store.totals.get("chart") == chart:
            return False
        store.totals = {**store.totals, "chart": chart}
        # Not `built_at`: the lines were not computed again.
        ReportLineStore.objects.filter(pk=store.pk).update(totals=store.totals)
        return True


@dataclass(frozen=True)
class _Enqueue:
    """A task put on the queue after the commit, once per transaction (equal ones wait once).
    A broker that is down loses nothing: the page finds the lines stale and enqueues again."""

    task: str
    args: tuple

    def __call__(self):
        try:
            current_app.tasks[self.task].apply_async(args=list(self.args))
        except (OperationalError, ConnectionError):
            logger.warning(
                "task %s%s not published (broker unreachable): the report's page publishes it "
                "again when it finds its lines stale",
                self.task,
                self.args,
                exc_info=True,
            )


def report_lines_enqueue(*, report_ids) -> None:
    """After this transaction commits, compute these reports' lines again (the task)."""
    for report_id in report_ids:
        on_commit_once(_Enqueue(BUILD_TASK, (report_id,)))


def partner_report_lines_enqueue(*, partner_id: int, after: date | None = None) -> None:
    """After this transaction commits, a task computes the lines again of the partner's
    reports (of the months after `after`) that have been computed before: the others will
    be when first shown."""
    on_commit_once(_Enqueue(PARTNER_TASK, (partner_id, after.isoformat() if after else None)))


def partner_report_lines_refresh(*, partner_id: int, after: str | None = None) -> int:
    """The partner task's work: one build task per report whose lines are stored."""
    reports = RepaymentReport.objects.filter(partner_id=partner_id, line_store__isnull=False)
    if after:
        reports = reports.filter(month__gt=after)
    ids = list(reports.order_by("-month").values_list("pk", flat=True))
    report_lines_enqueue(report_ids=ids)
    return len(ids)


def report_charts_enqueue(*, partner_id: int, months) -> None:
    """Repayments of `months` changed: the stored charts of the reports that show those
    months (the 11 months after each) are computed again after the commit."""
    later = set()
    for month in {m.replace(day=1) for m in months}:
        for _ in range(CHART_MONTHS - 1):
            month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            later.add(month)
    stored = RepaymentReport.objects.filter(
        partner_id=partner_id, month__in=sorted(later), line_store__isnull=False
    ).values_list("pk", flat=True)
    for report_id in stored:
        on_commit_once(_Enqueue(CHART_TASK, (report_id,)))


def on_record_checked(sender, pks, **kwargs):
    """A report's checks were stored (an import, an admin edit of a repayment, *Check again*,
    a submission...): its lines follow them, computed again after the commit."""
    if sender is RepaymentReport:
        report_lines_enqueue(report_ids=pks)


def on_loan_data_changed(sender, partner_id, **kwargs):
    """The partner's loans' ids, borrowers' names or Kiva statuses changed (committed)."""
    partner_report_lines_enqueue(partner_id=partner_id)
