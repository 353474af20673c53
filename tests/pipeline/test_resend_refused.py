"""Sending again just the lines Kiva refused (issue 11 item 4), against the sandbox over a
socket: a new version of the report holding those lines, corrected by staff, reviewed under
four eyes and sent once; the refused version keeps its submissions and Kiva's answer."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from integrations.kiva.sandbox.models import SandboxLoan, SandboxRequest
from integrations.kiva.sandbox.services import sandbox_loan_move
from kivaportal.partners.roles import Role
from kivaportal.pipeline.models import Submission, SubmissionKind
from kivaportal.pipeline.resend import report_refused_lines, report_resend_refused
from kivaportal.repayments.models import ResendLine, SentRepaymentLoan
from kivaportal.review import services
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import FourEyesViolation, IllegalTransition, ReviewError
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from tests.factories import PartnerFactory, RepaymentReportFactory, member


def repayment_posts():
    return list(
        SandboxRequest.objects.filter(method="POST", path__endswith="repayments").order_by("id")
    )


def paying_back(setup, loan):
    """Send the loan's draft, publish it at the sandbox and take it to payingBack."""
    setup.approve(loan)
    draft = SandboxLoan.objects.get(uuid=loan.kiva.draft_uuid)
    sandbox_loan_move(loan=draft, status="payingBack")


@pytest.fixture
def refused(setup):
    """A sent report of three loans: Kiva knows two, refuses the third's line (not found)."""
    setup.connection.repayment_batch_size = 2  # two chunks: the refusal is in the second
    setup.connection.save()
    known = [setup.first, setup.loan()]
    for loan in known:
        paying_back(setup, loan)
    unknown = setup.loan()  # not sent yet: Kiva does not know it
    for i, loan in enumerate([*known, unknown]):
        setup.repayment(loan, amount=Decimal("100.00") + i)
    report = setup.approve(
        RepaymentReportFactory(
            partner=setup.partner,
            month=date(2026, 2, 1),
            state=S.SUBMITTED,
            created_by=setup.preparer,
            updated_by=setup.preparer,
        )
    )
    assert report.state == S.SENT
    return report, unknown


def test_only_the_refused_line_goes_again_once_corrected_and_approved_by_another(setup, refused):
    report, unknown = refused
    assert [(item["loan_id"], p["code"]) for item, p in report_refused_lines(report)] == [
        (unknown.mis_loan_id, "loan.not_found")
    ]
    # The portal's record of what Kiva took: the refused line's loan is not in it.
    reported = SentRepaymentLoan.objects.filter(report=report).values_list("loan_id", flat=True)
    assert set(reported) == {setup.first.pk} | {
        loan.pk for loan in setup.partner.loan_set.exclude(pk__in=[setup.first.pk, unknown.pk])
    }
    paying_back(setup, unknown)  # the partner sends and publishes the missing loan
    admin = member(setup.partner, Role.PARTNER_ADMIN, username="boss")

    report = report_resend_refused(report=report, by=admin, comment="now at Kiva")

    assert (report.state, report.version) == (S.DRAFT, 2)
    [line] = ResendLine.objects.filter(report=report, version=2)
    assert (line.loan_id, line.mis_loan_id, line.amount, line.code) == (
        unknown.pk,
        unknown.mis_loan_id,
        Decimal("102.00"),
        "loan.not_found",
    )
    services.report_resend_line_edit(
        line=line,
        by=admin,
        mis_loan_id=unknown.mis_loan_id,
        client_id="",
        amount="98.50",
    )
    report = services.record_submit(record=report, by=admin)
    with pytest.raises(FourEyesViolation):  # the admin made this version's content
        services.record_approve(record=report, by=admin)
    posts_before = len(repayment_posts())

    report = setup.approve(report)

    assert (report.state, report.version) == (S.SENT, 2)
    posts = repayment_posts()
    assert len(posts) == posts_before + 1  # exactly once, one chunk
    assert json.loads(posts[-1].body) == {
        "repayments": [{"loan_id": unknown.mis_loan_id, "amount": 98.5}]
    }
    [again] = Submission.objects.filter(kind=SubmissionKind.REPAYMENTS, record_version=2)
    assert (again.chunks, again.sent_with_problems) == (1, False)
    # The refused version keeps what it sent and Kiva's answer.
    first = Submission.objects.filter(kind=SubmissionKind.REPAYMENTS, record_version=1)
    assert sorted((s.chunk, len(s.problems)) for s in first) == [(1, 0), (2, 1)]
    actions = list(
        AuditEntry.objects.filter(object_id=report.pk, content_type__model="repaymentreport")
        .order_by("id")
        .values_list("action", "record_version", "actor__username")
    )
    assert (AuditAction.RESEND_REFUSED, 2, "boss") in actions
    assert (AuditAction.EDITED, 2, "boss") in actions
    assert (AuditAction.APPROVED, 2, "rev") in actions
    assert actions[-1][:2] == (AuditAction.SENT, 2)
    assert unknown.pk in set(reported.all())
    # Nothing left to send again.
    assert report_refused_lines(report) == []


def test_a_report_without_refused_lines_or_not_sent_cannot_be_reopened_for_them(setup):
    paying_back(setup, setup.first)
    setup.repayment(setup.first)
    report = RepaymentReportFactory(partner=setup.partner, state=S.SUBMITTED)
    with pytest.raises(IllegalTransition):
        report_resend_refused(report=report, by=setup.preparer)
    report = setup.approve(report)
    with pytest.raises(ReviewError, match="refused no line"):
        report_resend_refused(report=report, by=setup.preparer)
    assert report.version == 1


def test_the_page_offers_the_action_and_a_bad_correction_names_the_line(setup, refused, client):
    report, unknown = refused
    client.force_login(setup.preparer)
    url = reverse("review:record", args=[setup.partner.pk, "reports", report.pk])
    text = " ".join(client.get(url).content.decode().split())
    assert "Kiva refused 1 line" in text

    client.post(
        reverse("review:act", args=[setup.partner.pk, "reports", report.pk]),
        {"action": "resend_refused"},
    )
    [line] = ResendLine.objects.all()
    edit = reverse("review:report_resend_line", args=[setup.partner.pk, report.pk, line.pk])
    page = client.post(edit, {"mis_loan_id": "X", "amount": "12.345"}, follow=True)

    assert f"Line {unknown.mis_loan_id}: the amount has more decimals" in page.content.decode()
    line.refresh_from_db()
    assert (line.mis_loan_id, line.amount) == (unknown.mis_loan_id, Decimal("102.00"))
    text = " ".join(page.content.decode().split())
    assert "This version sends again only 1 line Kiva refused in version 1" in text
    # The last line cannot be left out: the version would become the whole month's report.
    page = client.post(edit, {"action": "remove"}, follow=True)
    assert "it cannot be left out" in page.content.decode()
    assert ResendLine.objects.count() == 1


def test_another_partners_line_is_not_found(setup, refused, client):
    report, _unknown = refused
    report_resend_refused(report=report, by=setup.preparer)
    [line] = ResendLine.objects.all()
    other = PartnerFactory(name="Other")
    client.force_login(member(other, Role.PARTNER_ADMIN, username="intruder"))
    edit = reverse("review:report_resend_line", args=[setup.partner.pk, report.pk, line.pk])
    assert client.post(edit, {"mis_loan_id": "X", "amount": "1"}).status_code == 404
    edit = reverse("review:report_resend_line", args=[other.pk, report.pk, line.pk])
    assert client.post(edit, {"mis_loan_id": "X", "amount": "1"}).status_code == 404


def test_the_page_filters_the_lines_kiva_reported_problems_on(setup, refused, client):
    report, unknown = refused
    client.force_login(setup.reviewer)
    url = reverse("review:record", args=[setup.partner.pk, "reports", report.pk])

    lines = client.get(url, {"problems": "1"}).context["lines"]
    assert [line.mis_loan_id for line, _due in lines] == [unknown.mis_loan_id]
    assert len(client.get(url).context["lines"]) == 3
    csv = client.get(
        reverse("review:report_csv", args=[setup.partner.pk, report.pk]), {"problems": "1"}
    )
    assert [row.split(",")[0] for row in csv.content.decode().splitlines()[1:]] == [
        unknown.mis_loan_id
    ]


def test_sending_progress_is_shown_as_a_count_and_served_as_json_to_the_partner_only(
    setup, refused, client
):
    report, _unknown = refused
    client.force_login(setup.reviewer)
    page = client.get(reverse("review:record", args=[setup.partner.pk, "reports", report.pk]))
    text = " ".join(page.content.decode().split())
    assert '<progress max="2" value="2"' in text
    assert "<span data-sent>2</span> of <span data-chunks>2</span> chunks sent" in text

    url = reverse("review:report_progress", args=[setup.partner.pk, report.pk])
    data = client.get(url).json()
    assert (data["chunks"], data["sent"], data["stopped"], data["done"]) == (2, 2, 0, True)
    assert data["state"] == S.SENT

    other = PartnerFactory(name="Other")
    client.force_login(member(other, Role.PARTNER_ADMIN, username="stranger"))
    assert client.get(url).status_code == 404
    assert (
        client.get(reverse("review:report_progress", args=[other.pk, report.pk])).status_code == 404
    )
