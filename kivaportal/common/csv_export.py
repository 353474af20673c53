"""The one CSV writer for everything the portal exports (audit log, import templates, and any
export added later): cells a spreadsheet would read as a formula are neutralised.

OWASP's rule (CSV injection): a text cell starting with `=`, `+`, `-`, `@`, a tab or a
carriage return is prefixed with a single quote, so Excel, LibreOffice and Google Sheets show
it as text instead of running it (`=HYPERLINK(...)`, `=cmd|...`). Numbers are written as
numbers: only text can carry a formula.
"""

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """`value` as safe to put in a spreadsheet cell."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Line:
    def write(self, value):
        return value


class CsvWriter:
    """csv.writer with every cell neutralised; `writerow` returns the line it wrote."""

    def __init__(self, out=None, delimiter=","):
        self._writer = csv.writer(
            out if out is not None else _Line(), delimiter=delimiter, lineterminator="\r\n"
        )

    def writerow(self, row: Iterable):
        return self._writer.writerow([neutralise(cell) for cell in row])


def csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """One CSV line per row, for a StreamingHttpResponse (a large export never sits in memory)."""
    writer = CsvWriter()
    for row in rows:
        yield writer.writerow(row)


def csv_text(rows: Iterable[Iterable], delimiter=",") -> str:
    out = io.StringIO()
    writer = CsvWriter(out, delimiter=delimiter)
    for row in rows:
        writer.writerow(row)
    return out.getvalue()
