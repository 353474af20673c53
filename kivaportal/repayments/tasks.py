"""Thin tasks: a report's stored lines computed after what they come from changed
(kivaportal/repayments/line_store.py). On the default queue, beside the import jobs."""

from celery import shared_task

from kivaportal.repayments.line_store import (
    BUILD_TASK,
    CHART_TASK,
    PARTNER_TASK,
    partner_report_lines_refresh,
    report_chart_refresh,
    report_lines_build,
)


# 20,000 lines take about a minute on a loaded machine (docs/performance.md): above the
# portal's default limits.
@shared_task(name=BUILD_TASK, ignore_result=True, soft_time_limit=1800, time_limit=1900)
def repayments_report_lines_build(report_id):
    report_lines_build(report_id=report_id)


@shared_task(name=PARTNER_TASK, ignore_result=True)
def repayments_partner_report_lines_refresh(partner_id, after=None):
    partner_report_lines_refresh(partner_id=partner_id, after=after)


@shared_task(name=CHART_TASK, ignore_result=True)
def repayments_report_chart_refresh(report_id):
    report_chart_refresh(report_id=report_id)
