"""How the admin pages write values for Russian readers: money with a comma and a (no-break)
space between thousands, dates as DD.MM.YYYY in the tenant's time zone."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from jinja2.runtime import Context

DEFAULT_ZONE = "Europe/Moscow"
THOUSANDS = "\u00a0"
FIRST_DAY, LAST_DAY = (
    date(1900, 1, 1),
    date(2999, 12, 31),
)  # the dates a filter may name  # a space that never breaks a sum across lines


def number(value: int | Decimal | None, places: int = 0) -> str:
    """``1234567`` → ``1 234 567``; with ``places`` the fraction after a comma."""
    if value is None:
        return "—"
    amount = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    whole, _, fraction = f"{abs(amount):f}".partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    text = THOUSANDS.join(groups) or "0"
    return f"{sign}{text},{fraction}" if places else f"{sign}{text}"


def money(value: Decimal | int | None) -> str:
    """Roubles: ``Decimal("1234.5")`` → ``1 234,50``."""
    return number(value, 2)


@pass_context
def local_time(context: Context, value: datetime | None) -> str:
    """An aware UTC time in the page's zone (the tenant's): ``03.12.2026 18:45``."""
    if value is None:
        return "—"
    zone = ZoneInfo(context.get("zone") or DEFAULT_ZONE)
    return value.astimezone(zone).strftime("%d.%m.%Y %H:%M")


def day(value: date | None) -> str:
    return "—" if value is None else value.strftime("%d.%m.%Y")


def day_start(raw: str | None, zone: str) -> datetime | None:
    """A form's ``YYYY-MM-DD`` as the start of that day in ``zone``; None when it is not one."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    if not FIRST_DAY <= day <= LAST_DAY:  # beyond them zone arithmetic overflows
        return None
    return datetime.combine(day, time(), ZoneInfo(zone))


def zone_of(tenant: Any) -> str:
    return getattr(tenant, "timezone", None) or DEFAULT_ZONE


def local_date(tenant: Any, moment: datetime) -> date:
    """The tenant's calendar date at ``moment``."""
    return moment.astimezone(ZoneInfo(zone_of(tenant))).date()
