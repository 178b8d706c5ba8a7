"""The bounds of what a request may carry: numbers before conversion, years before any zone
arithmetic."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from mappings.dates import EMPTY_1C_DATE, parse_iso_datetime, store_time_to_utc
from mappings.fields import BoundedInteger, Money, Quantity, ReceiptSum, bounded_decimal


@pytest.mark.parametrize(
    "text",
    ["0", "-0.00", "0E-50", "12.34", "1e30", "-9.99e30", "1e-30", "1" * 31, "0." + "1" * 39, " 7 "],
)
def test_numbers_within_bounds_are_read_exactly(text: str) -> None:
    assert bounded_decimal(text) == Decimal(text)


@pytest.mark.parametrize(
    "text",
    ["1e31", "1e999999", "-1E-999999", "1e-31", "1" * 32, "1." + "0" * 40, "0E+50", "NaN",
     "Infinity", "-inf", "abc", "", "1" * 101, "0x10"],
)  # fmt: skip
def test_numbers_beyond_bounds_are_refused(text: str) -> None:
    assert bounded_decimal(text) is None


@given(st.integers(-(10**30), 10**30), st.integers(0, 30))
def test_every_realistic_number_is_read_exactly(coefficient: int, scale: int) -> None:
    value = Decimal(coefficient).scaleb(-scale)  # up to 31 digits, 30 decimals
    assert bounded_decimal(str(value)) == value


@pytest.mark.parametrize(
    "field",
    [Money(), ReceiptSum(), Quantity(), BoundedInteger()],
    ids=lambda field: type(field).__name__,
)
def test_a_numeric_text_beyond_bounds_is_refused_by_the_fields(field: object) -> None:
    with pytest.raises(ValidationError):
        field.deserialize("1e999999")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00", "0001-01-01T00:00:00+03:00", "1900-01-01T00:00:00",
     "2999-12-31T23:59:59.999999", "2026-11-23T12:00:00-12:00", " 2026-11-23T12:00:00 "],
)  # fmt: skip
def test_supported_dates_are_read(text: str) -> None:
    assert parse_iso_datetime(text) == datetime.fromisoformat(text.strip())


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:01", "0001-01-02T00:00:00", "1899-12-31T23:59:59",
     "3000-01-01T00:00:00", "9999-12-31T23:59:59-12:00", "вчера", ""],
)  # fmt: skip
def test_dates_outside_the_supported_years_are_refused(text: str) -> None:
    assert parse_iso_datetime(text) is None


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.sampled_from(["Pacific/Kiritimati", "Etc/GMT+12", "Europe/Moscow"]),
    st.sampled_from(["", "+14:00", "-12:00", "Z"]),
)
def test_every_date_read_converts_to_utc_without_overflow(
    moment: datetime, zone: str, offset: str
) -> None:
    parsed = parse_iso_datetime(moment.isoformat() + offset)
    if parsed is not None and parsed.replace(tzinfo=None) != EMPTY_1C_DATE:
        assert store_time_to_utc(parsed, zone).tzinfo is not None
