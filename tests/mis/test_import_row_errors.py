"""What lands on the import page for the two input errors of issue 10, item 14: cells beyond
the header (CSV and workbook sheets, each a row error naming the sheet, row and column), and a
file that does not decode in the encoding chosen (or set in the partner's file format): the
file, the line and the encoding tried — never "The import failed unexpectedly"."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from integrations.mis.models import ImportJob, ImportStatus, IntakeFormat
from kivaportal.lending.models import Loan
from tests.mis.data import LOANS, MEMBERS, SCHEDULE
from tests.mis.helpers import xlsx_bytes


def upload(client, partner, name, data, kind="loans", encoding="auto", **files):
    post = {
        "partner": partner.pk,
        "kind": kind,
        "encoding": encoding,
        "file": SimpleUploadedFile(name, data),
        **{k: SimpleUploadedFile(f"{k}.csv", v) for k, v in files.items()},
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post("/intake/", post)
    return ImportJob.objects.latest("pk")


def rows(text):
    return [line.split(",") for line in text.strip().splitlines()]


def test_a_cell_beyond_the_header_of_a_workbook_sheet_is_an_error_on_its_row(
    client, partner, preparer
):
    members = rows(MEMBERS)
    members[1] += ["", "surplus"]  # columns D (empty: fine) and E
    data = xlsx_bytes({"loans": rows(LOANS), "borrowers": members, "schedule": rows(SCHEDULE)})
    client.force_login(preparer)
    job = upload(client, partner, "loans.xlsx", data)
    assert job.status == ImportStatus.INVALID
    [error] = job.results["errors"]
    assert (error["file"], error["row"], error["column"]) == ("borrowers", 2, "E")
    assert "1 cell beyond the last column of the header (from column E)" in error["message"]
    page = client.get(f"/intake/jobs/{job.pk}/").content.decode()
    assert "cell beyond the last column" in page
    assert not Loan.objects.exists()


def test_a_members_file_not_in_the_partners_encoding_names_file_line_and_encoding(
    client, partner, preparer
):
    IntakeFormat.objects.create(partner=partner, encoding="utf-8")
    members = (MEMBERS + "L1,C2,0.00\n").replace("L1,C2", "L1,Ñ2").encode("cp1252")
    client.force_login(preparer)
    job = upload(
        client,
        partner,
        "loans.csv",
        LOANS.encode(),
        members_file=members,
        schedule_file=SCHEDULE.encode(),
    )
    assert job.status == ImportStatus.INVALID  # not FAILED: the reason is the file's
    [error] = job.results["errors"]
    assert error["file"] == "members_file.csv" and error["row"] == 3
    assert "cannot be read as utf-8 (byte 0xD1)" in error["message"]
    assert "windows-1252" in error["message"]  # what to choose instead
    page = client.get(f"/intake/jobs/{job.pk}/").content.decode()
    assert "The import failed unexpectedly" not in page and "cannot be read as utf-8" in page


def test_a_jobs_failure_reads_in_the_readers_language_and_an_old_one_as_it_was(
    client, partner, preparer, settings
):
    from django.utils import timezone, translation

    from integrations.mis.retention import import_files_purge

    settings.INTAKE_FILE_RETENTION_DAYS = 30
    client.force_login(preparer)
    job = upload(client, partner, "loans.csv", LOANS.encode(), members_file=MEMBERS.encode())
    assert job.status == ImportStatus.CHECKED  # a preview nobody imported
    ImportJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - timezone.timedelta(days=31)
    )
    with translation.override("fr"):  # whatever language the purge runs in
        assert import_files_purge() == 1
    job.refresh_from_db()
    msgid = (
        "The uploaded files were deleted after %(days)d days without an import; upload them again."
    )
    with translation.override("es"):
        spanish = translation.gettext(msgid) % {"days": 30}
    assert spanish != msgid % {"days": 30}
    page = client.get(f"/intake/jobs/{job.pk}/", headers={"accept-language": "es"})
    assert spanish in page.content.decode()
    # A job written before: its text shows as it was.
    ImportJob.objects.filter(pk=job.pk).update(results={"failure": "Escrito antes."})
    page = client.get(f"/intake/jobs/{job.pk}/", headers={"accept-language": "es"})
    assert "Escrito antes." in page.content.decode()
