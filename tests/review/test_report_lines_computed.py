"""A report's stored lines are computed by a task after the change that needs it commits,
never by a page showing a big report: the page shows them as they were, and says so
(kivaportal/repayments/line_store.py, docs/performance.md)."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from kivaportal.lending.models import Borrower, LoanDataVersion
from kivaportal.lending.services import borrower_edited
from kivaportal.repayments import line_store
from kivaportal.repayments.line_store import BUILD_TASK, PARTNER_TASK, report_lines_build
from kivaportal.repayments.models import ReportLineStore, StoredReportLine
from kivaportal.repayments.services import report_loans_sent
from kivaportal.review import services
from kivaportal.workflow.states import RecordState as S
from tests.factories import BorrowerFactory, RepaymentFactory, RepaymentReportFactory
from tests.review.test_pages import count_queries

pytestmark = pytest.mark.django_db

MONTH = date(2026, 2, 1)


@pytest.fixture
def report(partner):
    return RepaymentReportFactory(partner=partner, month=MONTH)


def repaid(make_loan, n, start=0, **loan_fields):
    for i in range(start, start + n):
        loan = make_loan(mis_loan_id=f"RL-{i:03d}", state=S.SENT, instalments=0, **loan_fields)
        RepaymentFactory(loan=loan, date=date(2026, 2, 10), amount=Decimal("10"))


def enqueued(callbacks, task=BUILD_TASK):
    """The tasks of `task` the callbacks put on the queue after the commit, by their args."""
    tasks = [getattr(cb, "callback", cb) for cb in callbacks]
    return [t.args for t in tasks if getattr(t, "task", None) == task]


def url_of(partner, report, **params):
    url = reverse("review:record", args=[partner.pk, "reports", report.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


@pytest.fixture
def big(monkeypatch):
    """Every report counts as big: the page never computes its lines."""
    monkeypatch.setattr(line_store, "INLINE_LINES", 0)


def test_a_big_report_never_computed_is_computed_by_the_task_not_the_page(
    client, partner, reviewer, report, make_loan, big, django_capture_on_commit_callbacks
):
    repaid(make_loan, 3)
    client.force_login(reviewer)
    url = url_of(partner, report)
    with django_capture_on_commit_callbacks() as callbacks:
        count_queries(client, url)  # process-wide caches
        few = count_queries(client, url)
        repaid(make_loan, 30, start=3)
        response = client.get(url)
        many = count_queries(client, url)

    assert many == few  # no line read, whatever the month holds
    assert not ReportLineStore.objects.filter(report=report).exists()
    assert not StoredReportLine.objects.filter(report=report).exists()
    assert response.context["lines_pending"] is True
    assert response.context["pending_totals"] == {"transactions": 33, "repaid": Decimal("330")}
    html = response.content.decode()
    assert "lines are being computed" in html
    assert "What will go to Kiva" not in html  # no preview built from lines it has not read
    # Once per transaction (a test is one; each request is its own in production).
    assert enqueued(callbacks) == [(report.pk,)]

    for callback in callbacks:  # the enqueued tasks run (in place: no broker)
        callback()
    response = client.get(url)
    assert response.context["lines_fresh"] is True
    assert response.context["totals"].lines == 33
    assert "being computed" not in response.content.decode()


def test_a_small_report_never_computed_is_computed_by_its_first_page(
    client, partner, reviewer, report, make_loan
):
    repaid(make_loan, 3)
    client.force_login(reviewer)
    response = client.get(url_of(partner, report))
    assert response.context["lines_fresh"] is True
    assert response.context["totals"].lines == 3


def test_stale_lines_show_with_when_they_were_computed_while_the_task_computes_them(
    client, partner, reviewer, report, make_loan, django_capture_on_commit_callbacks
):
    repaid(make_loan, 3)
    client.force_login(reviewer)
    url = url_of(partner, report)
    client.get(url)
    built_at = ReportLineStore.objects.get(report=report).built_at
    repaid(make_loan, 2, start=3)  # no service told: the key alone says the lines are stale

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(url)

    assert response.context["lines_fresh"] is False
    assert response.context["totals"].lines == 3  # as computed, and said so
    assert response.context["lines_computed_at"] == built_at
    html = response.content.decode()
    assert "were computed at" in html and "being computed again" in html
    assert "What will go to Kiva" not in html
    csv = client.get(reverse("review:report_csv", args=[partner.pk, report.pk]))
    assert csv.status_code == 302  # not a file of old lines
    assert enqueued(callbacks) == [(report.pk,)]

    callbacks[0]()
    assert client.get(url).context["totals"].lines == 5


def test_an_import_or_edit_of_the_months_repayments_enqueues_the_task_on_commit(
    client, partner, reviewer, preparer, report, make_loan, django_capture_on_commit_callbacks
):
    repaid(make_loan, 2)
    client.force_login(reviewer)
    client.get(url_of(partner, report))
    RepaymentFactory(loan=make_loan(state=S.SENT), date=date(2026, 2, 12))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # What an import and an admin edit call, in their transaction (a recheck of the month)
        from kivaportal.repayments.services import repayment_reports_touched

        repayment_reports_touched(partner=partner, dates=[date(2026, 2, 12)], by=preparer)

    assert enqueued(callbacks) == [(report.pk,)]  # once, though checked and audited
    store = ReportLineStore.objects.get(report=report)
    assert store.totals["lines"] == 3
    assert client.get(url_of(partner, report)).context["lines_fresh"] is True


def test_the_task_computes_once_and_does_nothing_when_nothing_changed(partner, report, make_loan):
    repaid(make_loan, 2)
    assert report_lines_build(report_id=report.pk) is True
    assert report_lines_build(report_id=report.pk) is False
    assert StoredReportLine.objects.filter(report=report).count() == 2


def test_a_borrowers_new_name_and_a_loans_new_mis_id_are_found_by_the_search(
    client, partner, reviewer, preparer, report, make_loan, django_capture_on_commit_callbacks
):
    person = BorrowerFactory(partner=partner, first_name="Rosa", last_name="Quispe")
    loan = make_loan(mis_loan_id="RL-777", state=S.DRAFT, borrowers=[person], instalments=0)
    RepaymentFactory(loan=loan, date=date(2026, 2, 10), amount=Decimal("10"))
    client.force_login(reviewer)
    search = url_of(partner, report, q="mamani")
    assert client.get(search).context["lines_shown"] == 0

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        Borrower.objects.filter(pk=person.pk).update(last_name="Mamani")
        person.refresh_from_db()
        borrower_edited(borrower=person, by=preparer, changed_fields=["last_name"])
    assert enqueued(callbacks, PARTNER_TASK) == [(partner.pk, None)]
    assert LoanDataVersion.objects.get(partner=partner).version == 1
    response = client.get(search)
    assert response.context["lines_fresh"] is True
    assert [line.mis_loan_id for line, _due in response.context["lines"]] == ["RL-777"]

    with django_capture_on_commit_callbacks(execute=True):
        type(loan).objects.filter(pk=loan.pk).update(mis_loan_id="RL-778")
        services.record_edited(record=loan, by=preparer, changed_fields=["mis_loan_id"])
    lines = client.get(url_of(partner, report, q="rl-778")).context["lines"]
    assert [line.mis_loan_id for line, _due in lines] == ["RL-778"]
    assert client.get(url_of(partner, report, q="rl-777")).context["lines_shown"] == 0


def test_edits_of_what_no_line_shows_change_nothing(partner, preparer, report, make_loan):
    person = BorrowerFactory(partner=partner)
    borrower_edited(borrower=person, by=preparer, changed_fields=["city"])
    assert not LoanDataVersion.objects.filter(partner=partner).exists()


def test_loans_kiva_took_make_later_months_reports_computed_again(
    client, partner, reviewer, report, make_loan, django_capture_on_commit_callbacks
):
    repaid(make_loan, 2)
    earlier = RepaymentReportFactory(partner=partner, month=date(2026, 1, 1))
    later = RepaymentReportFactory(partner=partner, month=date(2026, 3, 1))
    for r in (earlier, report, later):
        report_lines_build(report_id=r.pk)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report_loans_sent(report_id=report.pk, loan_ids=["RL-000", "RL-001"])

    assert enqueued(callbacks, PARTNER_TASK) == [(partner.pk, "2026-02-01")]
    # The partner task enqueued the later month's only; its lines now expect the two loans.
    assert ReportLineStore.objects.get(report=later).totals["expected"] == 2
    assert report_lines_build(report_id=report.pk) is False
    assert report_lines_build(report_id=earlier.pk) is False


def test_what_is_sent_is_computed_from_the_repayments_never_from_the_stored_lines(
    partner, report, make_loan
):
    repaid(make_loan, 2)
    report_lines_build(report_id=report.pk)
    repaid(make_loan, 1, start=2)  # the stored lines are now stale

    from kivaportal.repayments.selectors import report_send_lines

    assert [line.mis_loan_id for line in report_send_lines(report)] == [
        "RL-000",
        "RL-001",
        "RL-002",
    ]
    assert StoredReportLine.objects.filter(report=report).count() == 2


def test_a_kiva_status_change_read_by_reconciliation_computes_the_partners_reports_again(
    partner, report, make_loan, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from kivaportal.lending.services import loans_at_kiva_apply
    from tests.lending.test_loans_at_kiva import kiva_loan

    repaid(make_loan, 2)
    report_lines_build(report_id=report.pk)
    assert ReportLineStore.objects.get(report=report).totals["expected"] == 0

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        loans_at_kiva_apply(
            partner=partner,
            items=[kiva_loan("RL-000", status="payingBack")],
            seen_at=timezone.now(),
        )

    assert enqueued(callbacks, PARTNER_TASK) == [(partner.pk, None)]
    assert ReportLineStore.objects.get(report=report).totals["expected"] == 1


def test_repayments_of_an_earlier_month_refresh_the_later_reports_chart(
    partner, preparer, report, make_loan, django_capture_on_commit_callbacks
):
    repaid(make_loan, 1)
    report_lines_build(report_id=report.pk)
    january = RepaymentFactory(
        loan=make_loan(state=S.SENT), date=date(2026, 1, 5), amount=Decimal("70")
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        from kivaportal.repayments.services import repayment_reports_touched

        repayment_reports_touched(partner=partner, dates=[january.date], by=preparer)

    assert enqueued(callbacks, line_store.CHART_TASK) == [(report.pk,)]
    chart = dict(ReportLineStore.objects.get(report=report).totals["chart"])
    assert Decimal(chart["2026-01-01"]) == Decimal("70")
    assert report_lines_build(report_id=report.pk) is False  # its lines did not change
