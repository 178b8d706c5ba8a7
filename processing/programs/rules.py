"""Program rules as plain values: parsed and validated from the JSON stored per version.

Percentages and sums are ``Decimal`` strings in JSON, never floats. A bonus program's rules may
also carry its accruals outside a receipt: ``welcome`` and ``birthday`` (``EventBonus``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from processing.promotions.rules import GoodsSet, parse_goods_set, parse_promotion
from processing.promotions.segment_filters import DEFAULT_TIMEZONE, check_timezone
from processing.validation import (
    bad_field,
    decimal_field,
    int_field,
    percent_field,
)

WINDOW_KINDS = ("rolling_days", "calendar_month", "calendar_quarter", "calendar_year")
LIFETIME_FROM = ("accrual", "activation")
WELCOME_ON = ("registration", "questionnaire")
MAX_EVENT_AMOUNT = Decimal("1000000.00")
MAX_EVENT_DAYS = 3660
MAX_BIRTHDAY_DAYS_BEFORE = 31


@dataclass(frozen=True)
class Level:
    code: str
    name: str
    threshold: Decimal  # rubles of net purchases, or a number of purchases
    discount_percent: Decimal


@dataclass(frozen=True)
class Window:
    kind: str  # one of WINDOW_KINDS
    days: int = 0  # for rolling_days
    previous: bool = False  # calendar kinds: the previous period instead of the current one


@dataclass(frozen=True)
class LevelRules:
    basis: str  # "sum" or "count"
    window: Window
    levels: tuple[Level, ...]  # ascending thresholds; the first is the entry level

    def by_code(self, code: str | None) -> Level | None:
        return next((level for level in self.levels if level.code == code), None)

    def rank(self, code: str | None) -> int:
        return next((i for i, level in enumerate(self.levels) if level.code == code), -1)


@dataclass(frozen=True)
class EventBonus:
    """Bonus credited outside a receipt (welcome, birthday, a mass accrual): its amount and the
    dates of its lot. The lifetime runs from the activation."""

    amount: Decimal
    activation_delay_days: int = 0
    lifetime_days: int | None = None  # None: never expires

    def lot_dates(self, credited_at: datetime) -> tuple[datetime, datetime | None]:
        activates_at = credited_at + timedelta(days=self.activation_delay_days)
        if self.lifetime_days is None:
            return activates_at, None
        return activates_at, activates_at + timedelta(days=self.lifetime_days)


@dataclass(frozen=True)
class WelcomeBonus:
    bonus: EventBonus
    on: str = "registration"  # or "questionnaire": once the questionnaire is filled


@dataclass(frozen=True)
class BirthdayBonus:
    bonus: EventBonus
    days_before: int = 0  # credited this many days before the birthday (up to the day itself)
    timezone: str = DEFAULT_TIMEZONE  # the zone in which "today" is the birthday


@dataclass(frozen=True)
class BonusRules:
    default_accrual_percent: Decimal
    accrual_percent_by_level: dict[str, Decimal]
    max_payment_percent: Decimal
    activation_delay_days: int
    lifetime_days: int | None  # None: bonus never expires
    accrue_on_no_discount_lines: bool
    lifetime_from: str = "accrual"  # the lifetime runs from the accrual or from the activation
    welcome: WelcomeBonus | None = None
    birthday: BirthdayBonus | None = None
    # Which goods earn an accrual and which bonus may pay for (white lists by goods, groups,
    # brands, suppliers; black lists by their exclusions); None: every goods.
    accrual_goods: GoodsSet | None = None
    payment_goods: GoodsSet | None = None

    def lot_dates(self, accrued_at: datetime) -> tuple[datetime, datetime | None]:
        """When bonus accrued at ``accrued_at`` (the receipt's time) becomes payable and when it
        expires."""
        activates_at = accrued_at + timedelta(days=self.activation_delay_days)
        if self.lifetime_days is None:
            return activates_at, None
        start = activates_at if self.lifetime_from == "activation" else accrued_at
        return activates_at, start + timedelta(days=self.lifetime_days)

    def accrual_percent(self, level_code: str | None) -> Decimal:
        if level_code is not None and level_code in self.accrual_percent_by_level:
            return self.accrual_percent_by_level[level_code]
        return self.default_accrual_percent


def parse_level_rules(data: Any) -> LevelRules:
    if not isinstance(data, dict):
        raise bad_field("rules", "Ожидается объект")
    basis = data.get("basis")
    if basis not in ("sum", "count"):
        raise bad_field("rules.basis", "Основание уровня: sum или count")
    window_data = data.get("window")
    if not isinstance(window_data, dict) or window_data.get("kind") not in WINDOW_KINDS:
        raise bad_field("rules.window.kind", f"Период: {', '.join(WINDOW_KINDS)}")
    days = int_field(window_data, "days", "rules.window", 0) or 0
    if window_data["kind"] == "rolling_days" and days < 1:
        raise bad_field("rules.window.days", "Укажите число дней скользящего периода")
    window = Window(window_data["kind"], days, bool(window_data.get("previous", False)))
    raw_levels = data.get("levels")
    if not isinstance(raw_levels, list) or not raw_levels:
        raise bad_field("rules.levels", "Укажите хотя бы один уровень")
    levels = []
    for i, item in enumerate(raw_levels):
        path = f"rules.levels[{i}]"
        if not isinstance(item, dict) or not str(item.get("code", "")).strip():
            raise bad_field(f"{path}.code", "У уровня должен быть код")
        levels.append(
            Level(
                code=str(item["code"]).strip(),
                name=str(item.get("name") or item["code"]),
                threshold=decimal_field(item, "threshold", path, "0"),
                discount_percent=percent_field(item, "discount_percent", path, "0"),
            )
        )
    thresholds = [level.threshold for level in levels]
    if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
        raise bad_field("rules.levels", "Пороги уровней должны строго возрастать")
    if len({level.code for level in levels}) != len(levels):
        raise bad_field("rules.levels", "Коды уровней должны быть разными")
    return LevelRules(basis=basis, window=window, levels=tuple(levels))


def parse_event_bonus(data: dict[str, Any], path: str) -> EventBonus:
    """The amount (rubles, to the kopeck, above zero) and the lot dates of an accrual outside a
    receipt; ``InvalidProgramRules`` names the field (``<path>.amount``)."""
    amount = decimal_field(data, "amount", path)
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise bad_field(f"{path}.amount", "Сумма бонусов больше нуля, с точностью до копейки")
    if amount > MAX_EVENT_AMOUNT:
        raise bad_field(f"{path}.amount", f"Не больше {MAX_EVENT_AMOUNT} бонусов")
    delay = int_field(data, "activation_delay_days", path, 0) or 0
    lifetime = int_field(data, "lifetime_days", path)
    if delay > MAX_EVENT_DAYS:
        raise bad_field(f"{path}.activation_delay_days", f"Не больше {MAX_EVENT_DAYS} дней")
    if lifetime is not None and not 1 <= lifetime <= MAX_EVENT_DAYS:
        raise bad_field(
            f"{path}.lifetime_days", f"Срок жизни — от 1 до {MAX_EVENT_DAYS} дней (или не задан)"
        )
    return EventBonus(amount, delay, lifetime)


def _event_object(data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    raw = data[key]
    path = f"rules.{key}"
    if not isinstance(raw, dict):
        raise bad_field(path, "Ожидается объект")
    for name in raw:
        if name not in allowed:
            raise bad_field(f"{path}.{name}", "Неизвестное поле")
    return raw


EVENT_FIELDS = ("amount", "activation_delay_days", "lifetime_days")


def parse_welcome(data: dict[str, Any]) -> WelcomeBonus | None:
    """``rules.welcome``: bonus once per customer, on registration or once the questionnaire
    is filled (``on``)."""
    if data.get("welcome") is None:
        return None
    raw = _event_object(data, "welcome", (*EVENT_FIELDS, "on"))
    on = raw.get("on", "registration")
    if on not in WELCOME_ON:
        raise bad_field(
            "rules.welcome.on",
            "Когда начислять: при регистрации (registration) или после заполнения анкеты "
            "(questionnaire)",
        )
    return WelcomeBonus(parse_event_bonus(raw, "rules.welcome"), on)


def parse_birthday(data: dict[str, Any]) -> BirthdayBonus | None:
    """``rules.birthday``: bonus once a year, ``days_before`` the birthday in ``timezone``."""
    if data.get("birthday") is None:
        return None
    raw = _event_object(data, "birthday", (*EVENT_FIELDS, "days_before", "timezone"))
    days_before = int_field(raw, "days_before", "rules.birthday", 0) or 0
    if days_before > MAX_BIRTHDAY_DAYS_BEFORE:
        raise bad_field(
            "rules.birthday.days_before",
            f"Не больше {MAX_BIRTHDAY_DAYS_BEFORE} дней до дня рождения",
        )
    return BirthdayBonus(
        parse_event_bonus(raw, "rules.birthday"),
        days_before,
        check_timezone("rules.birthday.timezone", raw.get("timezone", DEFAULT_TIMEZONE)),
    )


def parse_bonus_rules(data: Any) -> BonusRules:
    if not isinstance(data, dict):
        raise bad_field("rules", "Ожидается объект")
    by_level_raw = data.get("accrual_percent_by_level", {})
    if not isinstance(by_level_raw, dict):
        raise bad_field("rules.accrual_percent_by_level", "Ожидается объект код уровня → процент")
    by_level = {
        str(code): percent_field(by_level_raw, code, "rules.accrual_percent_by_level")
        for code in by_level_raw
    }
    lifetime_days = int_field(data, "lifetime_days", "rules")
    if lifetime_days == 0:
        raise bad_field(
            "rules.lifetime_days", "Срок жизни бонусов — не меньше 1 дня (или не задан)"
        )
    lifetime_from = data.get("lifetime_from", "accrual")
    if lifetime_from not in LIFETIME_FROM:
        raise bad_field(
            "rules.lifetime_from",
            "Срок жизни считается от начисления (accrual) или от активации (activation)",
        )
    delay = int_field(data, "activation_delay_days", "rules", 0) or 0
    if lifetime_days is not None and lifetime_from == "accrual" and delay >= lifetime_days:
        raise bad_field(
            "rules.activation_delay_days",
            "Бонусы сгорели бы раньше, чем станут активными: задержка активации должна быть "
            "меньше срока жизни",
        )
    return BonusRules(
        default_accrual_percent=percent_field(data, "accrual_percent", "rules", "0"),
        accrual_percent_by_level=by_level,
        max_payment_percent=percent_field(data, "max_payment_percent", "rules", "0"),
        activation_delay_days=delay,
        lifetime_days=lifetime_days,
        accrue_on_no_discount_lines=bool(data.get("accrue_on_no_discount_lines", False)),
        lifetime_from=lifetime_from,
        welcome=parse_welcome(data),
        birthday=parse_birthday(data),
        accrual_goods=(
            parse_goods_set(data["accrual_goods"], "rules.accrual_goods")
            if data.get("accrual_goods") is not None
            else None
        ),
        payment_goods=(
            parse_goods_set(data["payment_goods"], "rules.payment_goods")
            if data.get("payment_goods") is not None
            else None
        ),
    )


FIXED_LEVEL = "fixed"


def parse_fixed_discount(data: Any) -> LevelRules:
    """A fixed discount ("5% card"): one level from the first purchase on."""
    if not isinstance(data, dict):
        raise bad_field("rules", "Ожидается объект")
    percent = percent_field(data, "discount_percent", "rules")
    if percent <= 0:
        raise bad_field("rules.discount_percent", "Укажите процент скидки больше нуля")
    name = str(data.get("name") or f"Скидка {percent.normalize():f}%")
    return LevelRules(
        basis="sum",
        window=Window("rolling_days", 1),
        levels=(Level(FIXED_LEVEL, name, Decimal(0), percent),),
    )


PARSERS = {
    "discount_level": parse_level_rules,
    "fixed_discount": parse_fixed_discount,
    "bonus": parse_bonus_rules,
    "promotion": parse_promotion,
}
# The engine has one discount slot: a level program or a fixed discount fills it; promotions
# are not a slot: every promotion in force applies (``processing.promotions``).
SLOTS = {
    "discount_level": "discount", "fixed_discount": "discount", "bonus": "bonus",
    "promotion": "promotion",
}  # fmt: skip


def discount_rules(kind: str, data: Any) -> LevelRules | None:
    """The discount slot's rules of a program of ``kind`` (None: not a discount program)."""
    if kind == "discount_level":
        return parse_level_rules(data)
    if kind == "fixed_discount":
        return parse_fixed_discount(data)
    return None
