"""Promotion rules as plain values, parsed and validated from the JSON of a promotion version.

A promotion is **conditions × one reward × how it combines**:

- ``when``: local dates, yearly dates (8 March), weekdays, hours — in the store's time zone;
- ``customer``: levels, card series, segments, birthday window, days since registration, days
  since the first purchase under this promotion, cumulative purchases, previous purchases of
  given goods within a look-back, customer fields. Any of them makes the card required;
- ``receipt``: the trigger goods (``goods``: a goods set), their sum and quantity between bounds,
  a kit, "any N of a list", payment kinds;
- ``reward``: ``percent``, ``fixed`` (per receipt, line or unit), ``fixed_price``, ``m_for_n``,
  ``gift`` (from the store's gift stock where it keeps one), ``stamps`` (every n-th unit free,
  counted across the card's receipts),
  ``bonus_conversion`` (points paid for a discount at a rate), ``accrual_multiplier``,
  ``level_multiplier`` (the card level's discount × factor on the target goods), ``extra_bonus``;
  on ``target`` goods (default: the trigger goods), which may differ from the trigger (buy X,
  get Y cheaper);
- ``coupon``: true — it applies only with a coupon of a series tied to it, presented at the till
  or, for an auto series, one of the customer's own (``processing/coupons/receipt.py``);
- ``group`` (a combination group of the tenant's settings), ``priority`` (lower first),
  ``exclusive``; ``max_line_discount_percent`` caps what it leaves on a line, ``price_floor`` the
  unit price it may bring a line down to.

Money is a Decimal string in JSON and integer kopecks here; percents are Decimal strings.
Every refusal names the field (``details.field``) in Russian.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from functools import cached_property
from typing import Any

from processing.catalog.models import EXTERNAL_ID_LENGTH
from processing.money import to_kopecks
from processing.validation import (
    InvalidProgramRules,
    bad_field,
    date_value,
    decimal_field,
    known_fields,
    object_value,
    percent_field,
    required_whole,
    string_set,
    whole_field,
)

DEFAULT_GROUP = "main"
GROUP_MODES = ("first", "max", "min", "sum", "multiply")
GROUP_MODE_TITLES = {
    "first": "вытеснение (по приоритету)",
    "max": "максимум",
    "min": "минимум",
    "sum": "сложение",
    "multiply": "умножение (последовательно)",
}
REWARD_KINDS = (
    "percent", "fixed", "fixed_price", "m_for_n", "gift", "stamps", "bonus_conversion",
    "accrual_multiplier", "level_multiplier", "extra_bonus",
)  # fmt: skip
DISCOUNT_KINDS = frozenset({"percent", "fixed", "fixed_price", "m_for_n", "gift", "stamps"})
# Rewards that need a card whatever the conditions: a counter or the points of the card.
CARD_REWARDS = frozenset({"stamps", "bonus_conversion"})
# Rewards given in sets (free units, gifts, stamped units): ``limits.per_receipt`` caps them.
SET_REWARDS = ("m_for_n", "gift", "stamps")
FIXED_PER = ("receipt", "line", "unit")
MAX_LOOKBACK_DAYS = 366
# The customer's own fields a condition may name besides the tenant's questionnaire fields.
STANDARD_CONDITION_FIELDS = ("first_name", "last_name", "middle_name", "gender")
PAYMENT_KINDS = ("cash", "card", "sbp", "certificate", "other")  # as a POS receipt names them
_MONTH_DAY = re.compile(r"^([0-9]{2})-([0-9]{2})$")
_HOUR = re.compile(r"^([0-9]{2}):([0-9]{2})$")
END_OF_DAY = time.max  # "24:00" as an end: the whole last minute included


@dataclass(frozen=True)
class GoodsSet:
    """Which lines a condition or reward covers. Empty lists: every goods. A line is covered when
    it matches any listed goods, group (a group covers its subtree: the line carries its
    ancestors), brand or supplier, its unit price is within bounds, and no exclusion hits it."""

    goods: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    brands: frozenset[str] = frozenset()
    suppliers: frozenset[str] = frozenset()
    price_min: int | None = None  # kopecks per unit
    price_max: int | None = None
    exclude_goods: frozenset[str] = frozenset()
    exclude_groups: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        return not (self.goods or self.groups or self.brands or self.suppliers)

    def admits(self, goods_id: str, group_ids: Sequence[str], unit_price: int) -> bool:
        """The price bounds and exclusions (a line the lists name may still be left out)."""
        if self.price_min is not None and unit_price < self.price_min:
            return False
        if self.price_max is not None and unit_price > self.price_max:
            return False
        if goods_id in self.exclude_goods:
            return False
        return not (self.exclude_groups and not self.exclude_groups.isdisjoint(group_ids))

    def covers(
        self,
        goods_id: str,
        group_ids: Sequence[str],
        brand_id: str | None,
        supplier_id: str | None,
        unit_price: int,
    ) -> bool:
        """Whether a line is in the set (``PromotionBook.coverage`` answers the same for many
        sets at once through its indexes)."""
        named = (
            self.everything or goods_id in self.goods or not self.groups.isdisjoint(group_ids)
            or (brand_id is not None and brand_id in self.brands)
            or (supplier_id is not None and supplier_id in self.suppliers)
        )  # fmt: skip
        return named and self.admits(goods_id, group_ids, unit_price)


ALL_GOODS = GoodsSet()


@dataclass(frozen=True)
class Bounds:
    low: Decimal | None = None
    high: Decimal | None = None

    def holds(self, value: Decimal) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive


@dataclass(frozen=True)
class YearlyRange:
    start: tuple[int, int]  # (month, day), inclusive; may wrap over New Year
    end: tuple[int, int]


@dataclass(frozen=True)
class HourRange:
    start: time
    end: time  # exclusive; end <= start wraps over midnight


@dataclass(frozen=True)
class When:
    dates: tuple[DateRange, ...] = ()
    yearly: tuple[YearlyRange, ...] = ()
    weekdays: frozenset[int] = frozenset()  # ISO 1..7
    hours: tuple[HourRange, ...] = ()

    @cached_property
    def always(self) -> bool:
        """No time condition at all."""
        return not (self.dates or self.yearly or self.weekdays or self.hours)


@dataclass(frozen=True)
class Lookback:
    goods: GoodsSet
    days: int


@dataclass(frozen=True)
class CustomerConditions:
    levels: frozenset[str] = frozenset()
    card_templates: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    birthday: tuple[int, int] | None = None  # days before, days after
    registered_within_days: int | None = None
    first_purchase_within_days: int | None = None
    cumulative: Bounds | None = None
    previous_purchase: Lookback | None = None
    fields: tuple[tuple[str, str | bool], ...] = ()  # questionnaire values, as stored

    @property
    def any(self) -> bool:
        return bool(
            self.levels or self.card_templates or self.segments or self.birthday
            or self.registered_within_days is not None
            or self.first_purchase_within_days is not None or self.cumulative
            or self.previous_purchase or self.fields
        )  # fmt: skip


@dataclass(frozen=True)
class KitPart:
    goods: GoodsSet
    quantity: int


@dataclass(frozen=True)
class ReceiptConditions:
    goods: GoodsSet = ALL_GOODS
    amount: Bounds | None = None  # rubles of the trigger lines, as they stand when applied
    quantity: Bounds | None = None  # units of the trigger lines
    kit: tuple[KitPart, ...] = ()
    any_of: KitPart | None = None  # any N units of a list
    payment: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Reward:
    kind: str  # one of REWARD_KINDS
    target: GoodsSet | None = None  # None: the trigger goods
    percent: Decimal = Decimal(0)  # percent, extra_bonus (percent of the target's paid sum)
    amount: int = 0  # kopecks: fixed, extra_bonus (points per receipt)
    per: str = "receipt"  # fixed: receipt, line or unit
    price: int = 0  # kopecks: fixed_price, gift (the gift's price: 0 or 1)
    n: int = 0  # m_for_n: of every n units ...; stamps: every n-th unit is free
    m: int = 0  # ... m are paid; gift: gift units per trigger set
    rate: Decimal = Decimal(0)  # bonus_conversion: rubles of discount per point
    step: int = 1  # bonus_conversion: points are spent in multiples of step
    factor: Decimal = Decimal(1)  # accrual_multiplier, level_multiplier
    activation_delay_days: int = 0  # extra_bonus lot
    lifetime_days: int | None = None
    # gift: the percent off the trigger goods given instead when the store's gift stock runs
    # short (its share of the gift units missing); 0: no gift, nothing instead
    substitute: Decimal = Decimal(0)

    @property
    def is_discount(self) -> bool:
        return self.kind in DISCOUNT_KINDS


@dataclass(frozen=True)
class Limits:
    """How often a promotion may apply: times per receipt (sets of a kit, M-for-N or gift),
    receipts per customer, receipts in all, and its budget (kopecks of discount and points)."""

    per_receipt: int | None = None
    per_customer: int | None = None
    total: int | None = None
    budget: int | None = None

    @property
    def counted(self) -> bool:
        """Whether commits must count its uses (under a lock)."""
        return self.total is not None or self.budget is not None


@dataclass(frozen=True)
class Promotion:
    """One promotion version as the engine evaluates it."""

    code: str
    name: str
    version_id: int
    reward: Reward
    when: When = When()
    customer: CustomerConditions = CustomerConditions()
    receipt: ReceiptConditions = ReceiptConditions()
    group: str = DEFAULT_GROUP
    priority: int = 100
    exclusive: bool = False
    max_line_discount_percent: Decimal | None = None
    price_floor: int | None = None  # kopecks per unit its discount never goes below
    text: str | None = None  # what the receipt and the customer see; default: the name
    limits: Limits = Limits()
    coupon: bool = False  # applies only with one of its coupons on the receipt

    @cached_property
    def needs_customer(self) -> bool:  # read for every promotion of every receipt
        return self.customer.any or self.reward.kind in CARD_REWARDS

    @property
    def title(self) -> str:
        return self.text or self.name


@dataclass(frozen=True)
class PromotionGroup:
    """How the promotions of one group combine; groups apply one after another by ``order``,
    each on what the previous left. ``level_discount``: the card level's discount takes part in
    this group like a promotion."""

    code: str
    mode: str = "max"
    order: int = 100
    level_discount: bool = False
    name: str = ""


DEFAULT_GROUPS = (PromotionGroup(DEFAULT_GROUP, "max", 100, True, "Основная"),)


# --- parsing -------------------------------------------------------------------------------


def _money(data: dict[str, Any], key: str, path: str) -> int | None:
    if data.get(key) is None:
        return None
    value = decimal_field(data, key, path)
    if value != value.quantize(Decimal("0.01")):
        raise bad_field(f"{path}.{key}", "Сумма — с точностью до копейки")
    return to_kopecks(value)


def parse_goods_set(data: Any, path: str) -> GoodsSet:
    data = object_value(data, path)
    known_fields(data, path, ("goods", "groups", "brands", "suppliers", "price_min", "price_max",
                        "exclude_goods", "exclude_groups"))  # fmt: skip
    low, high = _money(data, "price_min", path), _money(data, "price_max", path)
    if low is not None and high is not None and low > high:
        raise bad_field(f"{path}.price_min", "Нижняя граница цены больше верхней")
    return GoodsSet(
        goods=_ids(data, "goods", path), groups=_ids(data, "groups", path),
        brands=_ids(data, "brands", path), suppliers=_ids(data, "suppliers", path),
        price_min=low, price_max=high, exclude_goods=_ids(data, "exclude_goods", path),
        exclude_groups=_ids(data, "exclude_groups", path),
    )  # fmt: skip


def _ids(data: dict[str, Any], key: str, path: str) -> frozenset[str]:
    """Catalog ids (1C GUIDs come in either case): compared in lower case."""
    found = string_set(data, key, path)
    if any(len(value) > EXTERNAL_ID_LENGTH for value in found):
        raise bad_field(f"{path}.{key}", f"Код товара, группы… — не длиннее {EXTERNAL_ID_LENGTH}")
    return frozenset(value.lower() for value in found)


def parse_bounds(data: Any, path: str, *, money: bool) -> Bounds | None:
    if data is None:
        return None
    data = object_value(data, path)
    known_fields(data, path, ("min", "max"))
    low = decimal_field(data, "min", path) if data.get("min") is not None else None
    high = decimal_field(data, "max", path) if data.get("max") is not None else None
    for key, value in (("min", low), ("max", high)):
        if money and value is not None and value != value.quantize(Decimal("0.01")):
            raise bad_field(f"{path}.{key}", "Сумма — с точностью до копейки")
    if low is None and high is None:
        raise bad_field(path, "Укажите min и/или max")
    if low is not None and high is not None and low > high:
        raise bad_field(f"{path}.min", "Нижняя граница больше верхней")
    return Bounds(low, high)


def _month_day(raw: Any, path: str) -> tuple[int, int]:
    found = _MONTH_DAY.fullmatch(str(raw))
    if not found:
        raise bad_field(path, "Ожидается дата ММ-ДД, например 03-08")
    month, day = int(found.group(1)), int(found.group(2))
    try:
        date(2000, month, day)  # a leap year: 02-29 is a valid yearly date
    except ValueError as exc:
        raise bad_field(path, "Нет такой даты") from exc
    return month, day


def _hour(raw: Any, path: str) -> time:
    found = _HOUR.fullmatch(str(raw))
    if not found or int(found.group(1)) > 24 or int(found.group(2)) > 59:
        raise bad_field(path, "Ожидается время ЧЧ:ММ")
    hours, minutes = int(found.group(1)), int(found.group(2))
    if hours == 24:
        if minutes or not path.endswith(".to"):
            raise bad_field(path, "Ожидается время ЧЧ:ММ; 24:00 — только как конец интервала")
        return END_OF_DAY
    return time(hours, minutes)


def _ranges(data: dict[str, Any], key: str, path: str) -> list[tuple[Any, Any, str]]:
    raw = data.get(key, [])
    if not isinstance(raw, list):
        raise bad_field(f"{path}.{key}", "Ожидается список периодов {from, to}")
    found = []
    for i, item in enumerate(raw):
        item_path = f"{path}.{key}[{i}]"
        item = object_value(item, item_path)
        known_fields(item, item_path, ("from", "to"))
        if item.get("from") is None or item.get("to") is None:
            raise bad_field(item_path, "Укажите from и to")
        found.append((item["from"], item["to"], item_path))
    return found


def _when(data: Any, path: str) -> When:
    data = object_value(data, path)
    known_fields(data, path, ("dates", "yearly", "weekdays", "hours"))
    dates = []
    for start, end, item_path in _ranges(data, "dates", path):
        first, last = date_value(start, f"{item_path}.from"), date_value(end, f"{item_path}.to")
        if last < first:
            raise bad_field(f"{item_path}.to", "Конец периода раньше начала")
        dates.append(DateRange(first, last))
    yearly = [
        YearlyRange(_month_day(start, f"{p}.from"), _month_day(end, f"{p}.to"))
        for start, end, p in _ranges(data, "yearly", path)
    ]
    hours = []
    for start, end, item_path in _ranges(data, "hours", path):
        opens, closes = _hour(start, f"{item_path}.from"), _hour(end, f"{item_path}.to")
        if opens == closes:
            raise bad_field(f"{item_path}.to", "Пустой интервал времени")
        hours.append(HourRange(opens, closes))
    raw_days = data.get("weekdays", [])
    if not isinstance(raw_days, list) or any(
        isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in raw_days
    ):
        raise bad_field(
            f"{path}.weekdays", "Дни недели — числа от 1 (понедельник) до 7 (воскресенье)"
        )
    return When(tuple(dates), tuple(yearly), frozenset(raw_days), tuple(hours))


def _customer(data: Any, path: str) -> CustomerConditions:
    data = object_value(data, path)
    known_fields(data, path, ("levels", "card_templates", "segments", "birthday",
                        "registered_within_days", "first_purchase_within_days", "cumulative",
                        "previous_purchase", "fields"))  # fmt: skip
    birthday = None
    if data.get("birthday") is not None:
        raw = object_value(data["birthday"], f"{path}.birthday")
        known_fields(raw, f"{path}.birthday", ("before_days", "after_days"))
        birthday = (
            whole_field(raw, "before_days", f"{path}.birthday", low=0, high=31, default=0) or 0,
            whole_field(raw, "after_days", f"{path}.birthday", low=0, high=31, default=0) or 0,
        )
    lookback = None
    if data.get("previous_purchase") is not None:
        lb_path = f"{path}.previous_purchase"
        raw = object_value(data["previous_purchase"], lb_path)
        known_fields(raw, lb_path, ("goods", "days"))
        lookback = Lookback(
            parse_goods_set(raw.get("goods"), f"{lb_path}.goods"),
            required_whole(raw, "days", lb_path, low=7, high=MAX_LOOKBACK_DAYS),
        )
    return CustomerConditions(
        levels=string_set(data, "levels", path),
        card_templates=string_set(data, "card_templates", path),
        segments=string_set(data, "segments", path),
        birthday=birthday,
        registered_within_days=whole_field(data, "registered_within_days", path, low=1, high=3660),
        first_purchase_within_days=whole_field(
            data, "first_purchase_within_days", path, low=1, high=3660
        ),
        cumulative=parse_bounds(data.get("cumulative"), f"{path}.cumulative", money=True),
        previous_purchase=lookback,
        fields=parse_field_values(data, path),
    )


def parse_field_values(data: dict[str, Any], path: str) -> tuple[tuple[str, str | bool], ...]:
    """``fields``: questionnaire fields and the values they must equal (a string, or true/false
    for a yes/no field), sorted by field. The tenant's questionnaire checks them on saving."""
    raw = object_value(data.get("fields"), f"{path}.fields")
    found: list[tuple[str, str | bool]] = []
    for key, value in raw.items():
        if isinstance(value, bool):
            found.append((str(key), value))
        elif isinstance(value, str | int) and str(value).strip():
            found.append((str(key), str(value).strip()))
        else:
            raise bad_field(f"{path}.fields.{key}", "Ожидается непустая строка или true/false")
    return tuple(sorted(found, key=lambda item: item[0]))


def _part(data: Any, path: str) -> KitPart:
    data = object_value(data, path)
    known_fields(data, path, ("goods", "quantity"))
    return KitPart(
        parse_goods_set(data.get("goods"), f"{path}.goods"),
        required_whole(data, "quantity", path, low=1, high=1000),
    )


def _payment_kinds(data: dict[str, Any], path: str) -> frozenset[str]:
    kinds = string_set(data, "payment", path)
    if not kinds <= frozenset(PAYMENT_KINDS):
        raise bad_field(f"{path}.payment", f"Способы оплаты: {', '.join(PAYMENT_KINDS)}")
    return kinds


def _receipt(data: Any, path: str) -> ReceiptConditions:
    data = object_value(data, path)
    known_fields(data, path, ("goods", "sum", "quantity", "kit", "any", "payment"))
    raw_kit = data.get("kit", [])
    if not isinstance(raw_kit, list) or len(raw_kit) == 1 or len(raw_kit) > 20:
        raise bad_field(f"{path}.kit", "Комплект — список из 2–20 позиций {goods, quantity}")
    return ReceiptConditions(
        goods=parse_goods_set(data.get("goods"), f"{path}.goods"),
        amount=parse_bounds(data.get("sum"), f"{path}.sum", money=True),
        quantity=parse_bounds(data.get("quantity"), f"{path}.quantity", money=False),
        kit=tuple(_part(item, f"{path}.kit[{i}]") for i, item in enumerate(raw_kit)),
        any_of=_part(data["any"], f"{path}.any") if data.get("any") is not None else None,
        payment=_payment_kinds(data, path),
    )


_REWARD_FIELDS = {
    "percent": ("value",),
    "fixed": ("value", "per"),
    "fixed_price": ("price",),
    "m_for_n": ("n", "m"),
    "gift": ("gift", "quantity", "price", "substitute_percent"),
    "stamps": ("every",),
    "bonus_conversion": ("rate", "step"),
    "accrual_multiplier": ("factor",),
    "level_multiplier": ("factor",),
    "extra_bonus": ("value", "percent", "activation_delay_days", "lifetime_days"),
}


def _reward(data: Any, path: str) -> Reward:
    data = object_value(data, path)
    kind = data.get("kind")
    if kind not in REWARD_KINDS:
        raise bad_field(f"{path}.kind", f"Вид вознаграждения: {', '.join(REWARD_KINDS)}")
    known_fields(data, path, ("kind", "target", *_REWARD_FIELDS[kind]))
    # A null target is no target: the reward stays on the trigger goods.
    target = None
    if data.get("target") is not None:
        target = parse_goods_set(data["target"], f"{path}.target")
    if kind == "percent":
        value = percent_field(data, "value", path)
        if value <= 0:
            raise bad_field(f"{path}.value", "Процент скидки больше нуля")
        return Reward(kind, target, percent=value)
    if kind == "fixed":
        amount = _money(data, "value", path)
        if not amount:
            raise bad_field(f"{path}.value", "Укажите сумму скидки больше нуля")
        per = data.get("per", "receipt")
        if per not in FIXED_PER:
            raise bad_field(
                f"{path}.per", "Сумма на чек (receipt), строку (line) или единицу (unit)"
            )
        return Reward(kind, target, amount=amount, per=per)
    if kind == "fixed_price":
        price = _money(data, "price", path)
        if price is None:
            raise bad_field(f"{path}.price", "Укажите цену")
        return Reward(kind, target, price=price)
    if kind == "m_for_n":
        n = required_whole(data, "n", path, low=2, high=100)
        m = required_whole(data, "m", path, low=1, high=99)
        if m >= n:
            raise bad_field(f"{path}.m", "Оплачиваемых единиц должно быть меньше, чем в наборе")
        return Reward(kind, target, n=n, m=m)
    if kind == "gift":
        if data.get("gift") is None:
            raise bad_field(f"{path}.gift", "Укажите подарочный товар (goods, groups...)")
        price = _money(data, "price", path)
        if price not in (None, 0, 1):
            raise bad_field(f"{path}.price", "Подарок отдаётся бесплатно (0.00) или за 0.01")
        substitute = Decimal(0)
        if data.get("substitute_percent") is not None:
            substitute = percent_field(data, "substitute_percent", path)
            if substitute <= 0:
                raise bad_field(f"{path}.substitute_percent", "Процент скидки больше нуля")
        return Reward(
            kind, parse_goods_set(data["gift"], f"{path}.gift"), price=price or 0,
            m=whole_field(data, "quantity", path, low=1, high=100, default=1) or 1,
            substitute=substitute,
        )  # fmt: skip
    if kind == "stamps":
        return Reward(kind, target, n=required_whole(data, "every", path, low=2, high=100))
    if kind == "bonus_conversion":
        rate = decimal_field(data, "rate", path)
        if not Decimal(0) < rate <= 1000 or rate != rate.quantize(Decimal("0.0001")):
            raise bad_field(
                f"{path}.rate", "Курс — рублей скидки за балл: больше 0, до 4 знаков после запятой"
            )
        step = whole_field(data, "step", path, low=1, high=100_000, default=1) or 1
        return Reward(kind, target, rate=rate, step=step)
    if kind in ("accrual_multiplier", "level_multiplier"):
        factor = decimal_field(data, "factor", path)
        if not Decimal(1) < factor <= 100:
            raise bad_field(f"{path}.factor", "Множитель больше 1 и не больше 100")
        return Reward(kind, target, factor=factor)
    # extra_bonus: points per receipt (value) or a percent of the target's paid sum
    amount = _money(data, "value", path) or 0
    percent = Decimal(0)
    if data.get("percent") is not None:
        percent = percent_field(data, "percent", path)
    if bool(amount) == bool(percent):
        raise bad_field(f"{path}.value", "Укажите либо value (баллы на чек), либо percent")
    return Reward(
        kind, target, percent=percent, amount=amount,
        activation_delay_days=whole_field(data, "activation_delay_days", path, low=0, high=365,
                                     default=0) or 0,
        lifetime_days=whole_field(data, "lifetime_days", path, low=1, high=3660),
    )  # fmt: skip


PROMOTION_FIELDS = ("text", "group", "priority", "exclusive", "when", "customer", "receipt",
                    "reward", "max_line_discount_percent", "price_floor", "limits",
                    "coupon")  # fmt: skip


def _limits(data: Any, path: str) -> Limits:
    data = object_value(data, path)
    known_fields(data, path, ("per_receipt", "per_customer", "total", "budget"))
    budget = _money(data, "budget", path)
    if budget == 0:
        raise bad_field(f"{path}.budget", "Бюджет акции больше нуля")
    return Limits(
        per_receipt=whole_field(data, "per_receipt", path, low=1, high=1000),
        per_customer=whole_field(data, "per_customer", path, low=1, high=100_000),
        total=whole_field(data, "total", path, low=1, high=1_000_000_000),
        budget=budget,
    )


def parse_promotion(data: Any, *, code: str = "", name: str = "", version_id: int = 0) -> Promotion:
    """The promotion of a version's ``rules``; ``InvalidProgramRules`` names the wrong field."""
    data = object_value(data, "rules")
    known_fields(data, "rules", PROMOTION_FIELDS)
    if "reward" not in data:
        raise bad_field("rules.reward", "Укажите вознаграждение")
    text = data.get("text")
    if text is not None and (not isinstance(text, str) or not 0 < len(text.strip()) <= 200):
        raise bad_field("rules.text", "Текст для чека — от 1 до 200 символов")
    group = data.get("group", DEFAULT_GROUP)
    if not isinstance(group, str) or not group.strip():
        raise bad_field("rules.group", "Код группы акций — непустая строка")
    cap = None
    if data.get("max_line_discount_percent") is not None:
        cap = percent_field(data, "max_line_discount_percent", "rules")
    exclusive = data.get("exclusive", False)
    if not isinstance(exclusive, bool):
        raise bad_field("rules.exclusive", "Ожидается true или false")
    coupon = data.get("coupon", False)
    if not isinstance(coupon, bool):
        raise bad_field("rules.coupon", "Ожидается true или false")
    promotion = Promotion(
        code=code, name=name, version_id=version_id,
        reward=_reward(data["reward"], "rules.reward"),
        when=_when(data.get("when"), "rules.when"),
        customer=_customer(data.get("customer"), "rules.customer"),
        receipt=_receipt(data.get("receipt"), "rules.receipt"),
        group=group.strip(),
        priority=whole_field(data, "priority", "rules", low=0, high=1_000_000, default=100) or 0,
        exclusive=exclusive, max_line_discount_percent=cap,
        price_floor=_money(data, "price_floor", "rules"),
        text=text.strip() if isinstance(text, str) else None,
        limits=_limits(data.get("limits"), "rules.limits"), coupon=coupon,
    )  # fmt: skip
    unit_rewards = ("gift", "stamps")  # they give whole units, not a discount of a line
    if promotion.reward.kind in unit_rewards or not promotion.reward.is_discount:
        for cap_field in ("max_line_discount_percent", "price_floor"):
            if data.get(cap_field) is not None and promotion.reward.kind != "level_multiplier":
                raise bad_field(
                    f"rules.{cap_field}",
                    "Ограничения скидки строки — для скидок на товары (не подарков и штампов)",
                )
    if exclusive and not promotion.reward.is_discount:
        raise bad_field(
            "rules.exclusive", "Исключительной (exclusive) может быть только скидка на товары"
        )
    if promotion.limits.per_receipt is not None and promotion.reward.kind not in SET_REWARDS:
        raise bad_field(
            "rules.limits.per_receipt",
            "Ограничение на чек считает наборы: оно только для вознаграждений "
            f"{', '.join(SET_REWARDS)}",
        )
    if promotion.receipt.kit and promotion.receipt.any_of:
        raise bad_field(
            "rules.receipt.any", "Условие — либо комплект, либо «любые N», не оба сразу"
        )
    return promotion


def parse_groups(data: Any) -> tuple[PromotionGroup, ...]:
    """The tenant's combination groups (settings ``promotion_groups``); the default group is
    always there."""
    if data is None:
        return DEFAULT_GROUPS
    if not isinstance(data, list) or len(data) > 50:
        raise InvalidProgramRules(
            "Группы акций — список (не больше 50).", details={"field": "promotion_groups"}
        )
    groups = []
    for i, item in enumerate(data):
        path = f"promotion_groups[{i}]"
        item = object_value(item, path)
        known_fields(item, path, ("code", "name", "mode", "order", "level_discount"))
        code = item.get("code")
        if not isinstance(code, str) or not code.strip():
            raise bad_field(f"{path}.code", "Код группы — непустая строка")
        mode = item.get("mode", "max")
        if mode not in GROUP_MODES:
            titles = "; ".join(f"{m} — {t}" for m, t in GROUP_MODE_TITLES.items())
            raise bad_field(f"{path}.mode", f"Способ совместного применения: {titles}")
        level = item.get("level_discount", False)
        if not isinstance(level, bool):
            raise bad_field(f"{path}.level_discount", "Ожидается true или false")
        groups.append(PromotionGroup(
            code.strip(), mode, whole_field(item, "order", path, low=0, high=1_000_000, default=100)
            or 0, level, str(item.get("name") or code).strip(),
        ))  # fmt: skip
    codes = [g.code for g in groups]
    if len(set(codes)) != len(codes):
        raise InvalidProgramRules("Коды групп акций повторяются.",
                                  details={"field": "promotion_groups"})  # fmt: skip
    if sum(g.level_discount for g in groups) > 1:
        raise InvalidProgramRules(
            "Скидка уровня участвует не больше чем в одной группе.",
            details={"field": "promotion_groups"},
        )
    if DEFAULT_GROUP not in codes:
        groups.append(
            PromotionGroup(DEFAULT_GROUP, "max", 100, not any(g.level_discount for g in groups))
        )
    return tuple(sorted(groups, key=lambda g: (g.order, g.code)))
