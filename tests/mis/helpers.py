"""Building inputs for the importers in tests: CSV text in any encoding, or a workbook."""

import io

from integrations.mis.formats import FileSource


def csv_source(text: str, *, name="upload.csv", encoding="utf-8", bom=False, **kwargs):
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    return bytes_source(data, name=name, **kwargs)


def bytes_source(data: bytes, *, name="upload.csv", **kwargs):
    return FileSource(lambda: io.BytesIO(data), name=name, **kwargs)


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
