"""Reading MIS files as a stream of rows: CSV in any of the usual encodings and delimiters, and
Excel .xlsx read in openpyxl's read-only mode. Nothing here holds more than one row in memory.

A `FileSource` can be iterated more than once (the import checks every row before it writes
any), so it reopens its file each time. Rows are numbered as a spreadsheet shows them: the
header is row 1, the first record row 2.
"""

import codecs
import csv
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from xml.etree.ElementTree import ParseError, XMLPullParser

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from integrations.mis.importers.base import Problem, Row

ENCODINGS = {
    "utf-8": "utf-8-sig",  # a byte-order mark, when present, is not part of the first column
    "windows-1252": "cp1252",
    "latin-1": "latin-1",
    "utf-16": "utf-16",
}
CHUNK = 1 << 20
csv.field_size_limit(1 << 20)  # a description may be long, but not unbounded


class FileError(Exception):
    """The file as a whole cannot be read; `problem` says why, for the person who sent it."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def detect_encoding(opener: Callable) -> str:
    """UTF-8 when every byte decodes as UTF-8 (with or without BOM), else Windows-1252, else
    Latin-1 (which decodes anything). A whole-file check, streamed: a late accented name must
    not turn a Windows-1252 file into mojibake."""
    with opener() as f:
        head = f.read(4)
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and head[:3] != codecs.BOM_UTF8:
            return "utf-16"
        f.seek(0)
        for name in ("utf-8", "windows-1252"):
            decoder = codecs.getincrementaldecoder(ENCODINGS[name])()
            try:
                while chunk := f.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
                return name
            except UnicodeDecodeError:
                f.seek(0)
    return "latin-1"


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def is_xlsx(opener: Callable) -> bool:
    with opener() as f:
        return f.read(4) == b"PK\x03\x04"


class FileSource:
    """The rows of one CSV file or one sheet of an .xlsx workbook."""

    def __init__(self, opener: Callable, *, name: str, encoding: str = "auto", sheet=None):
        self.opener = opener
        self.name = name  # shown in errors: which of the uploaded files
        self.encoding = encoding
        self.sheet = sheet  # for workbooks: the sheet name (None: the first sheet)
        self.xlsx = is_xlsx(opener)
        self.header: list[str] | None = None

    def __iter__(self) -> Iterator[Row]:
        rows = self._xlsx_rows() if self.xlsx else self._csv_rows()
        header = None
        self.header = []
        max_rows = settings.INTAKE_MAX_ROWS
        for number, cells in rows:
            if header is None:
                header = [_header_name(c) for c in cells]
                while header and not header[-1]:
                    header.pop()
                self.header = header
                continue
            if number > max_rows + 1:
                # Checked as the rows stream by, during the check that precedes any write.
                raise FileError(
                    Problem(
                        number,
                        "",
                        _("The file has more than %(max)d rows: split it into several files.")
                        % {"max": max_rows},
                        self.name,
                    )
                )
            if all(_blank(c) for c in cells):
                continue
            extra = [
                i for i, c in enumerate(cells[len(header) :], start=len(header)) if not _blank(c)
            ]
            yield Row(
                number=number,
                raw=dict(zip(header, cells, strict=False)),
                source=self.name,
                extra_cells=len(extra),
                first_extra_column=_column_letter(extra[0]) if extra else "",
            )

    def _csv_rows(self):
        explicit = self.encoding in ENCODINGS
        encoding = self.encoding if explicit else detect_encoding(self.opener)
        self.encoding = encoding
        # A detected encoding decodes the whole file; a chosen one may not.
        bad_line = first_undecodable_line(self.opener, encoding) if explicit else None
        if bad_line is not None:
            line, byte = bad_line
            raise FileError(
                Problem(
                    line,
                    "",
                    _(
                        "Line %(line)d cannot be read as %(encoding)s (byte 0x%(byte)02X). "
                        "Save the file as UTF-8, or choose the encoding it was saved in "
                        "(for example windows-1252) on the upload page."
                    )
                    % {"line": line, "encoding": encoding, "byte": byte},
                    self.name,
                )
            )
        with self.opener() as raw:
            text = io.TextIOWrapper(raw, encoding=ENCODINGS[encoding], newline="")
            first = text.readline()
            text.seek(0)
            reader = csv.reader(text, delimiter=sniff_delimiter(first))
            number = 0
            try:
                for number, cells in enumerate(reader, start=1):  # noqa: B007
                    yield number, cells
            except csv.Error as exc:
                raise FileError(
                    Problem(number + 1, "", _("The file is not valid CSV: %(e)s") % {"e": exc})
                ) from exc
            except UnicodeDecodeError as exc:  # checked above; kept as a last resort
                raise FileError(
                    Problem(
                        number + 1,
                        "",
                        _("The file is not in the %(encoding)s encoding.") % {"encoding": encoding},
                        self.name,
                    )
                ) from exc

    def _xlsx_rows(self):
        with self.opener() as raw, open_workbook(raw, self.name) as book:
            if self.sheet is None:
                path = book.sheet_paths[0] if book.sheet_paths else None
            else:
                path = dict(zip(book.sheetnames, book.sheet_paths, strict=True)).get(self.sheet)
            if path is None:
                return
            yield from book.rows(path)


def _blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _column_letter(index: int) -> str:
    """A spreadsheet's column letter for a 0-based index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def first_undecodable_line(opener: Callable, encoding: str) -> tuple[int, int] | None:
    """(line number, offending byte) of the first line `encoding` cannot decode, or None.
    Streamed line by line, so the error names the line instead of the file failing."""
    codec = ENCODINGS[encoding]
    if codec in ("latin-1", "utf-16"):
        return None  # latin-1 decodes any byte; utf-16 is not line-oriented in bytes
    decoder = codecs.getincrementaldecoder(codec)()
    with opener() as raw:
        for number, line in enumerate(raw, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as exc:
                return number, exc.object[exc.start]
    return None


def check_workbook_size(raw, name: str = "") -> None:
    """Refuse a workbook whose parts claim to unpack to more than
    INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES, before anything parses it: a small .xlsx may unzip to
    gigabytes of XML. The claim is the zip's own; what is actually read is counted as well
    (`open_workbook`), so an archive that lies is stopped at the same limit."""
    limit = settings.INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES
    try:
        with zipfile.ZipFile(raw) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        total = 0  # reading it says the file is not a valid workbook
    finally:
        raw.seek(0)
    if total > limit:
        raise FileError(
            Problem(
                None,
                "",
                _(
                    "The workbook unpacks to %(size)d MB, more than the %(limit)d MB allowed "
                    "(%(setting)s). Split it, or save it as CSV."
                )
                % {
                    "size": total // 2**20,
                    "limit": limit // 2**20,
                    "setting": "INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES",
                },
                name,
            )
        )


# Reading a workbook against a hostile file. openpyxl reads the small parts (content types,
# workbook, shared strings, styles, theme) whole into memory; the sheet is streamed here, one row
# at a time. Every byte taken out of the zip is counted as it is decompressed, whatever the zip
# claims: in total (INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES) and per part read whole
# (INTAKE_XLSX_MAX_PART_BYTES). A row may hold INTAKE_XLSX_MAX_CELLS_PER_ROW cells, up to that
# column; INTAKE_MAX_ROWS is checked by `FileSource` as the rows stream by.
SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
ROW_TAG, CELL_TAG = SHEET_NS + "row", SHEET_NS + "c"
XML_CHUNK = 1 << 16  # the limits are checked at least this often (bytes of XML)
MAX_DEPTH = 64  # no spreadsheet nests its XML this deep
ELEMENTS_PER_CELL = 16  # a cell with a formula or inline rich text has a few elements


def _limit_error(name: str, message: str, **values) -> FileError:
    return FileError(Problem(values.get("row"), "", message % values, name))


class _Budget:
    """Bytes taken out of one workbook, in total and per part read whole."""

    def __init__(self, name: str):
        self.name = name
        self.total = 0
        self.limit = settings.INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES
        self.part_limit = settings.INTAKE_XLSX_MAX_PART_BYTES

    def spend(self, count: int, part: str, part_total: int, whole: bool) -> None:
        self.total += count
        if whole and part_total > self.part_limit:
            raise _limit_error(
                self.name,
                _(
                    "The workbook's part %(part)s unpacks to more than %(limit)s "
                    "(%(setting)s): it is not a workbook of records. Save the sheet as CSV."
                ),
                part=part,
                limit=filesizeformat(self.part_limit),
                setting="INTAKE_XLSX_MAX_PART_BYTES",
            )
        if self.total > self.limit:
            raise _limit_error(
                self.name,
                _(
                    "The workbook unpacks to more than %(limit)s (%(setting)s), stopped while "
                    "reading %(part)s. Split it, or save it as CSV."
                ),
                part=part,
                limit=filesizeformat(self.limit),
                setting="INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES",
            )


class _CountedPart(io.RawIOBase):
    """One part of the zip, read through the budget: never more than the limits allow, even
    for `read()` of everything (taken in chunks, each counted before the next)."""

    def __init__(self, member, budget: _Budget, part: str, whole: bool):
        super().__init__()
        self.member, self.budget, self.part, self.whole = member, budget, part, whole
        self.count = 0

    def readable(self):
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(XML_CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        try:
            data = self.member.read(min(size, XML_CHUNK))
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise _invalid(self.budget.name, self.part) from exc
        self.count += len(data)
        self.budget.spend(len(data), self.part, self.count, self.whole)
        return data

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        self.member.close()
        super().close()


def _invalid(name: str, part: str = "") -> FileError:
    message = _("The file is not a valid .xlsx workbook.")
    if part:
        message = _("The file is not a valid .xlsx workbook: its part %(part)s cannot be read.") % {
            "part": part
        }
    return FileError(Problem(None, "", message, name))


class _BoundedZipFile(zipfile.ZipFile):
    """A zip whose every member is read through the budget. openpyxl reads its parts with
    `open` (and `read`, which opens): they count as read whole; `open_streamed` is for the
    sheet this module streams itself."""

    budget: _Budget

    def open(self, name, mode="r", pwd=None, **kwargs):
        member = super().open(name, mode, pwd, **kwargs)
        if mode != "r":
            return member
        part = name.filename if isinstance(name, zipfile.ZipInfo) else name
        return _CountedPart(member, self.budget, part, whole=True)

    def open_streamed(self, name):
        return _CountedPart(super().open(name), self.budget, name, whole=False)


class BoundedWorkbook:
    """What the import needs of a workbook: its sheets, and each sheet's rows as a stream."""

    def __init__(self, archive: _BoundedZipFile, book, shared_strings: list, name: str):
        self.archive, self.book, self.name = archive, book, name
        self.shared_strings = shared_strings
        self.sheetnames = book.sheetnames
        self.sheet_paths = [sheet._worksheet_path for sheet in book.worksheets]
        first = book.worksheets[0] if book.worksheets else None
        self.declared_rows = first.max_row if first is not None else 0  # what the sheet claims

    def rows(self, path: str) -> Iterator[tuple[int, list]]:
        """(row number, cell values) of the sheet at `path`, as a spreadsheet numbers them,
        each row padded to the width of the first. Stops with a FileError at the first limit
        passed: cells in a row, the row's width, the bytes read."""
        from openpyxl.worksheet._reader import WorkSheetParser

        cells = WorkSheetParser(
            None,
            self.shared_strings,
            data_only=True,
            epoch=self.book.epoch,
            date_formats=self.book._date_formats,
            timedelta_formats=self.book._timedelta_formats,
        )
        max_cells = settings.INTAKE_XLSX_MAX_CELLS_PER_ROW
        width = None
        last = 0
        with self.archive.open_streamed(path) as stream:
            for element in _row_elements(stream, self.name, path, max_cells):
                number = _row_number(element, last)
                try:
                    number, parsed = cells.parse_row(element)
                except (ValueError, IndexError, TypeError, KeyError) as exc:
                    raise FileError(
                        Problem(
                            number,
                            "",
                            _("Row %(row)d of the sheet cannot be read: %(error)s")
                            % {"row": number, "error": exc},
                            self.name,
                        )
                    ) from exc
                cells.row_dimensions.clear()  # kept by openpyxl for every row: not needed
                if number <= last:
                    raise FileError(
                        Problem(
                            number,
                            "",
                            _("Row %(row)d comes after row %(last)d in the sheet.")
                            % {"row": number, "last": last},
                            self.name,
                        )
                    )
                last = number
                values = {c["column"]: c["value"] for c in parsed if c["value"] is not None}
                beyond = [column for column in values if column > max_cells]
                if beyond:
                    raise _limit_error(
                        self.name,
                        _(
                            "Row %(row)d has a value in column %(column)s, beyond the "
                            "%(max)d columns a row may have (%(setting)s)."
                        ),
                        row=number,
                        column=_column_letter(min(beyond) - 1),
                        max=max_cells,
                        setting="INTAKE_XLSX_MAX_CELLS_PER_ROW",
                    )
                right = max(values, default=0)
                if width is None:
                    width = right
                row = [None] * max(width, right)
                for column, value in values.items():
                    row[column - 1] = value
                yield number, row


def _row_number(element, last: int) -> int:
    try:
        return int(element.get("r") or last + 1)
    except ValueError:
        return last + 1


def _row_elements(stream, name: str, part: str, max_cells: int):
    """The `<row>` elements of a sheet's XML, each whole when yielded, nothing else kept in
    memory. Cells are counted as their tags arrive, so a row of millions of cells is refused
    after the first XML_CHUNK past the limit, not after it is built."""
    pull = XMLPullParser(events=("start", "end"))
    stack, row, last = [], None, 0
    cells = elements = 0
    try:
        while chunk := stream.read(XML_CHUNK):
            pull.feed(chunk)
            for event, element in pull.read_events():
                if event == "start":
                    stack.append(element)
                    if len(stack) > MAX_DEPTH:
                        raise _invalid(name, part)
                    if row is not None:
                        elements += 1
                        cells += element.tag == CELL_TAG
                        if cells > max_cells or elements > max_cells * ELEMENTS_PER_CELL:
                            raise _limit_error(
                                name,
                                _(
                                    "Row %(row)d has more than %(max)d cells (%(setting)s): "
                                    "it is not a row of a record."
                                ),
                                row=_row_number(row, last),
                                max=max_cells,
                                setting="INTAKE_XLSX_MAX_CELLS_PER_ROW",
                            )
                    elif element.tag == ROW_TAG:
                        row, cells, elements = element, 0, 0
                    continue
                stack.pop()
                if element is row:
                    last = _row_number(row, last)
                    row = None
                    yield element
                if row is None and stack:
                    stack[-1].remove(element)  # done with it: keep no finished element
        pull.close()
    except ParseError as exc:
        raise _invalid(name, part) from exc


@contextmanager
def open_workbook(raw, name: str = "") -> Iterator[BoundedWorkbook]:
    """The workbook in the binary file `raw`, read within the limits (see above); a FileError
    says why it cannot be read."""
    from openpyxl.reader.excel import ExcelReader

    check_workbook_size(raw, name)
    try:
        archive = _BoundedZipFile(raw)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _invalid(name) from exc
    archive.budget = _Budget(name)
    try:
        reader = ExcelReader(raw, read_only=True, data_only=True, keep_links=False)
        reader.archive.close()  # its own ZipFile: the bounded one reads instead
        reader.archive, reader.valid_files = archive, archive.namelist()
        try:
            reader.read()
        except (
            zipfile.BadZipFile,
            zlib.error,
            ParseError,  # broken XML, or an entity bomb expat stopped
            KeyError,
            OSError,
            ValueError,
            TypeError,
        ) as exc:
            raise _invalid(name) from exc
        yield BoundedWorkbook(archive, reader.wb, reader.shared_strings, name)
    finally:
        archive.close()


def _header_name(cell) -> str:
    return str(cell).strip().lower() if cell is not None else ""


def has_sheet(opener: Callable, name: str) -> bool:
    with opener() as raw:
        try:
            with open_workbook(raw) as book:
                return name in book.sheetnames
        except FileError:
            return False


def count_rows(opener: Callable) -> int:
    """About how many records a file holds, cheaply: to choose between running the import in
    the request and in a background task."""
    if is_xlsx(opener):
        with opener() as raw:
            try:
                with open_workbook(raw) as book:
                    return max((book.declared_rows or 1) - 1, 0)
            except FileError:
                return 0  # the import refuses it, with the reason
    lines = 0
    with opener() as f:
        while chunk := f.read(CHUNK):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)
