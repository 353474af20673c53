"""A month's repayment report at real size: its lines searched and filtered, downloaded as
CSV, and the last twelve months' totals drawn beside it."""

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from kivaportal.lending.models import Loan, ScheduleLine
from kivaportal.workflow.states import RecordState as S
from tests.factories import RepaymentFactory, RepaymentReportFactory
from tests.review.test_pages import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(partner, make_loan):
    for mis_id, amount in (("WK-101", "330"), ("WK-102", "0"), ("WK-203", "125.5")):
        loan = make_loan(mis_loan_id=mis_id, state=S.SENT, instalments=0)
        RepaymentFactory(loan=loan, date=date(2026, 2, 10), amount=Decimal(amount))
    earlier = make_loan(mis_loan_id="WK-OLD", state=S.SENT)
    RepaymentFactory(loan=earlier, date=date(2025, 11, 3), amount=Decimal("80"))
    RepaymentFactory(loan=earlier, date=date(2024, 11, 3), amount=Decimal("999"))  # too old
    return RepaymentReportFactory(partner=partner, month=date(2026, 2, 1))


def page(client, partner, report, **params):
    url = reverse("review:record", args=[partner.pk, "reports", report.pk])
    return client.get(url, params)


def test_report_lines_are_searched_and_filtered(client, partner, reviewer, report):
    client.force_login(reviewer)
    lines = page(client, partner, report, q="wk-1").context["lines"]
    assert [line.mis_loan_id for line, _due in lines] == ["WK-101", "WK-102"]
    lines = page(client, partner, report, zero="1").context["lines"]
    assert [line.mis_loan_id for line, _due in lines] == ["WK-102"]
    html = page(client, partner, report, q="wk-1").content.decode()
    assert "2 lines of 3" in html


def test_each_line_shows_what_its_schedule_says_is_due_in_the_month(
    client, partner, reviewer, report
):
    loan = Loan.objects.get(mis_loan_id="WK-101")
    ScheduleLine.objects.create(
        loan=loan, due_date=date(2026, 2, 20), principal=Decimal("300"), interest=Decimal("30")
    )
    ScheduleLine.objects.create(  # next month's: not due in this one
        loan=loan, due_date=date(2026, 3, 20), principal=Decimal("300"), interest=Decimal("30")
    )
    client.force_login(reviewer)

    response = page(client, partner, report)

    due = {line.mis_loan_id: d for line, d in response.context["lines"]}
    assert due == {"WK-101": Decimal("330"), "WK-102": None, "WK-203": None}
    assert "Due in month (schedule)" in response.content.decode()


def test_report_lines_download_as_csv_with_the_pages_filter(client, partner, reviewer, report):
    client.force_login(reviewer)
    url = reverse("review:report_csv", args=[partner.pk, report.pk])

    response = client.get(url)

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["loan_id", "client_id", "transactions", "repaid_in_month", "amount"]
    assert [(r[0], r[3]) for r in rows[1:]] == [
        ("WK-101", "330.00"),
        ("WK-102", "0.00"),
        ("WK-203", "125.50"),
    ]
    zero = list(csv.reader(io.StringIO(client.get(url, {"zero": "1"}).content.decode())))
    assert [r[0] for r in zero[1:]] == ["WK-102"]


def test_a_loan_id_that_reads_as_a_formula_goes_out_as_text_in_the_csv(
    client, partner, reviewer, report
):
    # MIS ids are any text the partner's MIS sends (kivaportal.common.csv_export).
    Loan.objects.filter(mis_loan_id="WK-203").update(mis_loan_id='=HYPERLINK("https://x.example")')
    client.force_login(reviewer)

    response = client.get(reverse("review:report_csv", args=[partner.pk, report.pk]))

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ['\'=HYPERLINK("https://x.example")', "125.50"] in [[r[0], r[3]] for r in rows]


def test_another_partners_report_csv_is_a_404(client, partner, outsider, report):
    client.force_login(outsider)
    url = reverse("review:report_csv", args=[partner.pk, report.pk])
    assert client.get(url).status_code == 404


def test_the_report_page_draws_the_last_twelve_months_totals(client, partner, reviewer, report):
    client.force_login(reviewer)
    response = page(client, partner, report)
    bars = response.context["chart"]["bars"]
    assert [b["month"] for b in bars][0] == date(2025, 3, 1)
    assert [b["month"] for b in bars][-1] == date(2026, 2, 1)
    totals = {b["month"]: b["total"] for b in bars}
    assert totals[date(2026, 2, 1)] == Decimal("455.50")
    assert totals[date(2025, 11, 1)] == Decimal("80")
    assert sum(totals.values()) == Decimal("535.50")  # 2024 left out
    html = response.content.decode()
    assert len(re.findall(r"<rect ", html)) == 12
    assert "2026-02: 455.50" in html  # the chart's text for screen readers


def test_searching_report_lines_takes_the_same_queries_whatever_the_month_holds(
    client, partner, reviewer, report, make_loan, django_capture_on_commit_callbacks
):
    client.force_login(reviewer)
    url = reverse("review:record", args=[partner.pk, "reports", report.pk]) + "?q=wk&zero=0"
    count_queries(client, url)
    few = count_queries(client, url)
    for i in range(20):
        loan = make_loan(mis_loan_id=f"WK-9{i:02d}", state=S.SENT)
        RepaymentFactory(loan=loan, date=date(2026, 2, 11), amount=Decimal("10"))
    # The first view after the month changed shows the lines as they were and enqueues the
    # task that computes them again (run in place here: no broker).
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(url).context["lines_shown"] == 3
    assert client.get(url).context["lines_shown"] == 23
    assert count_queries(client, url) == few


def test_lines_with_warnings_are_those_a_check_names(client, partner, reviewer, report):
    loan = Loan.objects.get(mis_loan_id="WK-203")
    RepaymentFactory(loan=loan, date=date(2026, 2, 10), amount=Decimal("125.5"))  # a duplicate?
    client.force_login(reviewer)

    response = page(client, partner, report, warnings="1")

    assert [line.mis_loan_id for line, _due in response.context["lines"]] == ["WK-203"]
    assert "warnings=1" in response.context["lines_query"]
    assert [line.mis_loan_id for line, _d in page(client, partner, report).context["lines"]] == [
        "WK-101",
        "WK-102",
        "WK-203",
    ]
