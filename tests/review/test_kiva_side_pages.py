"""What Kiva did with a record, shown to staff: a loan's Kiva status, id, history and link,
and the report's expected-against-reported figures."""

from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from integrations.kiva.models import Environment
from kivaportal.lending.models import KivaStatusChange, Loan, LoanAtKiva
from kivaportal.workflow.states import RecordState as S
from tests.factories import RepaymentFactory, RepaymentReportFactory


def test_loan_page_shows_kiva_status_id_history_and_link(client, make_loan, partner, reviewer):
    loan = make_loan()
    seen = timezone.now().replace(hour=14, minute=2)
    LoanAtKiva.objects.create(
        loan=loan, kiva_id=2000042, status="payingBack", funded_amount=Decimal("1200"), seen_at=seen
    )
    KivaStatusChange.objects.create(
        loan=loan, from_status="raised", to_status="payingBack", seen_at=seen
    )
    partner.kiva_connection.environment = Environment.PRODUCTION
    partner.kiva_connection.save()
    client.force_login(reviewer)

    page = client.get(reverse("review:record", args=[partner.pk, "loans", loan.pk])).content

    text = page.decode()
    assert "Paying back" in text and "2000042" in text
    assert "https://www.kiva.org/lend/2000042" in text
    assert f"Kiva, seen at {seen:%Y-%m-%d} 14:02" in " ".join(text.split())
    assert "Raised → Paying back" in text


def test_loan_page_links_to_kiva_only_for_production_and_flags_a_missing_loan(
    client, make_loan, partner, reviewer
):
    loan = make_loan()
    LoanAtKiva.objects.create(loan=loan, kiva_id=7, status="inactive", missing_since=timezone.now())
    client.force_login(reviewer)

    text = client.get(reverse("review:record", args=[partner.pk, "loans", loan.pk])).content
    text = text.decode()

    assert "kiva.org/lend" not in text
    assert "Kiva no longer lists it" in text


def test_report_page_shows_expected_against_reported_with_zero_lines(
    client, make_loan, partner, reviewer
):
    paid, silent = make_loan(mis_loan_id="L-PAID"), make_loan(mis_loan_id="L-SILENT")
    for loan in (paid, silent):
        LoanAtKiva.objects.create(loan=loan, status="payingBack")
    RepaymentFactory(loan=paid, date=date(2026, 2, 3))
    report = RepaymentReportFactory(partner=partner, month=date(2026, 2, 1))
    client.force_login(reviewer)

    text = client.get(reverse("review:record", args=[partner.pk, "reports", report.pk]))
    text = " ".join(text.content.decode().split())

    assert 'or reported before and not ended)</th><td class="num">2' in text
    assert 'Zero lines (Kiva expects them, nothing repaid)</th><td class="num">1' in text
    assert "L-SILENT" in text and "zero line" in text


def test_queue_filters_loans_by_kiva_status_and_shows_it(client, make_loan, partner, reviewer):
    paying, issue, unknown = (make_loan(mis_loan_id=f"L-{n}") for n in ("P", "I", "U"))
    LoanAtKiva.objects.create(loan=paying, status="payingBack", kiva_id=2000001)
    LoanAtKiva.objects.create(loan=issue, status="issue")
    client.force_login(reviewer)
    url = reverse("review:queue", args=[partner.pk, "loans"])

    def listed(**query):
        text = client.get(url, query).content.decode()
        return {loan.mis_loan_id for loan in (paying, issue, unknown) if loan.mis_loan_id in text}

    assert listed(kiva_status="payingBack") == {"L-P"}
    assert listed(kiva_status="issue") == {"L-I"}
    assert listed(kiva_status="not_listed") == {"L-U"}
    assert "#2000001" in client.get(url).content.decode()


def test_dashboard_counts_loans_per_kiva_status_late_drafts_and_issues(
    client, make_loan, partner, reviewer
):
    long_ago = timezone.now() - timedelta(days=30)
    waiting = make_loan(state=S.SENT, mis_loan_id="L-WAIT")
    Loan.objects.filter(pk=waiting.pk).update(state_changed_at=long_ago)
    recent = make_loan(state=S.SENT, mis_loan_id="L-RECENT")
    Loan.objects.filter(pk=recent.pk).update(state_changed_at=timezone.now())
    issue = make_loan(state=S.SENT, mis_loan_id="L-ISSUE")
    LoanAtKiva.objects.create(loan=issue, status="issue", seen_at=timezone.now())
    for _n in range(2):
        LoanAtKiva.objects.create(loan=make_loan(state=S.SENT), status="payingBack")
    client.force_login(reviewer)

    text = client.get(reverse("review:dashboard", args=[partner.pk])).content.decode()
    text = " ".join(text.split())

    assert 'kiva_status=payingBack">Paying back</a></td><td class="num">2' in text
    assert "1 drafts waiting to be published in PA2 for more than 14 days" in text
    assert "L-WAIT" in text and "L-RECENT" not in text
    assert "1 loan sent back with an issue" in text and "L-ISSUE" in text


def test_the_sortable_queue_shows_at_kiva_as_a_plain_column_and_filters_with_a_search(
    client, make_loan, partner, reviewer
):
    paying, other = make_loan(mis_loan_id="L-PAY"), make_loan(mis_loan_id="L-OTHER")
    LoanAtKiva.objects.create(loan=paying, status="payingBack")
    LoanAtKiva.objects.create(loan=other, status="payingBack")
    client.force_login(reviewer)
    url = reverse("review:queue", args=[partner.pk, "loans"])

    text = client.get(url, {"kiva_status": "payingBack", "q": "pay", "sort": "-amount"})
    text = text.content.decode()
    assert "L-PAY" in text and "L-OTHER" not in text
    assert "<th>At Kiva</th>" in text  # a header without a sort link
    assert "sort=kiva" not in text and "sort=None" not in text


def test_the_dashboard_and_the_queue_count_what_the_active_environment_knows(
    client, make_loan, partner, reviewer
):
    """After the move to production, a loan only stage knows is not "paying back" on the
    dashboard nor in the queue's Kiva filter: production has not listed it (docs/kiva.md,
    "Stage and production"); a row naming no environment counts everywhere."""
    partner.kiva_connection.environment = Environment.PRODUCTION
    partner.kiva_connection.is_active = True
    partner.kiva_connection.save()
    stage_only = make_loan(state=S.SENT, mis_loan_id="ST-1")
    in_production = make_loan(state=S.SENT, mis_loan_id="PR-1")
    unnamed = make_loan(state=S.SENT, mis_loan_id="NO-1")
    for loan, environment in ((stage_only, "stage"), (in_production, "production")):
        LoanAtKiva.objects.create(loan=loan, status="payingBack", environment=environment)
    LoanAtKiva.objects.create(loan=unnamed, status="payingBack", environment="")
    client.force_login(reviewer)

    kiva = client.get(reverse("review:dashboard", args=[partner.pk])).context["kiva"]
    queue = client.get(
        reverse("review:queue", args=[partner.pk, "loans"]), {"kiva_status": "payingBack"}
    ).context["page"]
    not_listed = client.get(
        reverse("review:queue", args=[partner.pk, "loans"]), {"kiva_status": "not_listed"}
    ).context["page"]

    assert kiva.counts == [("payingBack", "Paying back", 2)]
    assert kiva.not_listed == 1
    assert sorted(r.mis_loan_id for r in queue) == ["NO-1", "PR-1"]
    assert [r.mis_loan_id for r in not_listed] == ["ST-1"]
