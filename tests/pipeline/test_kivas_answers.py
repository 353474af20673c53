"""Kiva's answer is an outcome: problems make a record "sent with problems" (its own badge,
one table across chunks, counted on the dashboard); every documented answer shape is read and
nothing crashes mid-send; a sent draft's uuid is what reconciliation matches first."""

from datetime import date

import pytest
from django.urls import reverse

from integrations.kiva.sandbox.models import SandboxLoan
from kivaportal.lending.models import LoanAtKiva
from kivaportal.pipeline.models import Attempt, Submission, SubmissionKind
from kivaportal.pipeline.models import SubmissionState as St
from kivaportal.workflow.states import RecordState as S
from tests.factories import RepaymentReportFactory


def report_of_unknown_loans(setup, n=3, batch=2):
    setup.connection.repayment_batch_size = batch
    setup.connection.save()
    loans = [setup.first] + [setup.loan(state=S.SENT) for _ in range(n - 1)]
    for loan in loans:
        setup.repayment(loan)
    report = RepaymentReportFactory(
        partner=setup.partner, month=date(2026, 2, 1), state=S.SUBMITTED
    )
    return setup.approve(report), loans


@pytest.mark.parametrize("shape", ["object", "list"])
def test_repayment_problems_make_the_report_sent_with_problems_in_either_answer_shape(setup, shape):
    setup.faults(repayments_answer=shape)

    report, loans = report_of_unknown_loans(setup)

    chunks = list(Submission.objects.filter(kind=SubmissionKind.REPAYMENTS).order_by("chunk"))
    assert report.state == S.SENT
    assert [(c.state, c.sent_with_problems) for c in chunks] == [(St.SENT, True), (St.SENT, True)]
    assert all(bool(c.kiva_reference) == (shape == "object") for c in chunks)
    problems = [p for c in chunks for p in c.problems]
    assert {(p["loan_id"], p["code"], p["severity"]) for p in problems} == {
        (loan.mis_loan_id, "loan.not_found", "error") for loan in loans
    }
    assert set(Attempt.objects.values_list("outcome", flat=True)) == {"sent_with_problems"}


def test_the_report_page_shows_one_problem_table_and_the_dashboard_counts_it(setup, client):
    report, loans = report_of_unknown_loans(setup)
    client.force_login(setup.reviewer)

    page = client.get(reverse("review:record", args=[setup.partner.pk, "reports", report.pk]))
    text = " ".join(page.content.decode().split())
    dashboard = client.get(reverse("review:dashboard", args=[setup.partner.pk])).content.decode()

    assert "Sent with problems" in text
    assert "3 problems Kiva reported on this version" in text
    assert f"<td>{loans[0].mis_loan_id}</td><td><code>loan.not_found</code></td>" in text
    assert "Sent with problems reported by Kiva" in dashboard
    assert 'Repayment reports</td><td class="num">1' in " ".join(dashboard.split())


def test_a_report_kiva_took_without_problems_is_plainly_sent(setup):
    loan = setup.approve(setup.first)
    LoanAtKiva.objects.filter(loan=loan).delete()
    from integrations.kiva.sandbox.services import sandbox_loan_move

    sandbox_loan_move(loan=SandboxLoan.objects.get(), status="payingBack")
    setup.repayment(loan)
    report = setup.approve(
        RepaymentReportFactory(partner=setup.partner, month=date(2026, 2, 1), state=S.SUBMITTED)
    )
    [chunk] = Submission.objects.filter(kind=SubmissionKind.REPAYMENTS)
    assert (report.state, chunk.sent_with_problems) == (S.SENT, False)


def test_a_sent_loan_draft_records_its_uuid_for_reconciliation(setup):
    loan = setup.approve(setup.first)
    assert LoanAtKiva.objects.get(loan=loan).draft_uuid == SandboxLoan.objects.get().uuid


def test_a_submission_records_the_environment_and_the_attempt_the_full_url(setup):
    loan = setup.approve(setup.first)
    submission = Submission.objects.get()
    [attempt] = Attempt.objects.filter(submission=submission)
    assert loan.state == S.SENT
    assert (submission.environment, submission.api_base_url) == (
        "sandbox",
        setup.connection.api_base_url,
    )
    assert attempt.url == (
        setup.connection.api_base_url.rstrip("/")
        + f"/v3/partner/{setup.partner.kiva_partner_id}/loan_draft"
    )
