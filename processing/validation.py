"""Field checks shared by the rule parsers of programs and promotions: numbers, percents and
counts from JSON, each refusal naming its field (``details.field``) in Russian."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from processing.errors import InvalidInput

HUNDRED = Decimal(100)
MAX_NUMBER = Decimal(10) ** 12  # thresholds and sums; far beyond any real program
MAX_DAYS = 36_600  # a hundred years


class InvalidProgramRules(InvalidInput):
    code = "INVALID_PROGRAM_RULES"
    message = "Неверные правила программы лояльности."


def bad_field(path: str, message: str) -> InvalidProgramRules:
    return InvalidProgramRules(f"{message} (поле {path})", details={"field": path})


def decimal_field(data: dict[str, Any], key: str, path: str, default: str | None = None) -> Decimal:
    raw = data.get(key, default)
    if raw is None or isinstance(raw, bool | float):
        raise bad_field(f"{path}.{key}", "Ожидается число в виде строки или целого")
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
