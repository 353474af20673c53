"""A big bulk approval's page in a real browser (issues 13 and 14): while its job waits and
runs, the page shows the counts and polls; when the job ends, the page shows, without a
reload by the user, what was done with each record."""

import pytest
from django.contrib.contenttypes.models import ContentType
from playwright.sync_api import expect

from kivaportal.lending.models import Loan
from kivaportal.partners.roles import Role
from kivaportal.review.bulk_jobs import bulk_approval_run
from kivaportal.review.models import BulkApproval
from kivaportal.workflow.states import RecordState
from tests.factories import KivaConnectionFactory, LoanFactory, PartnerFactory, member

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_page_follows_the_job_and_then_lists_each_record(live_server, page):
    partner = PartnerFactory(name="Cooperativa Lote")
    KivaConnectionFactory(partner=partner)
    preparer = member(partner, Role.PREPARER, username="prep")
    reviewer = member(partner, Role.REVIEWER, username="rev")
    mine = {"partner": partner, "state": RecordState.SUBMITTED}
    loans = [
        LoanFactory(mis_loan_id=f"LOTE-{n}", created_by=preparer, updated_by=preparer, **mine)
        for n in range(3)
    ]
    own = LoanFactory(mis_loan_id="LOTE-OWN", created_by=reviewer, updated_by=reviewer, **mine)
    # As `bulk_approval_start` leaves it when no worker has taken it yet.
    job = BulkApproval.objects.create(
        created_by=reviewer,
        content_type=ContentType.objects.get_for_model(Loan),
        record_ids=sorted(loan.pk for loan in [*loans, own]),
        total=4,
        language="en",
    )

    page.goto(f"{live_server.url}/accounts/login/")
    page.locator('input[name="username"]').fill("rev")
    page.locator('input[name="password"]').fill("secret-pass-123")
    page.locator('form button[type="submit"], form input[type="submit"]').last.click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/bulk-approvals/{job.pk}/")
    status = page.locator('[role="status"]')
    expect(status).to_contain_text("0 of 4 records done")
    expect(page.locator("h2#h-bulk")).to_contain_text("Waiting to start")

    bulk_approval_run(job_id=job.pk)  # the worker takes it

    # The page notices by itself, then lists each record.
    expect(status).to_contain_text("4 of 4 records done: 3 approved, 1 refused", timeout=15_000)
    expect(page.locator("h2#h-bulk")).to_contain_text("Done")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("LOTE-OWN")
    expect(rows.first).to_contain_text("Four eyes: you created")
    expect(page.locator("[data-job-progress]")).to_have_count(0)
