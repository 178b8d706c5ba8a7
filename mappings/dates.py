"""1C dates: zone-less wall-clock times in the store's zone, and the empty date."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

EMPTY_1C_DATE = datetime(1, 1, 1)  # noqa: DTZ001 - 1C's "no date", never converted


def is_empty_1c_date(value: datetime | None) -> bool:
    return value is None or value.replace(tzinfo=None) == EMPTY_1C_DATE


def store_time_to_utc(value: datetime, timezone: str) -> datetime:
    """A 1C or POS time without a zone is the store's local time; with a zone it is kept."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)
