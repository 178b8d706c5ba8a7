"""Saved filters of segments: conditions over customer fields and purchase statistics, parsed and
validated from JSON (every refusal names its field, ``details.field``, in Russian) and turned
into SQL conditions on ``customers``, so a refresh selects the members in one statement per batch.

Every condition given must hold (AND); an empty filter holds for every customer of the tenant.
Erased (anonymised) customers never match. Days and ages count in the filter's ``timezone``.

The purchase figures come from the tables the receipt path writes: ``purchase_stats`` (net sums
and counts per account and store-local day, returns subtracted) and ``receipts`` (the last
committed sale, its store-local date and the card level it was rung up with). Those packages
import this one, so their tables are named here as the promotion tables name theirs: by string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    String,
    column,
    exists,
    extract,
    func,
    select,
    table,
)

from processing.customers.models import Customer
from processing.errors import InvalidInput
from processing.ledger.models import Account
from processing.promotions.rules import Bounds, parse_bounds, parse_field_values
from processing.types import Money, UtcDateTime, money_total
from processing.validation import (
    InvalidProgramRules,
    bad_field,
    date_value,
    known_fields,
    object_value,
    string_set,
    whole_field,
)

DEFAULT_TIMEZONE = "Europe/Moscow"
MAX_AGE = 150
MAX_DAYS = 36_600
MAX_PURCHASE_WINDOW_DAYS = 3660
GENDERS = ("male", "female")
FILTER_FIELDS = ("gender", "birthday_months", "age", "registered", "registered_days",
                 "advertising_consent", "levels", "card_templates", "fields", "purchases",
                 "last_purchase_days", "timezone")  # fmt: skip

_PURCHASE_STATS = table(
    "purchase_stats",
    column("account_id", Integer),
    column("local_date", Date),
    column("amount", Money()),
    column("purchases", Integer),
)
_RECEIPTS = table(
    "receipts",
    column("id", Integer),
    column("account_id", Integer),
    column("kind", String),
    column("status", String),
    column("sold_at", UtcDateTime()),
    column("local_date", Date),
    column("level_code", String),
)
_CARDS = table(
    "cards",
    column("customer_id", Integer),
    column("template_id", Integer),
    column("status", String),
)
_CARD_TEMPLATES = table("card_templates", column("id", Integer), column("code", String))


class InvalidSegmentFilter(InvalidInput):
    code = "INVALID_SEGMENT_FILTER"
    message = "Неверные условия сегмента."


@dataclass(frozen=True)
class Span:
    """Whole numbers (ages, days) between inclusive bounds; None: no bound."""

    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class DateSpan:
    start: date | None = None
    end: date | None = None  # inclusive


@dataclass(frozen=True)
class PurchaseWindow:
    """Purchases of the last ``days`` days (today included): their count and net sum."""

    days: int
    count: Bounds | None = None
    amount: Bounds | None = None


@dataclass(frozen=True)
class SegmentFilter:
    gender: str | None = None
    birthday_months: frozenset[int] = frozenset()
    age: Span | None = None
    registered: DateSpan | None = None
    registered_days: Span | None = None  # days since registration
    advertising_consent: bool | None = None
    levels: frozenset[str] = frozenset()  # the card level of the last purchase
    card_templates: frozenset[str] = frozenset()  # holds an active card of one of the series
    fields: tuple[tuple[str, str | bool], ...] = ()  # extra questionnaire fields, equal
    purchases: PurchaseWindow | None = None
    last_purchase_days: Span | None = None  # days since the last purchase; none: no match
    timezone: str = DEFAULT_TIMEZONE


def check_timezone(path: str, value: Any) -> str:
    """An IANA time zone name (``Europe/Moscow``); ``InvalidProgramRules`` naming ``path``."""
    if not isinstance(value, str) or not value.strip():
        raise bad_field(path, "Укажите часовой пояс IANA, например Europe/Moscow")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise bad_field(path, f"Неизвестный часовой пояс «{value}»") from exc
    return value.strip()


def _span(data: dict[str, Any], key: str, path: str, high: int) -> Span | None:
    if data.get(key) is None:
        return None
    item_path = f"{path}.{key}"
    raw = object_value(data[key], item_path)
    known_fields(raw, item_path, ("min", "max"))
    low = whole_field(raw, "min", item_path, low=0, high=high)
    top = whole_field(raw, "max", item_path, low=0, high=high)
    if low is None and top is None:
        raise bad_field(item_path, "Укажите min и/или max")
    if low is not None and top is not None and low > top:
        raise bad_field(f"{item_path}.min", "Нижняя граница больше верхней")
    return Span(low, top)


def _registered(data: dict[str, Any], path: str) -> DateSpan | None:
    if data.get("registered") is None:
        return None
    item_path = f"{path}.registered"
    raw = object_value(data["registered"], item_path)
    known_fields(raw, item_path, ("from", "to"))
    start = date_value(raw["from"], f"{item_path}.from") if raw.get("from") is not None else None
    end = date_value(raw["to"], f"{item_path}.to") if raw.get("to") is not None else None
    if start is None and end is None:
        raise bad_field(item_path, "Укажите from и/или to")
    if start is not None and end is not None and end < start:
        raise bad_field(f"{item_path}.to", "Конец периода раньше начала")
    return DateSpan(start, end)


def _purchases(data: dict[str, Any], path: str) -> PurchaseWindow | None:
    if data.get("purchases") is None:
        return None
    item_path = f"{path}.purchases"
    raw = object_value(data["purchases"], item_path)
    known_fields(raw, item_path, ("days", "count", "sum"))
    days = whole_field(raw, "days", item_path, low=1, high=MAX_PURCHASE_WINDOW_DAYS)
    if days is None:
        raise bad_field(f"{item_path}.days", "Укажите период в днях")
    count = parse_bounds(raw.get("count"), f"{item_path}.count", money=False)
    if count is not None and any(
        v is not None and v != v.to_integral_value() for v in (count.low, count.high)
    ):
        raise bad_field(f"{item_path}.count", "Число покупок — целое")
    amount = parse_bounds(raw.get("sum"), f"{item_path}.sum", money=True)
    if count is None and amount is None:
        raise bad_field(item_path, "Укажите count и/или sum")
    return PurchaseWindow(days, count, amount)


def _parse(data: Any, path: str) -> SegmentFilter:
    if not isinstance(data, dict):
        raise bad_field(path, "Ожидается объект условий")
    known_fields(data, path, FILTER_FIELDS)
    gender = data.get("gender")
    if gender is not None and gender not in GENDERS:
        raise bad_field(f"{path}.gender", "Пол: male или female")
    months = data.get("birthday_months", [])
    if not isinstance(months, list) or any(
        isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12 for m in months
    ):
        raise bad_field(f"{path}.birthday_months", "Месяцы — числа от 1 до 12")
    consent = data.get("advertising_consent")
    if consent is not None and not isinstance(consent, bool):
        raise bad_field(f"{path}.advertising_consent", "Ожидается true или false")
    return SegmentFilter(
        gender=gender,
        birthday_months=frozenset(months),
        age=_span(data, "age", path, MAX_AGE),
        registered=_registered(data, path),
        registered_days=_span(data, "registered_days", path, MAX_DAYS),
        advertising_consent=consent,
        levels=string_set(data, "levels", path),
        card_templates=string_set(data, "card_templates", path),
        fields=parse_field_values(data, path),
        purchases=_purchases(data, path),
        last_purchase_days=_span(data, "last_purchase_days", path, MAX_DAYS),
        timezone=check_timezone(f"{path}.timezone", data.get("timezone", DEFAULT_TIMEZONE)),
    )


def parse_segment_filter(data: Any, path: str = "filter") -> SegmentFilter:
    """The filter of a segment; ``InvalidSegmentFilter`` names the wrong field (``filter.age``)."""
    try:
        return _parse(data, path)
    except InvalidProgramRules as error:
        raise InvalidSegmentFilter(error.text, details=error.details) from error


# --- SQL -------------------------------------------------------------------------------------


def _years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February: the 28th in a common year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day starts."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _customer_accounts() -> Any:
    """The ids of the outer query's customer's accounts (correlated two levels up)."""
    return select(Account.id).where(Account.customer_id == Customer.id).correlate(Customer)


def _last_sale() -> Any:
    """The customer's last committed sale (through their accounts)."""
    return (
        select(_RECEIPTS)
        .where(
            _RECEIPTS.c.account_id.in_(_customer_accounts()),
            _RECEIPTS.c.kind == "sale",
            _RECEIPTS.c.status == "committed",
        )
        .order_by(_RECEIPTS.c.sold_at.desc(), _RECEIPTS.c.id.desc())
        .limit(1)
    )


def _bounded(value: Any, bounds: Bounds) -> list[ColumnElement[bool]]:
    found = []
    if bounds.low is not None:
        found.append(value >= bounds.low)
    if bounds.high is not None:
        found.append(value <= bounds.high)
    return found


def _purchase_conditions(window: PurchaseWindow, today: date) -> list[ColumnElement[bool]]:
    stats = (
        _PURCHASE_STATS.c.account_id.in_(_customer_accounts()),
        _PURCHASE_STATS.c.local_date >= today - timedelta(days=window.days - 1),
    )
    found: list[ColumnElement[bool]] = []
    if window.count is not None:
        count = (
            select(func.coalesce(func.sum(_PURCHASE_STATS.c.purchases), 0))
            .where(*stats)
            .scalar_subquery()
        )
        found += _bounded(count, window.count)
    if window.amount is not None:
        amount = select(money_total(_PURCHASE_STATS.c.amount)).where(*stats).scalar_subquery()
        found += _bounded(amount, window.amount)
    return found


def _field_condition(code: str, value: str | bool) -> ColumnElement[bool]:
    stored = Customer.extra[code]
    condition: ColumnElement[bool] = (
        stored.as_boolean().is_(value) if isinstance(value, bool) else stored.as_string() == value
    )
    return condition


def filter_conditions(found: SegmentFilter, tenant_id: int, now: datetime) -> list[Any]:
    """Conditions on ``customers`` that hold for exactly the filter's customers at ``now``."""
    zone = ZoneInfo(found.timezone)
    today = now.astimezone(zone).date()
    where: list[Any] = [Customer.tenant_id == tenant_id, Customer.anonymised_at.is_(None)]
    if found.gender is not None:
        where.append(Customer.gender == found.gender)
    if found.birthday_months:
        where.append(extract("month", Customer.birth_date).in_(sorted(found.birthday_months)))
    if found.age is not None:
        if found.age.low is not None:
            where.append(Customer.birth_date <= _years_before(today, found.age.low))
        if found.age.high is not None:
            where.append(Customer.birth_date > _years_before(today, found.age.high + 1))
    if found.registered is not None:
        if found.registered.start is not None:
            where.append(Customer.created_at >= _midnight(found.registered.start, zone))
        if found.registered.end is not None:
            end = found.registered.end + timedelta(days=1)
            where.append(Customer.created_at < _midnight(end, zone))
    if found.registered_days is not None:
        low, high = found.registered_days.low, found.registered_days.high
        if low is not None:
            where.append(Customer.created_at < _midnight(today - timedelta(days=low - 1), zone))
        if high is not None:
            where.append(Customer.created_at >= _midnight(today - timedelta(days=high), zone))
    if found.advertising_consent is not None:
        where.append(Customer.advertising_consent.is_(found.advertising_consent))
    if found.levels:
        level = _last_sale().with_only_columns(_RECEIPTS.c.level_code).scalar_subquery()
        where.append(level.in_(sorted(found.levels)))
    if found.card_templates:
        where.append(
            exists().where(
                _CARDS.c.customer_id == Customer.id,
                _CARDS.c.status == "active",
                _CARD_TEMPLATES.c.id == _CARDS.c.template_id,
                _CARD_TEMPLATES.c.code.in_(sorted(found.card_templates)),
            )
        )
    where += [_field_condition(code, value) for code, value in found.fields]
    if found.purchases is not None:
        where += _purchase_conditions(found.purchases, today)
    if found.last_purchase_days is not None:
        last = _last_sale().with_only_columns(_RECEIPTS.c.local_date).scalar_subquery()
        low, high = found.last_purchase_days.low, found.last_purchase_days.high
        where.append(last.is_not(None))
        if low is not None:
            where.append(last <= today - timedelta(days=low))
        if high is not None:
            where.append(last >= today - timedelta(days=high))
    return where
