"""Questionnaire files as accountants make them, for the upload pages' tests."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook

HEADERS = ["Фамилия", "Имя", "Телефон", "E-mail", "Дата рождения", "Согласие на обработку ПДн"]
BAD_PHONE_ROW = 101  # the file's row numbers (the header is row 1) of the three bad rows
REPEAT_ROW = 501
BAD_EMAIL_ROW = 901


def phone(i: int) -> str:
    return f"+7 (903) {i // 10000:03d}-{i // 100 % 100:02d}-{i % 100:02d}"


def questionnaire_xlsx(count: int = 1000) -> tuple[bytes, dict[str, str]]:
    """``count`` customers, three rows of them bad: a phone too short, a phone repeated from an
    earlier row (that repeat carries the e-mail the first row lacks), an e-mail without a domain.
    Returns the file and what the test needs to know of it."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    for i in range(2, count + 2):
        row: list[object] = [
            f"Фамилия{i}",
            "Анна",
            phone(i),
            f"anna{i}@shop.ru",
            date(1990, 1, 1 + i % 28),
            "да",
        ]
        if i == BAD_PHONE_ROW:
            row[2] = "12345"
        if i == REPEAT_ROW:
            row[2], row[3] = phone(7), "repeat@shop.ru"
        if i == 7:
            row[3] = None  # the first row of that phone has no e-mail
        if i == BAD_EMAIL_ROW:
            row[3] = "anna@"
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), {"repeated_phone": "+79030000007", "repeat_email": "repeat@shop.ru"}


def questionnaire_csv() -> bytes:
    lines = [
        "Телефон;Фамилия;Имя;Согласие на рассылку",
        "8 916 111-22-33;Сидорова;Мария;да",
        "8 916 111-22-44;Кузнецов;Пётр;нет",
        "916 11;Неверный;Телефон;да",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")
