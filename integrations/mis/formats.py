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
from collections.abc import Callable, Iterator

from django.conf import settings
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
        from openpyxl import load_workbook

        with self.opener() as raw:
            check_workbook_size(raw, self.name)
            try:
                book = load_workbook(raw, read_only=True, data_only=True)
            except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
                raise FileError(
                    Problem(None, "", _("The file is not a valid .xlsx workbook."))
                ) from exc
            try:
                if self.sheet is None:
                    sheet = book.worksheets[0]
                elif self.sheet in book.sheetnames:
                    sheet = book[self.sheet]
                else:
                    return
                for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                    yield number, list(cells)
            finally:
                book.close()


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
    """Refuse a workbook whose parts unpack to more than INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES,
    before anything parses it: a small .xlsx may unzip to gigabytes of XML. The sizes are the
    zip's own (and reading stops at them), so a lying archive cannot get past."""
    limit = settings.INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES
    try:
        with zipfile.ZipFile(raw) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        total = 0  # openpyxl says the file is not a valid workbook
    finally:
        raw.seek(0)
    if total > limit:
        raise FileError(
            Problem(
                None,
                "",
                _(
                    "The workbook unpacks to %(size)d MB, more than the %(limit)d MB allowed. "
                    "Split it, or save it as CSV."
                )
                % {"size": total // 2**20, "limit": limit // 2**20},
                name,
            )
        )


def _header_name(cell) -> str:
    return str(cell).strip().lower() if cell is not None else ""


def has_sheet(opener: Callable, name: str) -> bool:
    from openpyxl import load_workbook

    with opener() as raw:
        try:
            check_workbook_size(raw)
            book = load_workbook(raw, read_only=True)
        except (FileError, zipfile.BadZipFile, KeyError, OSError, ValueError):
            return False
        try:
            return name in book.sheetnames
        finally:
            book.close()


def count_rows(opener: Callable) -> int:
    """About how many records a file holds, cheaply: to choose between running the import in
    the request and in a background task."""
    if is_xlsx(opener):
        from openpyxl import load_workbook

        with opener() as raw:
            try:
                check_workbook_size(raw)
                book = load_workbook(raw, read_only=True)
                return max((book.worksheets[0].max_row or 1) - 1, 0)
            except FileError:
                return 0  # the import refuses it, with the reason
            except (zipfile.BadZipFile, KeyError, OSError, ValueError):
                return 0
    lines = 0
    with opener() as f:
        while chunk := f.read(CHUNK):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)
