"""1C dates: zone-less wall-clock times in the store's zone, the empty date, and the years a
date-time may name.

Dates outside 1900-2999 are refused at the edge (the empty 1C date excepted): near year 1 or
9999 a time-zone conversion, or a period computed from the date, overflows ``datetime``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

EMPTY_1C_DATE = datetime(1, 1, 1)  # noqa: DTZ001 - 1C's "no date", never converted
EARLIEST = datetime(1900, 1, 1)  # noqa: DTZ001 - a wall-clock bound, compared without a zone
LATEST = datetime(3000, 1, 1)  # noqa: DTZ001 - exclusive
RANGE_TEXT = "1900–2999"


def is_empty_1c_date(value: datetime | None) -> bool:
    return value is None or value.replace(tzinfo=None) == EMPTY_1C_DATE


def in_supported_range(value: datetime) -> bool:
    """The empty 1C date, or a wall-clock time from 1900 to 2999 (its zone, if any, ignored:
    no offset moves such a time out of ``datetime``'s range)."""
    return is_empty_1c_date(value) or EARLIEST <= value.replace(tzinfo=None) < LATEST


def parse_iso_datetime(text: str) -> datetime | None:
    """An ISO 8601 date-time as 1C or a POS writes it (surrounding blanks ignored); None when it
    is not one or lies outside the supported years."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if in_supported_range(value) else None


def store_time_to_utc(value: datetime, timezone: str) -> datetime:
    """A 1C or POS time without a zone is the store's local time; with a zone it is kept."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)
