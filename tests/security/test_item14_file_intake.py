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


def uploaded():
    """The job of the file the test uploaded (the demo's own imports are older)."""
    return ImportJob.objects.latest("pk")


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
    in_request = uploaded().status
    for task in queued:
        task()

    job = uploaded()
    assert in_request == ImportStatus.CHECKING  # left to the task, not parsed in the request
    assert job.status == ImportStatus.INVALID
    assert "unpacks to 8 MB, more than the 4 MB allowed" in job_errors(job)[0]["message"]


def test_rows_beyond_the_cap_are_refused_while_streaming(as_user, partner_a, settings):
    settings.INTAKE_MAX_ROWS = 3
    data = (HEADER + "".join(ROW.format(n=n) for n in range(5))).encode()

    upload(as_user("ana.preparer"), partner_a, "borrowers.csv", data)

    job = uploaded()
    assert job.status == ImportStatus.INVALID
    assert job_errors(job)[0]["row"] == 5
    assert "more than 3 rows" in job_errors(job)[0]["message"]


def test_cells_beyond_the_header_are_a_row_error_not_dropped(as_user, partner_a):
    data = (HEADER + ROW.format(n=1) + ROW.format(n=2).rstrip("\n") + ",=1+1,x\n").encode()

    upload(as_user("ana.preparer"), partner_a, "borrowers.csv", data)

    job = uploaded()
    assert job.status == ImportStatus.INVALID
    [error] = job_errors(job)
    assert (error["row"], error["column"]) == (3, "I")
    assert "2 cells beyond the last column of the header" in error["message"]


def test_a_windows_1252_file_read_as_utf8_names_the_line_and_the_encoding(as_user, partner_a):
    data = (HEADER + ROW.format(n=1) + ROW.format(n=2).replace("Rosa", "Nélida")).encode("cp1252")

    upload(as_user("ana.preparer"), partner_a, "borrowers.csv", data, encoding="utf-8")

    job = uploaded()
    assert job.status == ImportStatus.INVALID
    [error] = job_errors(job)
    assert error["row"] == 3
    assert "cannot be read as utf-8 (byte 0xE9)" in error["message"]


# Workbooks crafted by hand: each small on the wire and below the declared-size limit, each a
# bomb of another kind once its XML is read. The readers count what they actually read.
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER_ROW = (
    '<row r="1">'
    + "".join(f'<c t="inlineStr"><is><t>{name}</t></is></c>' for name in HEADER.strip().split(","))
    + "</row>"
)
STRINGS_TYPE = (
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)


def crafted(sheet_data: str, parts: dict[str, bytes] | None = None) -> bytes:
    """A valid borrowers workbook whose first sheet holds `sheet_data` (rows' XML), with extra
    `parts` added (and declared in the content types)."""
    book = Workbook()
    book.active.append(["x"])
    original = io.BytesIO()
    book.save(original)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(original) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = f'<worksheet xmlns="{NS}"><sheetData>{sheet_data}</sheetData></worksheet>'
                data = data.encode()
            elif info.filename == "[Content_Types].xml" and parts:
                data = data.replace(b"</Types>", STRINGS_TYPE.encode() + b"</Types>")
            target.writestr(info.filename, data)
        for name, data in (parts or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def import_in_task(client, partner, data, name="borrowers.xlsx"):
    upload(client, partner, name, data)  # the import task runs as a worker would
    return uploaded()


def assert_refused(job, *fragments):
    assert job.status == ImportStatus.INVALID, (job.status, job.results)
    [error] = job_errors(job)
    for fragment in fragments:
        assert fragment in error["message"], error["message"]
    return error


def test_a_row_of_a_million_cells_is_refused_as_it_streams_naming_the_limit(as_user, partner_a):
    # 300,000 cells in one row: 4 MB of XML, well below the 100 MB a workbook may unpack to,
    # that openpyxl would build in full (a dict and an element per cell) before anyone counts.
    data = crafted(HEADER_ROW + '<row r="2">' + "<c><v>1</v></c>" * 300_000 + "</row>")
    assert len(data) < 100_000

    job = import_in_task(as_user("ana.preparer"), partner_a, data)

    error = assert_refused(job, "Row 2 has more than 1000 cells", "INTAKE_XLSX_MAX_CELLS_PER_ROW")
    assert error["row"] == 2


def test_a_value_far_right_is_refused_not_padded_into_every_row(as_user, partner_a):
    # One cell in column XFD per row would make every row 16,384 values wide.
    rows = "".join(f'<row r="{n}"><c r="XFD{n}"><v>1</v></c></row>' for n in range(2, 2000))
    data = crafted(HEADER_ROW + rows)

    job = import_in_task(as_user("ana.preparer"), partner_a, data)

    assert_refused(job, "Row 2 has a value in column XFD, beyond the 1000 columns")


def test_a_huge_shared_strings_part_is_refused_while_it_is_read(as_user, partner_a, settings):
    # Shared strings are read whole into memory, so they have a limit of their own.
    settings.INTAKE_XLSX_MAX_PART_BYTES = 2**20
    strings = f'<sst xmlns="{NS}">' + "<si><t>a</t></si>" * 200_000 + "</sst>"
    data = crafted(HEADER_ROW, {"xl/sharedStrings.xml": strings.encode()})
    assert len(data) < 100_000

    job = import_in_task(as_user("ana.preparer"), partner_a, data)

    assert_refused(
        job, "part xl/sharedStrings.xml unpacks to more than 1.0", "INTAKE_XLSX_MAX_PART_BYTES"
    )


def lie_about_size(data: bytes, member: str, size: int) -> bytes:
    """`data` with `member`'s uncompressed size, in the local header and the central
    directory, replaced by `size`."""
    data = bytearray(data)
    name = member.encode()
    for signature, offset, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.find(signature)
        while at != -1:
            if data[at + name_at : at + name_at + len(name)] == name:
                data[at + offset : at + offset + 4] = size.to_bytes(4, "little")
            at = data.find(signature, at + 1)
    return bytes(data)


def test_a_member_whose_declared_size_lies_is_refused_with_a_clear_error(
    as_user, partner_a, settings
):
    settings.INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES = 2**20
    rows = "".join(
        f'<row r="{n}"><c t="inlineStr"><is><t>C-{n}</t></is></c></row>' for n in range(2, 60_000)
    )
    honest = crafted(HEADER_ROW + rows)
    data = lie_about_size(honest, "xl/worksheets/sheet1.xml", 2_000)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        declared = sum(info.file_size for info in archive.infolist())
    assert declared < 2**20  # the zip's own sizes pass the first check

    job = import_in_task(as_user("ana.preparer"), partner_a, data)

    # Not "the import failed unexpectedly": the part named, nothing written.
    assert_refused(job, "its part xl/worksheets/sheet1.xml cannot be read")


def test_rows_that_repeat_a_row_number_are_refused_not_skipped(as_user, partner_a):
    # openpyxl skipped rows numbered again silently (and they escaped the row count).
    row = (
        '<row r="2">'
        + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in ROW.format(n=1).split(","))
        + "</row>"
    )
    data = crafted(HEADER_ROW + row + row.replace("C-1", "C-2"))

    job = import_in_task(as_user("ana.preparer"), partner_a, data)

    assert_refused(job, "Row 2 comes after row 2")


def test_an_entity_bomb_in_the_sheet_is_refused_as_invalid_not_a_failure(as_user, partner_a):
    # "Billion laughs": ten levels of entities, each ten of the one below. Expat stops the
    # expansion; the import says the workbook is not valid instead of failing unexpectedly.
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    )
    data = crafted(HEADER_ROW + '<row r="2"><c t="inlineStr"><is><t>&j;</t></is></c></row>')
    source, out = io.BytesIO(data), io.BytesIO()
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(out, "w") as target:
        for info in archive.infolist():
            part = archive.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                part = f"<!DOCTYPE worksheet [{entities}]>".encode() + part
            target.writestr(info.filename, part)

    job = import_in_task(
        as_user("ana.preparer"),
        partner_a,
        out.getvalue(),
    )

    assert_refused(job, "not a valid .xlsx workbook")
