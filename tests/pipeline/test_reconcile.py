"""Reconciliation with Kiva's loan list against the real sandbox on a socket: every loan's
Kiva id and status back, in pages, idempotent, resumed after a failure, a deleted draft
flagged, and a loan draft that needs attention settled when Kiva lists it."""

from decimal import Decimal

import requests
from django.core.management import call_command
from django.urls import reverse

from integrations.kiva.client import KivaClient
from integrations.kiva.sandbox.models import SandboxLoan, SandboxPartner
from integrations.kiva.sandbox.services import sandbox_loan_move
from kivaportal.lending.models import KivaStatusChange, Loan, LoanAtKiva
from kivaportal.partners.roles import Role
from kivaportal.pipeline.models import Reconciliation, Submission
from kivaportal.pipeline.models import SubmissionState as St
from kivaportal.pipeline.reconcile import reconcile_partner
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from tests.factories import member

STATUSES = ("inactive", "fundRaising", "raised", "payingBack", "defaulted", "ended", "issue")


def sent_loans(setup, n):
    """`n` sent loans in the portal and their drafts in the sandbox, in Kiva's statuses."""
    loans = Loan.objects.bulk_create(
        Loan(
            partner=setup.partner,
            mis_loan_id=f"R{i:05d}",
            amount=Decimal("100.00"),
            currency="PEN",
            state=S.SENT,
        )
        for i in range(n)
    )
    SandboxLoan.objects.bulk_create(
        SandboxLoan(
            partner=setup.sandboxed,
            kiva_id=None if i % 7 in (0, 6) else 3_000_000 + i,
            status=STATUSES[i % 7],
            internal_loan_id=f"R{i:05d}",
            loan_ids=[f"R{i:05d}"],
            name=f"Rosa {i}",
            currency="PEN",
            amount=Decimal("100.00"),
            payload={},
        )
        for i in range(n)
    )
    return loans


def test_reconciling_1000_loans_pages_through_kiva_and_records_each_loans_id_and_status(setup):
    loans = sent_loans(setup, 1000)

    run = reconcile_partner(connection=setup.connection)

    assert (run.state, run.pages, run.total, run.seen) == ("done", 4, 1000, 1000)
    assert run.matched == 1000 and run.unknown == 0
    by_loan = dict(LoanAtKiva.objects.values_list("loan__mis_loan_id", "status"))
    assert all(by_loan[loan.mis_loan_id] == STATUSES[i % 7] for i, loan in enumerate(loans))
    assert LoanAtKiva.objects.get(loan=loans[3]).kiva_id == 3_000_003
    assert KivaStatusChange.objects.count() == 1000


def test_a_second_reading_changes_nothing_and_a_status_change_is_kept_as_history(setup):
    loans = sent_loans(setup, 10)
    reconcile_partner(connection=setup.connection)
    again = reconcile_partner(connection=setup.connection)
    assert (again.matched, again.changed) == (10, 0)

    sandbox_loan_move(loan=SandboxLoan.objects.get(internal_loan_id="R00003"), status="ended")
    later = reconcile_partner(connection=setup.connection)

    assert later.changed == 1
    changes = KivaStatusChange.objects.filter(loan=loans[3]).order_by("seen_at")
    assert [(c.from_status, c.to_status, c.recorded_by) for c in changes] == [
        ("", "payingBack", None),
        ("payingBack", "ended", None),
    ]


def test_a_draft_deleted_in_pa2_is_flagged_and_not_guessed(setup):
    loans = sent_loans(setup, 5)
    reconcile_partner(connection=setup.connection)

    sandbox_loan_move(loan=SandboxLoan.objects.get(internal_loan_id="R00000"), status="deleted")
    run = reconcile_partner(connection=setup.connection)

    assert run.flagged == 1
    gone = LoanAtKiva.objects.get(loan=loans[0])
    assert gone.missing_since is not None and gone.status == "inactive"
    assert LoanAtKiva.objects.filter(missing_since__isnull=False).count() == 1


class KivaGoesDown(requests.Session):
    """A real session to the sandbox; after `pages` answers of GET loans, the sandbox starts
    answering 500 (its fault injection) for as many tries as the client makes."""

    def __init__(self, sandboxed, pages, tries):
        super().__init__()
        self.sandboxed, self.pages, self.tries = sandboxed, pages, tries

    def request(self, method, url, *args, **kwargs):
        if method == "GET" and url.endswith("/loans"):
            if self.pages == 0:
                SandboxPartner.objects.filter(pk=self.sandboxed.pk).update(
                    error_share=1.0, error_statuses="500", faults_remaining=self.tries
                )
            self.pages -= 1
        return super().request(method, url, *args, **kwargs)


def test_a_reading_stopped_by_kiva_failing_is_resumed_from_its_page(setup, settings):
    settings.KIVA_GET_ATTEMPTS = 2
    sent_loans(setup, 700)
    client = KivaClient(
        setup.connection,
        session=KivaGoesDown(setup.sandboxed, pages=1, tries=2),
        sleep=lambda _s: None,
    )

    stopped = reconcile_partner(connection=setup.connection, client=client)

    assert (stopped.state, stopped.next_offset, stopped.pages) == ("failed", 300, 1)
    assert "500" in stopped.error
    assert LoanAtKiva.objects.count() == 300

    resumed = reconcile_partner(connection=setup.connection)

    assert resumed.pk == stopped.pk
    assert (resumed.state, resumed.pages, resumed.seen) == ("done", 3, 700)
    assert LoanAtKiva.objects.count() == 700
    assert resumed.flagged == 0  # the first page's loans were seen in this same run
    assert Reconciliation.objects.count() == 1


def test_a_loan_draft_needing_attention_is_settled_when_kiva_lists_it(setup):
    setup.connection.read_timeout = 0.5
    setup.connection.save()
    setup.faults(hang_share=1.0, hang_seconds=1.5, faults_remaining=1, list_drafts=False)
    loan = setup.approve(setup.first)
    assert loan.state == S.NEEDS_ATTENTION
    draft = SandboxLoan.objects.get()
    sandbox_loan_move(loan=draft, status="fundRaising")  # published in PA2: now listed

    run = reconcile_partner(connection=setup.connection)

    loan.refresh_from_db()
    submission = Submission.objects.get()
    assert run.settled == 1
    assert (loan.state, submission.state, submission.kiva_reference) == (
        S.SENT,
        St.SENT,
        str(draft.uuid),
    )
    entry = AuditEntry.objects.get(action="kiva.found")
    assert entry.actor is None and entry.data["reference"] == str(draft.uuid)
    assert LoanAtKiva.objects.get(loan=loan).status == "fundRaising"


def test_the_command_reconciles_every_connected_partner(setup, capsys):
    sent_loans(setup, 3)
    call_command("kiva_reconcile")
    assert LoanAtKiva.objects.count() == 3
    assert "done; 3 loans read in 1 pages, 3 matched" in capsys.readouterr().out


def test_a_partner_admin_reconciles_from_the_dashboard_and_a_reviewer_cannot(setup, client):
    sent_loans(setup, 3)
    url = reverse("review:kiva_reconcile", args=[setup.partner.pk])

    client.force_login(setup.reviewer)
    assert client.post(url).status_code == 403
    assert (
        "Reconcile with Kiva now"
        not in client.get(reverse("review:dashboard", args=[setup.partner.pk])).content.decode()
    )
    client.force_login(member(setup.partner, Role.PARTNER_ADMIN, username="padmin"))
    response = client.post(url, follow=True)

    assert response.status_code == 200
    assert "Last reconciliation with Kiva" in response.content.decode()
    assert LoanAtKiva.objects.count() == 3
    assert Reconciliation.objects.get().started_by.username == "padmin"


def test_reconciliation_runs_on_a_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["kiva-reconcile"]
    assert entry["task"] == "kiva.reconcile_all"
    assert entry["schedule"].total_seconds() == settings.KIVA_RECONCILE_HOURS * 3600
