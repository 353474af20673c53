"""Stage and production against the real sandbox on a socket, serving as both: two sandbox
partners (stage and production have their own partner ids and credentials at Kiva), one
portal connection switched from one to the other through the audited service.

A submission belongs to the environment it was approved for; a record's "sent" is per
environment: records sent to stage are listed for staff once the connection is production,
go there only through review, and a new version never waits on a draft that only stage has.
"""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from integrations.kiva.sandbox.models import SandboxLoan, SandboxRequest
from integrations.kiva.sandbox.services import sandbox_loan_move, sandbox_partner_register
from integrations.kiva.services import SANDBOX_AUDIENCE, connection_configure
from kivaportal.lending.models import LoanAtKiva
from kivaportal.partners.roles import Role
from kivaportal.pipeline import sweep
from kivaportal.pipeline.models import Attempt, Submission
from kivaportal.pipeline.models import SubmissionState as St
from kivaportal.pipeline.reconcile import reconcile_partner
from kivaportal.repayments.models import RepaymentReport, SentRepaymentLoan
from kivaportal.repayments.selectors import report_lines, unexpected_loans, zero_line_loans
from kivaportal.review import services
from kivaportal.workflow.errors import ReviewError
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from tests.factories import (
    LoanFactory,
    PartnerFactory,
    RepaymentFactory,
    RepaymentReportFactory,
    member,
)
from tests.kiva.fixtures import SANDBOX_SECRET, sandbox_config

PRODUCTION_CLIENT = "production-client"


@pytest.fixture
def two(setup, settings, kiva_sandbox):
    """The partner on "stage" (the sandbox partner it was registered as) and a second sandbox
    partner playing Kiva production, with its own partner id and client."""
    settings.KIVA_TEST_PLAIN_HTTP_HOSTS = ("127.0.0.1",)
    setup.admin = member(setup.partner, Role.PARTNER_ADMIN, username="padmin")
    setup.base = kiva_sandbox.url.rstrip("/") + "/"
    setup.production_id = "9" + setup.partner.kiva_partner_id
    setup.production = sandbox_partner_register(
        partner_id=setup.production_id,
        client_id=PRODUCTION_CLIENT,
        client_secret=SANDBOX_SECRET,
        audience=SANDBOX_AUDIENCE,
        name="production",
        config=sandbox_config(setup.partner),
    )
    setup.connection = switch(
        setup, "stage", setup.connection.client_id, setup.sandboxed.partner_id
    )
    return setup


def switch(setup, environment, client_id, kiva_partner_id):
    return connection_configure(
        partner=setup.partner,
        environment=environment,
        client_id=client_id,
        client_secret=SANDBOX_SECRET,  # moving a connection needs the secret again
        token_url=setup.base + "oauth/token",
        api_base_url=setup.base,
        audience=SANDBOX_AUDIENCE,
        kiva_partner_id=kiva_partner_id,
        by=setup.admin,
    )


def to_production(setup):
    setup.connection = switch(setup, "production", PRODUCTION_CLIENT, setup.production_id)


def drafts_at(sandboxed):
    return SandboxLoan.objects.filter(partner=sandboxed).exclude(payload={}).count()


def page(client, setup):
    response = client.get(reverse("review:kiva_production", args=[setup.partner.pk]))
    assert response.status_code == 200
    return response.content.decode()


def act(client, setup, action, *records):
    url = reverse("review:kiva_production_act", args=[setup.partner.pk])
    ids = [f"loans:{r.pk}" for r in records]
    response = client.post(url, {"action": action, "ids": ids}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_stage_is_not_production_and_production_waits_for_kivas_approval(two, client):
    setup = two
    sent = setup.approve(setup.first)
    kept = setup.approve(setup.loan(mis_loan_id="KEEP-1"))
    assert (sent.state, kept.state) == (S.SENT, S.SENT)
    assert set(Submission.objects.values_list("environment", flat=True)) == {"stage"}
    assert drafts_at(setup.sandboxed) == 2
    reconcile_partner(connection=setup.connection)
    assert set(LoanAtKiva.objects.values_list("environment", flat=True)) == {"stage"}

    to_production(setup)
    switch_entry = AuditEntry.objects.filter(action="partner.connection_changed").latest("id")
    assert switch_entry.data["fields"]["environment"] == {"from": "stage", "to": "production"}

    # Production sending is refused, with the reason, until Kiva's approval is recorded.
    waiting = setup.loan(mis_loan_id="NEW-1")
    with pytest.raises(ReviewError, match="has not approved"):
        services.record_approve(record=waiting, by=setup.reviewer)
    waiting.refresh_from_db()
    assert waiting.state == S.SUBMITTED

    # Staff see what was only ever sent to stage.
    client.force_login(setup.admin)
    dashboard = client.get(reverse("review:dashboard", args=[setup.partner.pk])).content.decode()
    assert "2 records were sent to stage only, not to production" in dashboard
    shown = page(client, setup)
    assert "is not recorded: nothing is sent to production" in shown
    assert str(sent) in shown and str(kept) in shown and "NEW-1" not in shown

    # Only a partner admin records Kiva's approval; a date in the future is refused.
    url = reverse("review:kiva_stage_approval", args=[setup.partner.pk])
    client.force_login(setup.reviewer)
    assert client.post(url, {"approved_on": "2026-11-30"}).status_code == 403
    client.force_login(setup.admin)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert (
        "in the future" in client.post(url, {"approved_on": tomorrow}, follow=True).content.decode()
    )
    approved_on = timezone.localdate() - timedelta(days=2)
    client.post(url, {"approved_on": approved_on.isoformat()})
    setup.connection.refresh_from_db()
    assert (setup.connection.stage_approved_on, setup.connection.stage_approved_by) == (
        approved_on,
        setup.admin,
    )
    entry = AuditEntry.objects.get(action="kiva.stage_approved")
    assert (entry.actor, entry.data["approved_on"]) == (setup.admin, approved_on.isoformat())

    # Send one for real: a new version through review; approved, it goes to production and
    # is not held back by the draft that only stage has.
    assert "1 submitted for review" in act(client, setup, "send", sent)
    sent.refresh_from_db()
    assert (sent.state, sent.version) == (S.SUBMITTED, 2)
    assert AuditEntry.objects.filter(action="kiva.to_production", object_id=sent.pk).exists()
    sent = setup.approve(sent)
    v2 = Submission.objects.get(object_id=sent.pk, content_type__model="loan", record_version=2)
    assert (sent.state, v2.state, v2.environment) == (S.SENT, St.SENT, "production")
    assert drafts_at(setup.production) == 1 and drafts_at(setup.sandboxed) == 2

    # Leave the other out: audited, and it leaves the list; its stage record stays.
    assert "1 left out of production" in act(client, setup, "leave", kept)
    entry = AuditEntry.objects.get(action="kiva.left_out", object_id=kept.pk)
    assert entry.actor == setup.admin and entry.data["environment"] == "stage"
    shown = page(client, setup)
    assert str(sent) not in shown and str(kept) not in shown
    assert "Nothing was sent to stage only" in shown

    # Now production sending goes ahead for new records.
    waiting = setup.approve(waiting)
    assert waiting.state == S.SENT and drafts_at(setup.production) == 2

    # Reconciling with production: what stage knew of a loan is replaced, never taken for
    # production's, and a loan only stage holds is not flagged as gone from production.
    run = reconcile_partner(connection=setup.connection)
    assert (run.environment, run.state, run.flagged, run.matched) == ("production", "done", 0, 2)
    at = LoanAtKiva.objects.get(loan=sent)
    assert (at.environment, str(at.draft_uuid), at.status) == (
        "production",
        v2.kiva_reference,
        "inactive",
    )
    stage_only = LoanAtKiva.objects.get(loan=kept)
    assert (stage_only.environment, stage_only.missing_since) == ("stage", None)


def test_a_stage_send_still_waiting_is_never_sent_to_production(two):
    setup = two
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.first)
    submission = Submission.objects.get(object_id=loan.pk, content_type__model="loan")
    assert (submission.state, submission.environment) == (St.RETRYING, "stage")

    to_production(setup)
    setup.connection.stage_approved_on = date(2026, 11, 1)
    setup.connection.save()
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now())
    sweep.submissions_sweep()

    submission.refresh_from_db()
    loan.refresh_from_db()
    assert (submission.state, loan.state) == (St.FAILED, S.FAILED)
    assert "connection is now Kiva production: nothing was sent" in submission.error
    with translation.override("es"):  # the environments by their labels, in each language
        assert "Kiva producción" in submission.error_text
    assert drafts_at(setup.production) == 0 and drafts_at(setup.sandboxed) == 0


def test_another_partners_records_cannot_be_sent_or_left_through_this_page(two, client):
    setup = two
    sent = setup.approve(setup.first)
    to_production(setup)
    other = PartnerFactory(name="Otra")
    client.force_login(member(other, Role.PARTNER_ADMIN, username="other-admin"))
    url = reverse("review:kiva_production_act", args=[setup.partner.pk])
    assert client.post(url, {"action": "leave", "ids": [f"loans:{sent.pk}"]}).status_code == 404
    # This partner's admin posting a forged id of another partner's loan.
    client.force_login(setup.admin)
    foreign = LoanFactory(partner=other, state=S.SENT)
    shown = act(client, setup, "leave", foreign)
    assert "not found among this partner" in shown
    assert not AuditEntry.objects.filter(action="kiva.left_out").exists()


def test_a_stage_send_of_unknown_outcome_is_not_looked_up_in_production(two):
    setup = two
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.first)
    submission = Submission.objects.get(object_id=loan.pk, content_type__model="loan")
    # A worker sent it to stage and died before the answer.
    past = timezone.now() - timedelta(hours=1)
    Submission.objects.filter(pk=submission.pk).update(state=St.SENDING, claimed_at=past)
    Attempt.objects.create(
        submission=submission, number=2, endpoint="loan_draft", started_at=past, outcome=""
    )
    to_production(setup)
    setup.connection.stage_approved_on = date(2026, 11, 1)
    setup.connection.save()

    sweep.submissions_sweep()

    submission.refresh_from_db()
    assert submission.state == St.NEEDS_ATTENTION
    looked_up = SandboxRequest.objects.filter(method="GET", path__endswith="/loans")
    assert not looked_up.exists()  # production cannot tell whether stage got it


def test_the_repayment_report_expects_only_what_its_environment_knows(two):
    """After the move to production, the month's report expects zero lines only for loans
    production knows (or a row naming no environment says), not for those only stage knows;
    a loan reported to stage was not reported to production (docs/kiva.md)."""
    setup = two
    only_stage, both = setup.first, setup.loan(mis_loan_id="BOTH-1")
    for loan in (only_stage, both):
        setup.approve(loan)
        sandbox_loan_move(
            loan=SandboxLoan.objects.get(uuid=loan.kiva.draft_uuid), status="payingBack"
        )
    reconcile_partner(connection=setup.connection)
    assert set(LoanAtKiva.objects.values_list("loan_id", "environment", "status")) >= {
        (only_stage.pk, "stage", "payingBack"),
        (both.pk, "stage", "payingBack"),
    }
    RepaymentFactory(loan=both, date=date(2026, 1, 10))
    january = setup.approve(
        RepaymentReportFactory(
            partner=setup.partner,
            month=date(2026, 1, 1),
            state=S.SUBMITTED,
            created_by=setup.preparer,
            updated_by=setup.preparer,
        )
    )
    assert january.state == S.SENT
    # Kiva stage took the line of each (a zero line for the loan that repaid nothing).
    assert set(SentRepaymentLoan.objects.values_list("loan_id", "environment")) == {
        (only_stage.pk, "stage"),
        (both.pk, "stage"),
    }
    february = RepaymentReportFactory(partner=setup.partner, month=date(2026, 2, 1))
    zero = {
        (line.mis_loan_id, line.kiva_status, line.sent_before) for line in report_lines(february)
    }
    assert zero == {
        (only_stage.mis_loan_id, "payingBack", True),
        ("BOTH-1", "payingBack", True),
    }

    to_production(setup)
    # Production's reconciliation lists one of them (as it would once production has it);
    # a row and a reported loan from before environments were recorded count everywhere.
    LoanAtKiva.objects.filter(loan=both).update(environment="production")
    legacy = setup.loan(mis_loan_id="OLD-1")
    SentRepaymentLoan.objects.create(
        partner=setup.partner, loan=legacy, report=january, month=january.month
    )
    february = RepaymentReport.objects.get(pk=february.pk)  # read afresh, as a page does

    # What stage was sent (both loans' January lines) is not "reported before" here.
    lines = report_lines(february)
    assert {(line.mis_loan_id, line.kiva_status, line.sent_before) for line in lines} == {
        ("BOTH-1", "payingBack", False),
        ("OLD-1", "", True),
    }
    assert set(zero_line_loans(february).values_list("mis_loan_id", flat=True)) == {
        "BOTH-1",
        "OLD-1",
    }
    # A repayment of the stage-only loan is not expected by production: it is flagged, not
    # left out as stage's status would say, and not counted as reported before.
    setup.repayment(only_stage)
    february = RepaymentReport.objects.get(pk=february.pk)
    [line] = [line for line in report_lines(february) if line.loan_pk == only_stage.pk]
    assert (line.kiva_status, line.sent_before, line.expected) == ("", False, False)
    assert set(unexpected_loans(february).values_list("pk", flat=True)) == {only_stage.pk}
