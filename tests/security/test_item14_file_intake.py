"""Item 14: file intake limits. A workbook is measured (uncompressed size) before anything
parses it and is never parsed inside the web request; rows are capped while they stream;
cells beyond the header are a row error; a file in another encoding than the one chosen is
refused naming the line and the encoding."""

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from openpyxl import Workbook

from integrations.mis.models import ImportJob, ImportStatus

HEADER = "mis_client_id,first_name,last_name,gender,birth_date,phone,city,is_active\n"
ROW = "C-{n},Rosa,Quispe,female,1984-05-02,984 000 111,Pisac,yes\n"


def upload(client, partner, name, data, encoding="auto", run_task=True):
    """The upload; with `run_task`, the import task it queues runs as a worker would."""
    with TestCase.captureOnCommitCallbacks(execute=run_task):
        return client.post_from(
            "/intake/",
            {
                "partner": str(partner.pk),
                "kind": "borrowers",
                "encoding": encoding,
                "file": SimpleUploadedFile(name, data, "application/octet-stream"),
            },
        )


def job_errors(job):
    return job.results.get("errors", [])


def bomb(padding_bytes):
    """A valid borrowers workbook carrying a part that unpacks to `padding_bytes` of zeros."""
    book = Workbook()
    sheet = book.active
    for line in (HEADER + ROW.format(n=1)).splitlines():
        sheet.append(line.split(","))
    out = io.BytesIO()
    book.save(out)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * padding_bytes)
    return out.getvalue()


def test_a_workbook_that_unpacks_too_big_is_refused_before_parsing_and_outside_the_request(
    as_user, partner_a, settings, django_capture_on_commit_callbacks
):
    settings.INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES = 4 * 2**20
    data = bomb(8 * 2**20)
    assert len(data) < 100_000
    client = as_user("ana.preparer")

    with django_capture_on_commit_callbacks(execute=False) as queued:
        upload(client, partner_a, "borrowers.xlsx", data, run_task=False)
    in_request = ImportJob.objects.get().status
    for task in queued:
        task()

    job = ImportJob.objects.get()
    assert in_request == ImportStatus.CHECKING  # left to the task, not parsed in the request
    assert job.status == ImportStatus.INVALID
    assert "unpacks to 8 MB, more than the 4 MB allowed" in job_errors(job)[0]["message"]


def test_rows_beyond_the_cap_are_refused_while_streaming(as_user, partner_a, settings):
    settings.INTAKE_MAX_ROWS = 3
    data = (HEADER + "".join(ROW.format(n=n) for n in range(5))).encode()

    upload(as_user("ana.preparer"), partner_a, "borrowers.csv", data)

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    assert job_errors(job)[0]["row"] == 5
    assert "more than 3 rows" in job_errors(job)[0]["message"]


def test_cells_beyond_the_header_are_a_row_error_not_dropped(as_user, partner_a):
    data = (HEADER + ROW.format(n=1) + ROW.format(n=2).rstrip("\n") + ",=1+1,x\n").encode()

    upload(as_user("ana.preparer"), partner_a, "borrowers.csv", data)

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    [error] = job_errors(job)
    assert (error["row"], error["column"]) == (3, "I")
    assert "2 cells beyond the last column of the header" in error["message"]


def test_a_windows_1252_file_read_as_utf8_names_the_line_and_the_encoding(as_user, partner_a):
    data = (HEADER + ROW.format(n=1) + ROW.format(n=2).replace("Rosa", "Nélida")).encode("cp1252")

    upload(as_user("ana.preparer"), partner_a, "borrowers.csv", data, encoding="utf-8")

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    [error] = job_errors(job)
    assert error["row"] == 3
    assert "cannot be read as utf-8 (byte 0xE9)" in error["message"]
