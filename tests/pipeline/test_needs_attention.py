"""Needs attention, in bulk, over HTTP against the real sandbox on a socket: one page with the
evidence of each submission, "mark as sent with the draft found" and "send again", each
refused with its reason where the evidence does not allow it, audited, by a permitted role,
for the user's partner only."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from integrations.kiva.client import KivaClient
from integrations.kiva.sandbox.models import SandboxLoan, SandboxPartner
from integrations.kiva.sandbox.services import sandbox_loan_move
from kivaportal.lending.models import LoanAtKiva
from kivaportal.partners.roles import Role
from kivaportal.pipeline import sweep
from kivaportal.pipeline.models import Attempt, Submission
from kivaportal.pipeline.models import SubmissionState as St
from kivaportal.pipeline.reconcile import reconcile_partner
from kivaportal.review import services
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from tests.factories import LoanFactory, PartnerFactory, member


def submission_of(loan, version=1):
    return Submission.objects.get(
        object_id=loan.pk, content_type__model="loan", record_version=version
    )


def found_by_reconciliation(setup, settings):
    """A worker posted the draft (Kiva has it) and died; reconciliation then listed it while
    the submission was still *sending*; the sweeper's look-up met only 500s: needs attention,
    with the draft known from reconciliation."""
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.loan(mis_loan_id="FOUND-1"))
    submission = submission_of(loan)
    past = timezone.now() - timedelta(hours=1)
    Submission.objects.filter(pk=submission.pk).update(state=St.SENDING, claimed_at=past)
    Attempt.objects.create(
        submission=submission, number=2, endpoint="loan_draft", started_at=past, outcome=""
    )
    KivaClient(setup.connection).create_loan_draft(submission.payload)  # what the worker sent
    reconcile_partner(connection=setup.connection)
    settings.KIVA_GET_ATTEMPTS = 2
    SandboxPartner.objects.filter(pk=setup.sandboxed.pk).update(
        error_share=1.0, error_statuses="500", faults_remaining=2
    )
    sweep.submissions_sweep()
    loan.refresh_from_db()
    assert loan.state == S.NEEDS_ATTENTION
    return loan


def lost_and_deleted(setup):
    """The answer was lost and Kiva's list (which shows no drafts here) answered without it;
    the person then deleted the draft in PA2: Kiva does not hold it."""
    setup.connection.read_timeout = 0.5
    setup.connection.save()
    setup.faults(hang_share=1.0, hang_seconds=1.5, faults_remaining=1, list_drafts=False)
    loan = setup.approve(setup.loan(mis_loan_id="LOST-1"))
    assert loan.state == S.NEEDS_ATTENTION
    sandbox_loan_move(loan=SandboxLoan.objects.get(internal_loan_id="LOST-1"), status="deleted")
    setup.faults(list_drafts=True)
    return loan


def blocked_new_version(setup):
    """A new version of a sent loan, held back: Kiva still lists the earlier draft."""
    loan = setup.approve(setup.first)
    services.record_start_new_version(record=loan, by=setup.preparer)
    loan.refresh_from_db()
    services.record_submit(record=loan, by=setup.preparer)
    loan = setup.approve(loan)
    assert loan.state == S.NEEDS_ATTENTION
    return loan


def another_partners_submission():
    other = PartnerFactory(name="Otra Cooperativa")
    loan = LoanFactory(partner=other, state=S.NEEDS_ATTENTION)
    return Submission.objects.create(
        partner=other,
        content_type_id=submission_content_type(),
        object_id=loan.pk,
        record_version=1,
        record_label=str(loan),
        kind="loan_draft",
        idempotency_key=f"forged:{loan.pk}",
        endpoint="loan_draft",
        payload="{}",
        payload_sha256="0" * 64,
        state=St.NEEDS_ATTENTION,
    )


def submission_content_type():
    from django.contrib.contenttypes.models import ContentType

    from kivaportal.lending.models import Loan

    return ContentType.objects.get_for_model(Loan).pk


def act(client, setup, action, *submissions, confirm=False):
    data = {"action": action, "ids": [s.pk for s in submissions]}
    if confirm:
        data["confirm_pa2"] = "1"
    url = reverse("review:needs_attention_act", args=[setup.partner.pk])
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_needs_attention_in_bulk_with_the_evidence_on_one_page(setup, settings, client):
    found = found_by_reconciliation(setup, settings)
    lost = lost_and_deleted(setup)
    blocked = blocked_new_version(setup)
    forged = another_partners_submission()
    page_url = reverse("review:needs_attention", args=[setup.partner.pk])
    posts_before = setup.posts("loan_draft")

    # The page: every case of this partner with its evidence, none of another partner's.
    client.force_login(setup.reviewer)
    page = client.get(page_url).content.decode()
    found_uuid = str(LoanAtKiva.objects.get(loan=found).draft_uuid)
    assert page.count('name="ids"') == 3 and forged.record_label not in page
    assert found_uuid in page and "by reconciliation" in page
    assert setup.connection.api_base_url in page  # each attempt's full URL
    assert "Kiva still lists the earlier draft" in page
    assert "lookup_failed" not in page and "Look-up with GET loans failed" in page

    # Mark as sent with the draft found: only where one was found; the others are named.
    page = act(client, setup, "mark_found", submission_of(found), submission_of(lost))
    assert "1 done." in page and "Kiva lists no draft of this loan" in page
    found.refresh_from_db()
    assert (found.state, submission_of(found).kiva_reference) == (S.SENT, found_uuid)
    entry = AuditEntry.objects.get(action="pipeline.marked_sent", object_id=found.pk)
    assert (entry.actor, entry.data["reference"], entry.data["found_by"]) == (
        setup.reviewer,
        found_uuid,
        "reconciliation",
    )

    # Send again: not without the person's check in PA2; then only where Kiva does not hold it.
    page = act(client, setup, "send_again", submission_of(lost), submission_of(blocked, 2))
    assert "I checked in PA2" in page
    assert submission_of(lost).state == St.NEEDS_ATTENTION
    page = act(
        client, setup, "send_again", submission_of(lost), submission_of(blocked, 2), confirm=True
    )
    assert "1 done." in page and "Kiva still lists draft" in page
    lost.refresh_from_db()
    blocked.refresh_from_db()
    assert (lost.state, blocked.state) == (S.SENT, S.NEEDS_ATTENTION)
    assert setup.posts("loan_draft") == posts_before + 1  # the one re-send, nothing else
    entry = AuditEntry.objects.get(action="pipeline.send_again", object_id=lost.pk)
    assert entry.actor == setup.reviewer and entry.data["bulk"] is True

    # A forged id of another partner's submission is refused and left alone.
    page = act(client, setup, "send_again", forged, confirm=True)
    assert f"Submission {forged.pk}: not found" in page
    forged.refresh_from_db()
    assert forged.state == St.NEEDS_ATTENTION

    # The earlier draft, listed by Kiva, deleted in PA2 and seen gone by reconciliation: now
    # it may go.
    reconcile_partner(connection=setup.connection)
    sandbox_loan_move(
        loan=SandboxLoan.objects.get(internal_loan_id=blocked.mis_loan_id), status="deleted"
    )
    reconcile_partner(connection=setup.connection)
    page = act(client, setup, "send_again", submission_of(blocked, 2), confirm=True)
    assert "1 done." in page
    blocked.refresh_from_db()
    assert blocked.state == S.SENT


def test_only_a_permitted_role_acts_and_another_partners_page_is_not_found(setup, client):
    lost = lost_and_deleted(setup)
    client.force_login(setup.preparer)
    page = client.get(reverse("review:needs_attention", args=[setup.partner.pk]))
    assert page.status_code == 200 and 'name="ids"' not in page.content.decode()
    url = reverse("review:needs_attention_act", args=[setup.partner.pk])
    data = {"action": "send_again", "ids": [submission_of(lost).pk], "confirm_pa2": "1"}
    assert client.post(url, data).status_code == 403
    assert submission_of(lost).state == St.NEEDS_ATTENTION

    other = PartnerFactory(name="Otra")
    client.force_login(member(other, Role.REVIEWER, username="other-reviewer"))
    assert client.get(reverse("review:needs_attention", args=[setup.partner.pk])).status_code == 404
    assert client.post(url, data).status_code == 404
    assert submission_of(lost).state == St.NEEDS_ATTENTION
