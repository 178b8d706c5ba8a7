"""Reading the accountant's questionnaire file (CSV in two encodings and delimiters, XLSX) and
writing the row-error report."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from mappings import questionnaire_file
from mappings.questionnaire_file import (
    UploadFileEmpty,
    UploadFileTooLarge,
    UploadFileUnreadable,
    UploadNoHeader,
    check_size,
    error_report_xlsx,
    read_head,
    read_table,
)


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_cp1251_csv_with_semicolons() -> None:
    data = "Телефон;Фамилия;Дата рождения\r\n8 916 123-45-67;Пётр, Иванов;01.02.1990\r\n"
    table = read_table(data.encode("cp1251"), "анкеты.csv")
    assert table.headers == ["Телефон", "Фамилия", "Дата рождения"]
    assert table.rows == [["8 916 123-45-67", "Пётр, Иванов", "01.02.1990"]]
    assert table.row_number(0) == 2


def test_utf8_bom_csv_with_commas_and_trailing_blank_rows() -> None:
    data = "\ufeffPhone,E-mail\n+79161234567,a@b.ru\n,\n\n".encode()
    table = read_table(data, "x.txt")
    assert table.headers == ["Phone", "E-mail"]
    assert table.rows == [["+79161234567", "a@b.ru"]]


def test_utf8_without_bom_and_short_rows_are_padded() -> None:
    table = read_table("Телефон;Имя;Пол\n9161234567\n".encode(), "a.csv")
    assert table.rows == [["9161234567", "", ""]]


def test_xlsx_cells_read_as_the_accountant_typed_them() -> None:
    data = xlsx(
        [
            [None, None],
            ["Телефон", "Дата рождения", "Бонус", "Согласие"],
            [79161234567.0, datetime(1990, 2, 1), 1.5, True],
            [9161234568, date(2001, 12, 31), None, False],
        ]
    )
    table = read_table(data, "анкеты.bin")  # detected by the zip magic, not the name
    assert table.header_row == 2 and table.row_number(0) == 3
    assert table.headers == ["Телефон", "Дата рождения", "Бонус", "Согласие"]
    assert table.rows == [
        ["79161234567", "01.02.1990", "1.5", "да"],
        ["9161234568", "31.12.2001", "", "нет"],
    ]


def test_read_head_stops_after_the_first_rows() -> None:
    data = ("Телефон\n" + "\n".join(f"+7916000{i:04d}" for i in range(100))).encode()
    head = read_head(data, "a.csv", rows=3)
    assert head.headers == ["Телефон"] and len(head.rows) == 3


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        (b"", "a.csv", UploadFileEmpty),
        (b"\n;;\n\r\n", "a.csv", UploadNoHeader),
        (b"PK\x03\x04 not really a zip", "a.xlsx", UploadFileUnreadable),
        (b"Phone\n1", "a.xlsx", UploadFileUnreadable),
        (bytes(range(1, 32)) * 50, "a.xls", UploadFileUnreadable),
    ],
)
def test_refusals(data: bytes, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_table(data, name)


def test_too_big_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(questionnaire_file, "MAX_FILE_BYTES", 100)
    with pytest.raises(UploadFileTooLarge) as caught:
        read_head(b"Phone\n" + b"9161234567\n" * 20, "a.csv")
    assert caught.value.code == "UPLOAD_FILE_TOO_LARGE"


def test_too_many_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(questionnaire_file, "MAX_ROWS", 5)
    with pytest.raises(UploadFileTooLarge):
        read_table(b"Phone\n" + b"9161234567\n" * 6, "a.csv")
    assert len(read_table(b"Phone\n" + b"9161234567\n" * 5, "a.csv").rows) == 5


def test_error_report_keeps_the_row_and_adds_the_error_column() -> None:
    report = error_report_xlsx(
        ["Телефон", "Имя"],
        [(["123", '=HYPERLINK("x")'], "Телефон: неверный номер."), (["", "a\x01b"], "нет")],
    )
    sheet = load_workbook(io.BytesIO(report)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows == [
        ["Телефон", "Имя", "Ошибка"],
        ["123", '=HYPERLINK("x")', "Телефон: неверный номер."],
        [None, "ab", "нет"],
    ]
    assert sheet["B2"].data_type == "s"  # text, never a formula


def _xlsx(cells: dict[str, object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for ref, value in cells.items():
        sheet[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _repacked(data: bytes, name: str, content: bytes) -> bytes:
    """The workbook with one part replaced (as a hostile file would carry it)."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            target.writestr(
                member.filename, content if member.filename == name else source.read(member)
            )
        if name not in source.namelist():
            target.writestr(name, content)
    return out.getvalue()


def test_a_workbook_that_unpacks_to_far_more_than_it_weighs_is_refused_before_reading() -> None:
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    strings += b"<si><t>a</t></si>" * 2_000_000 + b"</sst>"
    bomb = _repacked(
        _xlsx({"A1": "Телефон", "A2": "+79161234567"}), "xl/sharedStrings.xml", strings
    )
    assert len(bomb) < 1024 * 1024
    with pytest.raises(UploadFileTooLarge):
        read_head(bomb, "анкеты.xlsx")


def test_a_header_far_below_and_a_sheet_declared_huge_are_bounded() -> None:
    far = _xlsx({f"A{questionnaire_file.MAX_LEADING_BLANK_ROWS + 5}": "Телефон"})
    with pytest.raises(UploadNoHeader):
        read_head(far, "анкеты.xlsx")
    # The sheet's last rows only: openpyxl would walk a million empty rows to reach them.
    far = _xlsx({"A1048575": "Телефон", "A1048576": "+79161234567"})
    with pytest.raises(UploadNoHeader):
        read_head(far, "анкеты.xlsx")
    wide = _xlsx({"A1": "Телефон", "B1": "Фамилия", "A2": "+79161234567", "XFD1048576": ""})
    table = read_head(wide, "анкеты.xlsx")
    assert table.headers == ["Телефон", "Фамилия"] and table.rows[0] == ["+79161234567", ""]


def test_a_csv_with_more_lines_than_rows_allowed_is_refused_at_once() -> None:
    lines = "Телефон\n" + "1\n" * (
        questionnaire_file.MAX_ROWS + questionnaire_file.MAX_LEADING_BLANK_ROWS + 1001
    )
    with pytest.raises(UploadFileTooLarge):
        check_size(lines.encode(), "a.csv")
    check_size(b"\xd2\xe5\xeb\xe5\xf4\xee\xed\n1\n", "a.csv")
