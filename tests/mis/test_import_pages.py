"""The import page: upload, preview, import all or nothing; big files in a task; scoping."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from integrations.mis.models import ImportJob, ImportStatus, IntakeFormat
from kivaportal.lending.models import Loan
from kivaportal.partners.roles import Role
from kivaportal.repayments.models import Repayment
from kivaportal.workflow.models import AuditEntry
from tests.factories import LoanFactory, MembershipFactory, PartnerFactory, member
from tests.mis.data import LOANS, MEMBERS, SCHEDULE


def upload(client, partner, kind, text, name="file.csv", encoding="utf-8", **files):
    data = {
        "partner": partner.pk,
        "kind": kind,
        "encoding": "auto",
        "file": SimpleUploadedFile(name, text.encode(encoding), "text/csv"),
        **{k: SimpleUploadedFile(f"{k}.csv", v.encode(), "text/csv") for k, v in files.items()},
    }
    # The check runs in the task the upload queues (in-process without a broker): run it.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/intake/", data)


def commit(client, job):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/intake/jobs/{job.pk}/commit/")


def test_upload_shows_a_preview_and_writes_nothing_until_imported(client, partner, preparer):
    client.force_login(preparer)
    response = upload(client, partner, "loans", LOANS, members_file=MEMBERS, schedule_file=SCHEDULE)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/intake/jobs/{job.pk}/"
    assert job.status == ImportStatus.CHECKED
    assert (job.results["created"], job.results["error_count"]) == (1, 0)
    assert Loan.objects.count() == 0
    page = client.get(response.url)
    assert b"L1" in page.content and b"Import now" in page.content
    commit(client, job)
    job.refresh_from_db()
    assert job.status == ImportStatus.IMPORTED
    loan = Loan.objects.get()
    assert (loan.created_by, loan.schedule.count(), loan.loan_borrowers.count()) == (preparer, 2, 1)
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.data) == (preparer, {"import_job": job.pk})


def test_a_file_with_errors_shows_them_and_cannot_be_imported(client, partner, preparer):
    client.force_login(preparer)
    text = "mis_repayment_id,mis_loan_id,date,amount\nT1,L404,2026-02-10,5\n"
    upload(client, partner, "repayments", text)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    page = client.get(f"/intake/jobs/{job.pk}/")
    assert b"No loan with this MIS id" in page.content and b"Import now" not in page.content
    commit(client, job)
    assert Repayment.objects.count() == 0
    assert ImportJob.objects.get().status == ImportStatus.INVALID


def test_the_partners_file_format_applies_to_uploads(client, partner, preparer):
    IntakeFormat.objects.create(partner=partner, date_format="%d/%m/%Y", decimal_separator=",")
    LoanFactory(partner=partner, mis_loan_id="L1")
    client.force_login(preparer)
    text = "mis_repayment_id;mis_loan_id;date;amount\nT1;L1;10/02/2026;12,50\n"
    upload(client, partner, "repayments", text, encoding="cp1252")
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.CHECKED, job.results
    commit(client, job)
    assert str(Repayment.objects.get().amount) == "12.500"


def test_every_file_goes_to_the_task_and_the_page_says_it_is_being_read(
    client, partner, preparer, django_capture_on_commit_callbacks
):
    LoanFactory(partner=partner, mis_loan_id="L1")
    client.force_login(preparer)
    rows = "".join(f"T{n},L1,2026-02-10,5.00\n" for n in range(3))  # a small file too
    with django_capture_on_commit_callbacks() as queued:
        client.post(
            "/intake/",
            {
                "partner": partner.pk,
                "kind": "repayments",
                "encoding": "auto",
                "file": SimpleUploadedFile(
                    "r.csv", ("mis_repayment_id,mis_loan_id,date,amount\n" + rows).encode()
                ),
            },
        )
    job = ImportJob.objects.get()
    # The request stored the file and returned: nothing was read, the check is queued.
    assert (job.status, job.rows_total, len(queued)) == (ImportStatus.CHECKING, 0, 1)
    page = client.get(f"/intake/jobs/{job.pk}/").content.decode()
    assert page.count("<progress") == 1 and "being read" in page
    queued[0]()  # what the worker does (Celery is eager without a broker)
    job.refresh_from_db()
    assert (job.status, job.rows_total) == (ImportStatus.CHECKED, 3)
    progress = client.get(f"/intake/jobs/{job.pk}/progress.json").json()
    assert (progress["status"], progress["percent"]) == ("checked", 100)
    assert "T2" in client.get(f"/intake/jobs/{job.pk}/").content.decode()
    with django_capture_on_commit_callbacks() as queued:
        client.post(f"/intake/jobs/{job.pk}/commit/")
    assert Repayment.objects.count() == 0  # the import too runs in the task
    queued[0]()
    assert Repayment.objects.count() == 3


def test_a_running_job_reports_its_progress_from_the_cache(client, partner, preparer):
    from django.core.cache import cache

    from integrations.mis.import_jobs import progress_key

    job = ImportJob.objects.create(
        partner=partner,
        kind="repayments",
        original_name="x.csv",
        rows_total=200,
        status=ImportStatus.CHECKING,
        file="intake/x.csv",
    )
    cache.set(progress_key(job.pk), 50)
    client.force_login(preparer)
    assert client.get(f"/intake/jobs/{job.pk}/progress.json").json()["percent"] == 12


def test_a_reviewer_may_not_import(client, partner):
    reviewer = member(partner, Role.REVIEWER)
    client.force_login(reviewer)
    response = upload(client, partner, "borrowers", "mis_client_id\n")
    assert response.status_code == 200  # the form refuses the partner
    assert ImportJob.objects.count() == 0


def test_another_partners_import_is_not_found(client, partner, preparer):
    other = PartnerFactory()
    outsider = member(other, Role.PARTNER_ADMIN)
    client.force_login(preparer)
    upload(client, partner, "borrowers", "mis_client_id,first_name,last_name,gender\nC7,A,B,f\n")
    job = ImportJob.objects.get()
    client.force_login(outsider)
    assert client.get(f"/intake/jobs/{job.pk}/").status_code == 404
    assert client.get(f"/intake/jobs/{job.pk}/progress.json").status_code == 404
    assert client.post(f"/intake/jobs/{job.pk}/commit/").status_code == 404
    assert job.original_name not in client.get("/intake/").content.decode()


@pytest.mark.parametrize(
    "name", ["borrowers", "loans", "loan_borrowers", "schedule", "repayments", "journals"]
)
def test_each_template_downloads_with_its_columns(client, preparer, name):
    client.force_login(preparer)
    response = client.get(f"/intake/templates/{name}.csv")  # the user's partner by default
    assert response.status_code == 200
    header = response.content.decode().splitlines()[0]
    assert "mis_" in header


def test_the_admin_add_button_leads_to_the_upload_page(client, preparer):
    client.force_login(preparer)
    response = client.get("/admin/mis/importjob/add/")
    assert response.status_code == 302 and response.url == "/intake/"


def test_a_loans_workbook_uploaded_on_the_page_uses_its_three_sheets(
    client, partner, preparer, django_capture_on_commit_callbacks
):
    from tests.mis.helpers import xlsx_bytes

    def sheet(text):
        return [line.split(",") for line in text.strip().splitlines()]

    data = xlsx_bytes(
        {"loans": sheet(LOANS), "borrowers": sheet(MEMBERS), "schedule": sheet(SCHEDULE)}
    )
    client.force_login(preparer)
    # A workbook is always parsed in the import task (here in-process, after the commit).
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/intake/",
            {
                "partner": partner.pk,
                "kind": "loans",
                "encoding": "auto",
                "file": SimpleUploadedFile("loans.xlsx", data, "application/octet-stream"),
            },
        )
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.CHECKED, job.results
    commit(client, job)
    loan = Loan.objects.get()
    assert (loan.loan_borrowers.count(), loan.schedule.count()) == (1, 2)


def test_the_upload_page_offers_only_partners_where_the_user_may_edit(client, partner, preparer):
    other = PartnerFactory(name="Other MFI")
    MembershipFactory(user=preparer, partner=other, role=Role.REVIEWER)
    client.force_login(preparer)
    page = client.get("/intake/").content.decode()
    assert partner.name in page and "Other MFI" not in page
    assert "loan_borrowers.csv" in page


def test_the_problems_are_in_the_language_of_who_uploaded_whatever_the_workers(
    client, partner, preparer, django_capture_on_commit_callbacks
):
    from django.utils import translation

    client.force_login(preparer)
    data = {
        "partner": partner.pk,
        "kind": "repayments",
        "encoding": "auto",
        "file": SimpleUploadedFile("r.csv", b"mis_repayment_id,date\nT1,2026-02-10\n", "text/csv"),
    }
    with django_capture_on_commit_callbacks() as queued:
        client.post("/intake/", data, headers={"accept-language": "es"})
    with translation.override("en"):  # a worker's own language
        queued[0]()

    messages = [e["message"] for e in ImportJob.objects.get().results["errors"]]
    assert "Falta una columna obligatoria." in messages, messages


def test_a_repayments_preview_checks_without_writing_a_row(
    client, partner, preparer, django_capture_on_commit_callbacks
):
    """Only loans and journals have checks of their own to show: the other kinds' preview is
    the check alone, not a rehearsal written and rolled back (docs/performance.md)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(preparer)
    upload(client, partner, "loans", LOANS, members_file=MEMBERS, schedule_file=SCHEDULE)
    commit(client, ImportJob.objects.get())
    with django_capture_on_commit_callbacks() as queued:
        upload_file = SimpleUploadedFile(
            "r.csv",
            b"mis_repayment_id,mis_loan_id,date,amount,principal,interest\n"
            b"T1,L1,2026-02-10,10.00,10,0\n",
            "text/csv",
        )
        client.post("/intake/", {"partner": partner.pk, "kind": "repayments", "file": upload_file,
                                 "encoding": "auto"})  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        queued[0]()

    job = ImportJob.objects.get(kind="repayments")
    assert (job.status, job.results["created"]) == (ImportStatus.CHECKED, 1)
    written = [q["sql"] for q in queries if "repayments_" in q["sql"] and "INSERT" in q["sql"]]
    assert written == []


def test_the_uploader_may_not_approve_what_someone_else_imported(client, partner):
    """The records are by who put their content in: the file's uploader, not whoever pressed
    "Import now" (four eyes, docs/security.md)."""
    from kivaportal.review import services

    uploader = member(partner, Role.PARTNER_ADMIN, username="x")
    client.force_login(uploader)
    upload(client, partner, "loans", LOANS, members_file=MEMBERS, schedule_file=SCHEDULE)
    job = ImportJob.objects.get()
    importer = member(partner, Role.PREPARER, username="y")
    client.force_login(importer)
    commit(client, job)
    loan = Loan.objects.get()
    services.record_submit(record=loan, by=importer)

    assert loan.created_by == uploader
    assert services.four_eyes_refusal(Loan.objects.get(), uploader) is not None
