"""Marshmallow fields and the base schema used at the HTTP boundary, and the bounds of any
number read from a request.

``Money`` never rounds input: a sum with a fraction of a kopeck is a request error. Output is
quantized half-up to two decimals, so every sum leaves as a JSON number like ``125.50``.
Default validation messages are Russian: the 1C programmer and the cashier read them.

Every number a request carries (JSON, query string, SOAP) is checked against
``NUMBER_BOUNDS`` before it is converted: ``1e999999`` is a short text and a cheap ``Decimal``,
but turning it into an ``int`` keeps a worker busy for minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import (
    Clamped,
    Context,
    Decimal,
    InvalidOperation,
    Overflow,
    Rounded,
    Subnormal,
)
from functools import cache
from typing import Any

from marshmallow import Schema as _Schema
from marshmallow import fields, missing, validate

from mappings.dates import RANGE_TEXT, parse_iso_datetime
from processing.money import is_whole_kopecks, round_money

THOUSANDTH = Decimal("0.001")
MAX_QUANTITY = Decimal("99999.999")
MAX_SUM = Decimal("99999999.99")
# Far beyond any sum, quantity, count or id, far below what makes conversions slow: at most
# 40 significant digits, an adjusted exponent within ±30 (below 1e31, not below 1e-30 unless
# zero). As a decimal context, creating a number outside them raises (at C speed).
MAX_SIGNIFICANT_DIGITS = 40
MAX_ADJUSTED_EXPONENT = 30
MAX_INTEGER_DIGITS = MAX_ADJUSTED_EXPONENT + 1
NUMBER_BOUNDS = Context(
    prec=MAX_SIGNIFICANT_DIGITS,
    Emax=MAX_ADJUSTED_EXPONENT,
    Emin=-MAX_ADJUSTED_EXPONENT,
    traps=[Rounded, Overflow, Subnormal, Clamped, InvalidOperation],
)
_MAX_NUMBER_TEXT = 100
NUMBER_OUT_OF_BOUNDS = (
    "Недопустимое число: слишком большое, слишком малое или со слишком многими знаками."
)


def bounded_decimal(text: str) -> Decimal | None:
    """``text`` as a finite ``Decimal`` within ``NUMBER_BOUNDS``; None for anything else."""
    if len(text) > _MAX_NUMBER_TEXT:
        return None
    try:
        value = NUMBER_BOUNDS.create_decimal(text.strip())
    except ArithmeticError:
        return None
    return value if value.is_finite() else None


def integer_literal_in_bounds(literal: str) -> bool:
    """An integer's digits (JSON has no leading zeros) are within ``NUMBER_BOUNDS``: checked on
    the text, as converting a long one is what must not happen."""
    return len(literal.lstrip("-")) <= MAX_INTEGER_DIGITS


_FIELD_MESSAGES: dict[type[fields.Field[Any]], dict[str, str]] = {
    fields.Field: {
        "required": "Обязательное поле.",
        "null": "Поле не может быть null.",
        "validator_failed": "Недопустимое значение.",
    },
    fields.String: {"invalid": "Ожидается строка.", "invalid_utf8": "Строка не в кодировке UTF-8."},
    fields.Number: {"invalid": "Ожидается число.", "too_large": "Число слишком велико."},
    fields.Integer: {"invalid": "Ожидается целое число."},
    fields.Decimal: {"special": "Недопустимое числовое значение (NaN или бесконечность)."},
    fields.Boolean: {"invalid": "Ожидается true или false."},
    fields.DateTime: {"invalid": "Ожидается дата и время в формате ISO 8601."},
    fields.Date: {"invalid": "Ожидается дата в формате ГГГГ-ММ-ДД."},
    fields.List: {"invalid": "Ожидается список."},
    fields.Nested: {"type": "Ожидается объект."},
    fields.Dict: {"invalid": "Ожидается объект."},
    fields.UUID: {"invalid_uuid": "Ожидается GUID."},
}

for _field_class, _messages in _FIELD_MESSAGES.items():
    _field_class.default_error_messages = {**_field_class.default_error_messages, **_messages}

# The validators' messages, in Russian for every schema (marshmallow reads them as class
# attributes; Range interpolates its bounds' words when a validator is made, after this import).
validate.Length.message_min = "Длина — не меньше {min}."
validate.Length.message_max = "Длина — не больше {max}."
validate.Length.message_all = "Длина — от {min} до {max}."
validate.Length.message_equal = "Длина — ровно {equal}."
validate.Range.message_min = "Значение — {min_op} {{min}}."
validate.Range.message_max = "Значение — {max_op} {{max}}."
validate.Range.message_all = "Значение — {min_op} {{min}} и {max_op} {{max}}."
validate.Range.message_gte = "не меньше"
validate.Range.message_gt = "больше"
validate.Range.message_lte = "не больше"
validate.Range.message_lt = "меньше"
validate.OneOf.default_message = "Допустимые значения: {choices}."
validate.Regexp.default_message = "Значение не подходит по формату."


class Schema(_Schema):
    """Base of every request and response schema."""

    error_messages = {  # noqa: RUF012 - marshmallow reads this class attribute
        "type": "Ожидается объект JSON.",
        "unknown": "Неизвестное поле.",
    }

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """marshmallow's dump, through a converter compiled once per schema class where every
        field is of a kind it knows (the same output, a test compares them): the POS waits on
        every answer, and a receipt has a hundred fields to format."""
        dumper = None if (many or self.many or self.only or self.exclude) else _dumper(type(self))
        if dumper is None:
            return super().dump(obj, many=many)
        return dumper(obj)


class _ExactDecimal(fields.Decimal):
    """A decimal read exactly: never through float, and a numeric string only within
    ``NUMBER_BOUNDS`` (JSON numbers were bounded when the body was parsed)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(as_string=False, allow_nan=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool | float):
            raise self.make_error("invalid")
        if isinstance(value, str) and bounded_decimal(value) is None:
            raise self.make_error("invalid")
        number: Decimal = super()._deserialize(value, attr, data, **kwargs)
        return number


class BoundedInteger(fields.Integer):
    """An integer input (query strings give text): a numeric text beyond ``NUMBER_BOUNDS`` is
    refused before it is converted."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and bounded_decimal(value) is None:
            raise self.make_error("invalid")
        number: int = super()._deserialize(value, attr, data, **kwargs)
        return number


class JsonBoolean(fields.Boolean):
    """true or false as JSON has them: no 0, 1, "yes" or "true" (marshmallow takes those)."""

    default_error_messages = {"invalid": "Ожидается true или false."}  # noqa: RUF012

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class Money(_ExactDecimal):
    """Rubles with at most two decimals in, exactly two decimals out (half-up)."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges this class attribute
        "kopecks": "Сумма указывается в рублях с точностью до копейки (не более 2 знаков).",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        amount = super()._deserialize(value, attr, data, **kwargs)
        if not is_whole_kopecks(amount):
            raise self.make_error("kopecks")
        return amount

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Decimal | None:
        if value is None:
            return None
        return round_money(Decimal(value))


class Quantity(_ExactDecimal):
    """A goods quantity: greater than zero, at most 3 decimals."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges this class attribute
        "quantity": "Количество — больше нуля, не более 3 знаков после запятой и не больше 99999.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        quantity = super()._deserialize(value, attr, data, **kwargs)
        if not (0 < quantity <= MAX_QUANTITY) or quantity != quantity.quantize(THOUSANDTH):
            raise self.make_error("quantity")
        return quantity

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Decimal | None:
        return None if value is None else Decimal(value).quantize(THOUSANDTH)


class StockQuantity(_ExactDecimal):
    """A stock quantity as 1C keeps it: any sign (stock may go negative), at most 3 decimals."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges this class attribute
        "stock": "Остаток — число не более 3 знаков после запятой, по модулю до 999 999 999 999.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        quantity = super()._deserialize(value, attr, data, **kwargs)
        if abs(quantity) > STOCK_LIMIT or quantity != quantity.quantize(THOUSANDTH):
            raise self.make_error("stock")
        return quantity


STOCK_LIMIT = Decimal("999999999999")


class ReceiptSum(Money):
    """A sum on a receipt: not negative, not absurd."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges this class attribute
        "range": "Сумма — от 0 до 99 999 999,99.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        amount = super()._deserialize(value, attr, data, **kwargs)
        if not Decimal(0) <= amount <= MAX_SUM:
            raise self.make_error("range")
        return amount


class StoreDateTime(fields.DateTime):
    """ISO 8601 date-time; without a zone it is the store's local time (as 1C sends it), kept
    naive here and converted with the store's zone at the mapping edge. Years 1900-2999, or
    1C's empty date ("not given")."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges this class attribute
        "invalid": f"Ожидается дата и время в формате ISO 8601 (годы {RANGE_TEXT}).",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = parse_iso_datetime(value) if isinstance(value, str) else None
        if moment is None:
            raise self.make_error("invalid")
        return moment


Convert = Callable[[Any], Any]
_DUMP_HOOKS = ("pre_dump", "post_dump")


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, missing)
    return getattr(obj, name, missing)


def _nullable(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def _list(convert: Convert) -> Convert:
    return lambda value: None if value is None else [convert(item) for item in value]


def _field_converter(field: fields.Field[Any]) -> Convert | None:
    """How ``field`` dumps a present value, exactly as its ``_serialize``; None: unknown kind."""
    if field.data_key or field.attribute or field.load_only or field.dump_default is not missing:
        return None
    kind = type(field)
    if kind in (Money, ReceiptSum):
        return _nullable(lambda value: round_money(Decimal(value)))
    if kind is Quantity:
        return _nullable(lambda value: Decimal(value).quantize(THOUSANDTH))
    if kind is fields.Decimal and field.places is None and not field.as_string:  # type: ignore[attr-defined]
        return _nullable(lambda value: Decimal(str(value)))
    if kind is fields.String:
        return _nullable(str)
    if kind is fields.Integer and not field.as_string:  # type: ignore[attr-defined]
        return _nullable(int)
    if kind is fields.Boolean:
        return lambda value: value
    if kind is fields.DateTime and field.format is None:  # type: ignore[attr-defined]
        return _nullable(lambda value: value.isoformat())
    if kind is fields.List:
        inner = _field_converter(field.inner)  # type: ignore[attr-defined]
        return None if inner is None else _list(inner)
    if kind is fields.Nested and not field.many:  # type: ignore[attr-defined]
        nested = field.schema  # type: ignore[attr-defined]
        if not isinstance(nested, Schema) or nested.only or nested.exclude or nested.many:
            return None
        dumper = _dumper(type(nested))
        return None if dumper is None else _nullable(dumper)
    return None


@cache
def _dumper(schema: type[Schema]) -> Convert | None:
    if any(schema._hooks.get(tag) for tag in _DUMP_HOOKS):
        return None
    converters = []
    for name, field in schema._declared_fields.items():
        convert = _field_converter(field)
        if convert is None:
            return None
        converters.append((name, convert))

    def dump(obj: Any) -> dict[str, Any]:
        out = {}
        for name, convert in converters:
            value = _get(obj, name)
            if value is not missing:
                out[name] = convert(value)
        return out

    return dump
