"""The preview runs the record page's checks before anything is imported; the result page
lists and links what was imported and submits, through the review service, those without
blocking errors."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from integrations.mis.import_jobs import import_job_create, import_job_start
from integrations.mis.models import ImportJob, ImportStatus
from kivaportal.common.checks import errors as blocking
from kivaportal.lending.models import Loan
from kivaportal.partners.roles import Role
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState
from tests.factories import PartnerFactory, member
from tests.mis.data import LOANS, MEMBERS, SCHEDULE

# L2: a group loan without its group client id, which Kiva refuses: the file is valid, the
# record's checks (Loan.findings) block it.
GROUP_LOANS = LOANS + "L2,500.00,PEN,2026-01-10,7120,7007,7002,Pisac: Peru,Two sisters.,Yarn.,yes\n"
GROUP_LOANS = GROUP_LOANS.replace(
    "mis_loan_id,amount", "mis_loan_id,loan_type,group_name,amount", 1
)
GROUP_LOANS = GROUP_LOANS.replace("\nL1,", "\nL1,individual,,")
GROUP_LOANS = GROUP_LOANS.replace("\nL2,", "\nL2,group,Sisters,")
GROUP_MEMBERS = MEMBERS + "L2,C1,200.00\nL2,C2,300.00\n"
GROUP_SCHEDULE = SCHEDULE + "L2,2026-02-10,500.00,10.00\n"


def run(request):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return request()


def upload(client, partner, loans=GROUP_LOANS, members=GROUP_MEMBERS, schedule=GROUP_SCHEDULE):
    files = {"file": loans, "members_file": members, "schedule_file": schedule}
    data = {"partner": partner.pk, "kind": "loans", "encoding": "auto"}
    for name, text in files.items():
        data[name] = SimpleUploadedFile(f"{name}.csv", text.encode(), "text/csv")
    run(lambda: client.post("/intake/", data))
    return ImportJob.objects.latest("pk")


def test_the_preview_shows_each_rows_record_checks_and_writes_nothing(client, partner, preparer):
    client.force_login(preparer)
    job = upload(client, partner)
    assert job.status == ImportStatus.CHECKED, job.results
    assert job.results["checks"] == {"ready": 1, "blocked": 1, "with_warnings": 2}
    rows = {p["key"]: p for p in job.results["preview"]}
    assert rows["L1"]["ready"] and not rows["L2"]["ready"]
    assert [f["field"] for f in rows["L2"]["findings"] if f["severity"] == "error"] == [
        "group_client_id"
    ]
    # A rehearsal: nothing stays, not even an audit entry.
    assert (Loan.objects.count(), AuditEntry.objects.count()) == (0, 0)
    page = client.get(f"/intake/jobs/{job.pk}/").content.decode()
    assert page.count("Ready to import") == 1 and "group_client_id is required" in page


def test_imported_records_store_the_pages_checks_and_the_result_page_submits_the_ready(
    client, partner, preparer
):
    client.force_login(preparer)
    job = upload(client, partner)
    run(lambda: client.post(f"/intake/jobs/{job.pk}/commit/"))
    job.refresh_from_db()
    assert job.status == ImportStatus.IMPORTED
    for loan in Loan.objects.all():
        findings = loan.findings()  # what the record page runs
        assert (loan.check_errors, loan.check_warnings) == (
            len(blocking(findings)),
            len(findings) - len(blocking(findings)),
        )
    l1, l2 = Loan.objects.get(mis_loan_id="L1"), Loan.objects.get(mis_loan_id="L2")
    assert (l1.check_errors, l2.check_errors > 0) == (0, True)
    page = client.get(f"/intake/jobs/{job.pk}/").content.decode()
    for loan in (l1, l2):
        assert f'href="/p/{partner.pk}/loans/{loan.pk}/"' in page
    assert "Submit all without blocking errors" in page

    run(lambda: client.post(f"/intake/jobs/{job.pk}/submit/"))
    l1.refresh_from_db()
    l2.refresh_from_db()
    assert (l1.state, l2.state) == (RecordState.SUBMITTED, RecordState.DRAFT)
    entry = AuditEntry.objects.get(action=AuditAction.SUBMITTED)
    assert (entry.object_id, entry.actor) == (l1.pk, preparer)


def test_submit_all_is_refused_to_other_partners_and_to_reviewers(client, partner, preparer):
    client.force_login(preparer)
    job = upload(client, partner)
    run(lambda: client.post(f"/intake/jobs/{job.pk}/commit/"))
    outsider = member(PartnerFactory(), Role.PARTNER_ADMIN)
    client.force_login(outsider)
    assert client.post(f"/intake/jobs/{job.pk}/submit/").status_code == 404
    client.force_login(member(partner, Role.REVIEWER))
    client.post(f"/intake/jobs/{job.pk}/submit/")  # a reviewer's role does not submit
    assert not Loan.objects.filter(state=RecordState.SUBMITTED).exists()
    assert not AuditEntry.objects.filter(action=AuditAction.SUBMITTED).exists()


def test_a_checked_file_cannot_be_submitted_before_it_is_imported(client, partner, preparer):
    client.force_login(preparer)
    job = upload(client, partner)
    client.post(f"/intake/jobs/{job.pk}/submit/")
    assert Loan.objects.count() == 0


def test_journals_show_their_checks_in_the_preview_and_link_to_their_pages(
    client, partner, preparer
):
    from kivaportal.journals.models import Journal
    from tests.factories import LoanFactory

    LoanFactory(partner=partner, mis_loan_id="L1")
    client.force_login(preparer)
    text = "mis_loan_id,subject,body\nL1,The cart,Rosa bought it.\n"
    data = {
        "partner": partner.pk,
        "kind": "journals",
        "encoding": "auto",
        "file": SimpleUploadedFile("j.csv", text.encode(), "text/csv"),
    }
    run(lambda: client.post("/intake/", data))
    job = ImportJob.objects.latest("pk")
    [row] = job.results["preview"]
    assert row["key"] == "L1: The cart" and "photo" in {f["field"] for f in row["findings"]}
    assert not Journal.objects.exists()
    run(lambda: client.post(f"/intake/jobs/{job.pk}/commit/"))
    journal = Journal.objects.get()
    assert journal.check_warnings == len(journal.findings()) - len(blocking(journal.findings()))
    assert journal.check_warnings >= 1
    page = client.get(f"/intake/jobs/{job.pk}/").content.decode()
    assert f'href="/p/{partner.pk}/journals/{journal.pk}/"' in page


def test_a_job_run_now_is_checked_and_imported_in_the_callers_transaction(
    partner, preparer, django_capture_on_commit_callbacks
):
    """`import_job_start(now=True)` (the demo's loader): the same check and import as the
    task's, run in the caller's transaction, with nothing left for a worker; the import still
    needs a checked file."""
    files = {"file": GROUP_LOANS, "members_file": GROUP_MEMBERS, "schedule_file": GROUP_SCHEDULE}
    uploads = {k: SimpleUploadedFile(f"{k}.csv", v.encode()) for k, v in files.items()}
    job = import_job_create(partner=partner, kind="loans", by=preparer, **uploads)

    with django_capture_on_commit_callbacks() as queued:
        with pytest.raises(PermissionDenied):
            import_job_start(job=job, commit=True, by=preparer, now=True)
        checked = import_job_start(job=job, commit=False, by=preparer, now=True)
        assert (checked.status, Loan.objects.count()) == (ImportStatus.CHECKED, 0)
        imported = import_job_start(job=checked, commit=True, by=preparer, now=True)

    assert queued == []
    assert imported.status == ImportStatus.IMPORTED
    assert set(Loan.objects.values_list("mis_loan_id", flat=True)) == {"L1", "L2"}
