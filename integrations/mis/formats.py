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
        for number, cells in rows:
            if header is None:
                header = [_header_name(c) for c in cells]
                while header and not header[-1]:
                    header.pop()
                self.header = header
                continue
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            yield Row(number=number, raw=dict(zip(header, cells, strict=False)), source=self.name)

    def _csv_rows(self):
        encoding = self.encoding if self.encoding in ENCODINGS else detect_encoding(self.opener)
        self.encoding = encoding
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
            except UnicodeDecodeError as exc:
                raise FileError(
                    Problem(
                        number + 1,
                        "",
                        _("The file is not in the %(encoding)s encoding.") % {"encoding": encoding},
                    )
                ) from exc

    def _xlsx_rows(self):
        from openpyxl import load_workbook

        with self.opener() as raw:
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


def _header_name(cell) -> str:
    return str(cell).strip().lower() if cell is not None else ""


def has_sheet(opener: Callable, name: str) -> bool:
    from openpyxl import load_workbook

    with opener() as raw:
        try:
            book = load_workbook(raw, read_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError):
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
                book = load_workbook(raw, read_only=True)
                return max((book.worksheets[0].max_row or 1) - 1, 0)
            except (zipfile.BadZipFile, KeyError, OSError, ValueError):
                return 0
    lines = 0
    with opener() as f:
        while chunk := f.read(CHUNK):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)
