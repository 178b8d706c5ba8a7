"""The accountant's questionnaire file: CSV (UTF-8 with or without BOM, or windows-1251; ``;``
or ``,``) or XLSX read into a ``Table`` of strings as the accountant typed them, and the
row-error report written back as XLSX."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from itertools import islice
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from processing.errors import InvalidInput
from processing.uploads.service import Table

MAX_FILE_BYTES = 32 * 1024 * 1024  # as MAX_BODY_BYTES: the page's request cannot carry more
MAX_ROWS = 200_000
MAX_COLUMNS = 200
MAX_LEADING_BLANK_ROWS = 1000  # the header is looked for no further down
# An XLSX is a zip: what it unpacks to is bounded before openpyxl reads it, so a small file
# cannot expand into gigabytes (a zip bomb, or a shared-strings table of millions of entries).
MAX_XLSX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_XLSX_RATIO = 200  # real workbooks pack 5-20 times; bombs a thousand times and more
SNIFF_BYTES = 64 * 1024
ERROR_COLUMN = "Ошибка"
_ZIP_MAGIC = b"PK\x03\x04"


class UploadFileEmpty(InvalidInput):
    code = "UPLOAD_FILE_EMPTY"
    message = "Файл пуст. Выберите файл анкет в формате CSV или XLSX."


class UploadFileUnreadable(InvalidInput):
    code = "UPLOAD_FILE_UNREADABLE"
    message = (
        "Файл не удалось прочитать. Сохраните анкеты как CSV (разделитель «;» или «,») "
        "или как книгу Excel (.xlsx) и загрузите снова."
    )


class UploadNoHeader(InvalidInput):
    code = "UPLOAD_NO_HEADER"
    message = "В файле нет строки заголовков: первая заполненная строка должна называть столбцы."


class UploadFileTooLarge(InvalidInput):
    code = "UPLOAD_FILE_TOO_LARGE"
    message = (
        f"Файл слишком большой: не более {MAX_FILE_BYTES // (1024 * 1024)} МБ и "
        f"{MAX_ROWS:,} строк. Разделите его на несколько файлов.".replace(",", " ")
    )


def is_xlsx(data: bytes, file_name: str) -> bool:
    return data.startswith(_ZIP_MAGIC) or file_name.lower().endswith((".xlsx", ".xlsm"))


def read_table(data: bytes, file_name: str) -> Table:
    """The whole file: its header row and every data row (trailing blank rows dropped)."""
    header_row, headers, rows = _open(data, file_name)
    kept: list[list[str]] = []
    for row in rows:
        kept.append(row)
        if len(kept) > MAX_ROWS + 1000:  # blank rows at the end are not counted yet
            break
    while kept and not any(cell.strip() for cell in kept[-1]):
        kept.pop()
    if len(kept) > MAX_ROWS:
        raise UploadFileTooLarge(details={"max_rows": MAX_ROWS})
    return Table(headers, kept, header_row)


def check_size(data: bytes, file_name: str) -> None:
    """Refuse at once a CSV with more lines than the rows allowed (an XLSX's rows are only
    known when it is read: its check then fails with the same reason)."""
    if (
        not is_xlsx(data, file_name)
        and data.count(b"\n") > MAX_LEADING_BLANK_ROWS + MAX_ROWS + 1000
    ):
        raise UploadFileTooLarge(details={"max_rows": MAX_ROWS})


def read_head(data: bytes, file_name: str, rows: int = 10) -> Table:
    """The header and the first ``rows`` rows, without reading the rest of the file."""
    header_row, headers, body = _open(data, file_name)
    return Table(headers, list(islice(body, rows)), header_row)


def _open(data: bytes, file_name: str) -> tuple[int, list[str], Iterator[list[str]]]:
    if not data:
        raise UploadFileEmpty()
    if len(data) > MAX_FILE_BYTES:
        raise UploadFileTooLarge(details={"max_bytes": MAX_FILE_BYTES})
    raw = _xlsx_rows(data) if is_xlsx(data, file_name) else _csv_rows(data)
    for number, row in enumerate(raw, start=1):
        if number > MAX_LEADING_BLANK_ROWS:
            break
        if any(cell.strip() for cell in row):
            headers = _trim(row)
            if len(headers) > MAX_COLUMNS:
                raise UploadFileUnreadable(
                    f"В файле больше {MAX_COLUMNS} столбцов: оставьте только столбцы анкеты.",
                    details={"max_columns": MAX_COLUMNS},
                )
            return number, headers, _fitted(raw, len(headers))
    raise UploadNoHeader()


def _trim(row: list[str]) -> list[str]:
    end = len(row)
    while end and not row[end - 1].strip():
        end -= 1
    return [cell.strip() for cell in row[:end]]


def _fitted(rows: Iterator[list[str]], width: int) -> Iterator[list[str]]:
    for row in rows:
        yield (row + [""] * (width - len(row)))[:width]


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        text = data.decode("utf-8-sig", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            # windows-1251 leaves one byte (0x98) undefined: a stray one is not worth a refusal
            text = data.decode("cp1251", errors="replace")
    return text.replace("\x00", "")


def _delimiter(text: str) -> str:
    sample = text[:SNIFF_BYTES]
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,").delimiter
    except csv.Error:
        first_line = sample.split("\n", 1)[0]
        return "," if first_line.count(",") > first_line.count(";") else ";"


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    if "\x00" in text or _looks_binary(text):
        raise UploadFileUnreadable()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        yield from reader
    except csv.Error as exc:
        raise UploadFileUnreadable(details={"line": reader.line_num}) from exc


def _looks_binary(text: str) -> bool:
    head = text[:4096]
    controls = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\r\n")
    return controls > len(head) // 10


def _check_unpacked(data: bytes) -> None:
    """Refuse a workbook whose parts unpack to more than the bounds (``UploadFileTooLarge``)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise UploadFileUnreadable() from exc
    total = sum(member.file_size for member in members)
    too_packed = any(
        member.file_size > MAX_XLSX_RATIO * max(member.compress_size, 1024) for member in members
    )
    if total > MAX_XLSX_UNPACKED_BYTES or too_packed:
        raise UploadFileTooLarge(details={"unpacked_bytes": total})


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    _check_unpacked(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl's own errors of a broken workbook
        raise UploadFileUnreadable() from exc
    try:
        sheet = book.worksheets[0]
        # Bounded whatever the sheet's declared dimension says: openpyxl pads every row to it.
        rows = sheet.iter_rows(
            values_only=True,
            max_col=MAX_COLUMNS + 1,
            max_row=MAX_LEADING_BLANK_ROWS + MAX_ROWS + 1001,
        )
        for values in rows:
            yield [cell_text(value) for value in values]
    except UploadFileUnreadable:
        raise
    except Exception as exc:
        raise UploadFileUnreadable() from exc
    finally:
        book.close()


def cell_text(value: Any) -> str:
    """An XLSX cell as the accountant typed it: dates as ДД.ММ.ГГГГ, 79161234567 without
    ".0", да/нет for a boolean."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.strftime("%d.%m.%Y")
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return repr(value)
    return str(value)


def error_report_xlsx(headers: list[str], rows: Iterable[tuple[list[str], str]]) -> bytes:
    """The rows that were not loaded, each as it was in the file plus a last column «Ошибка»."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Ошибки")
    sheet.append([_text_cell(sheet, value) for value in [*headers, ERROR_COLUMN]])
    for row, message in rows:
        sheet.append([_text_cell(sheet, value) for value in [*row, message]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _text_cell(sheet: WriteOnlyWorksheet, value: str) -> Cell:
    # Always a text cell: a value starting with "=" from someone's file must not become a
    # formula in the accountant's Excel.
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"
    return cell
