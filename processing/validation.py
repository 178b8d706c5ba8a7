"""Field checks shared by the rule parsers of programs, promotions and segment filters: objects,
known fields, lists, numbers, percents, counts and dates from JSON, each refusal naming its
field (``details.field``) in Russian."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from processing.errors import InvalidInput

HUNDRED = Decimal(100)
MAX_NUMBER = Decimal(10) ** 12  # thresholds and sums; far beyond any real program
MAX_DAYS = 36_600  # a hundred years
MAX_LIST = 10_000  # goods, groups... named in one list
MAX_PATH = 200  # the longest field path a refusal names
_PLAIN_NUMBER = re.compile(r"[0-9]{1,15}(\.[0-9]{1,10})?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
EMAIL_LENGTH = 254


class InvalidProgramRules(InvalidInput):
    code = "INVALID_PROGRAM_RULES"
    message = "Неверные правила программы лояльности."


def bad_field(path: str, message: str) -> InvalidProgramRules:
    if len(path) > MAX_PATH:  # a key sent a megabyte long is not echoed back whole
        path = path[:MAX_PATH] + "…"
    return InvalidProgramRules(f"{message} (поле {path})", details={"field": path})


def decimal_field(data: dict[str, Any], key: str, path: str, default: str | None = None) -> Decimal:
    raw = data.get(key, default)
    if raw is None or isinstance(raw, bool | float):
        raise bad_field(f"{path}.{key}", "Ожидается число в виде строки или целого")
    if isinstance(raw, str) and raw.startswith("-"):
        raise bad_field(f"{path}.{key}", "Ожидается неотрицательное число")
    if isinstance(raw, str) and _PLAIN_NUMBER.fullmatch(raw) is None:
        # "1e2", "Infinity", "1_000", " 5": Decimal reads them, a person meant something else
        raise bad_field(f"{path}.{key}", "Ожидается число вида 150 или 99.90")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise bad_field(f"{path}.{key}", "Ожидается число") from exc
    if not value.is_finite() or value < 0:
        raise bad_field(f"{path}.{key}", "Ожидается неотрицательное число")
    if value > MAX_NUMBER:
        raise bad_field(f"{path}.{key}", "Число слишком велико")
    return value


def percent_field(data: dict[str, Any], key: str, path: str, default: str | None = None) -> Decimal:
    value = decimal_field(data, key, path, default)
    if value > HUNDRED:
        raise bad_field(f"{path}.{key}", "Процент не может превышать 100")
    return value


def int_field(data: dict[str, Any], key: str, path: str, default: int | None = None) -> int | None:
    raw = data.get(key, default)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise bad_field(f"{path}.{key}", "Ожидается целое неотрицательное число")
    if raw > MAX_DAYS:
        raise bad_field(f"{path}.{key}", f"Не больше {MAX_DAYS}")
    return raw


def object_value(data: Any, path: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise bad_field(path, "Ожидается объект")
    return data


def known_fields(data: dict[str, Any], path: str, allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise bad_field(f"{path}.{key}", "Неизвестное поле")


def string_set(data: dict[str, Any], key: str, path: str) -> frozenset[str]:
    raw = data.get(key, [])
    if not isinstance(raw, list) or len(raw) > MAX_LIST:
        raise bad_field(f"{path}.{key}", f"Ожидается список строк (не больше {MAX_LIST})")
    values = []
    for item in raw:
        if not isinstance(item, str | int) or isinstance(item, bool) or not str(item).strip():
            raise bad_field(f"{path}.{key}", "Ожидается список непустых строк")
        values.append(str(item).strip())
    return frozenset(values)


def whole_field(data: dict[str, Any], key: str, path: str, *, low: int, high: int,
           default: int | None = None) -> int | None:  # fmt: skip
    raw = data.get(key, default)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise bad_field(f"{path}.{key}", f"Ожидается целое число от {low} до {high}")
    return raw


def required_whole(data: dict[str, Any], key: str, path: str, *, low: int, high: int) -> int:
    value = whole_field(data, key, path, low=low, high=high)
    if value is None:
        raise bad_field(f"{path}.{key}", "Обязательное поле")
    return value


def date_value(raw: Any, path: str) -> date:
    try:
        return date.fromisoformat(str(raw))
    except ValueError as exc:
        raise bad_field(path, "Ожидается дата ГГГГ-ММ-ДД") from exc


def email_address(text: str) -> str | None:
    """An e-mail address as kept (trimmed, lower case), or None when ``text`` is none."""
    address = text.strip().lower()
    return address if len(address) <= EMAIL_LENGTH and _EMAIL.fullmatch(address) else None
