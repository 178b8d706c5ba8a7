"""Column types shared by every model: money in kopecks and aware UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, DateTime, Dialect, func, type_coerce
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeDecorator

from processing.money import from_kopecks, to_kopecks


class Money(TypeDecorator[Decimal]):
    """Money stored as integer kopecks (``BIGINT``) and handled as ``Decimal`` in code.

    SQLite's ``Numeric`` goes through float, so no money column may use it. A value that is not
    a whole number of kopecks is refused rather than rounded: rounding is the caller's explicit
    decision (``ROUND_HALF_UP``, see ``processing.money``).
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return to_kopecks(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_kopecks(int(value))


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that always comes back timezone-aware.

    Naive values are refused: 1C's zone-less dates are converted to UTC at the mapping edge,
    with the store's time zone, before they reach a model.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("UtcDateTime needs a timezone-aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def money_total(
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
) -> ColumnElement[Decimal]:
    """``SUM`` of a money column, 0 when there are no rows, read back as ``Decimal``."""
    return type_coerce(func.coalesce(func.sum(column), 0), Money())


class Quantity(TypeDecorator[Decimal]):
    """A goods quantity with up to 3 decimals, stored as integer thousandths (``BIGINT``)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        return None if value is None else to_thousandths(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-3)


def to_thousandths(value: Decimal | int) -> int:
    """A quantity as the integer thousandths it is stored as; more than 3 decimals is an error."""
    scaled = Decimal(value).scaleb(3)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than 3 decimals")
    return int(scaled)
