"""The promotion stage of ``calculate``: which promotions apply to a receipt, what each gives on
each line, and how they combine.

Order (one defined order, ``docs/promotions.md``):

1. Conditions that do not depend on the goods (time in the store's zone, the customer, the
   payment kinds) are checked once per promotion.
2. An exclusive promotion that applies replaces everything else, the card level's discount
   included; of several, the one giving most (then by priority).
3. Otherwise the combination groups apply one after another, each on what the previous left.
   Inside a group, per line: ``first`` — the promotion first by priority; ``max`` / ``min`` —
   the largest / smallest discount; ``sum`` — all of them; ``multiply`` — one after another on
   the remainder, percent before M-for-N, gifts and fixed prices, before fixed sums (then by
   priority). The card level's discount takes part in one group like a promotion.
4. Receipt conditions (sum, quantity, kits, "any N") are checked on the amounts as they stand
   when the promotion is applied: a second 100 ₽ coupon with a 100 ₽ minimum is refused on what
   the first one left.

Every amount is in kopecks; a receipt-level amount is spread by largest remainder
(``kopecks.spread``); no line goes below zero or below the gift units' price; a promotion's
``max_line_discount_percent`` caps the line's total discount where it applies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from types import MappingProxyType

from processing.engine.kopecks import spread
from processing.engine.model import PromotionFacts, PromotionOutcome, ReceiptLine, StampCard
from processing.money import from_kopecks, kopecks_text, to_kopecks
from processing.promotions.book import PromotionBook
from processing.promotions.rules import (
    GROUP_MODE_TITLES,
    Bounds,
    GoodsSet,
    Promotion,
    PromotionGroup,
    When,
)

# The card level's discount per line on given amounts, at the level's percent × factor.
LevelDiscount = Callable[[list[int], Decimal], list[int]]
ONE = Decimal(1)
HUNDRED = Decimal(100)
LEVEL = "level"  # the card level's discount as a participant of a group
KIND_ORDER = {"percent": 0, "m_for_n": 1, "gift": 1, "stamps": 1, "fixed_price": 1, "fixed": 2}
HINT_SHARE = Decimal("0.3")  # a hint when the receipt is within 30% of a sum threshold
MAX_HINTS = 3
MAX_REFUSALS = 10_000  # refusals a book keeps (their reasons are few per promotion)
COUPON_NEEDED = "Нужен купон акции."


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class CardFacts:
    """The card as promotions see it (None level: no level or no card)."""

    present: bool
    level_code: str | None


@dataclass
class _Line:
    index: int
    line: ReceiptLine
    mask: int
    units: int | None  # whole quantity; None for weighed goods
    discountable: bool


_NONE: Mapping[int, int] = MappingProxyType({})


class _Vector:
    """What one participant gives: kopecks per line index, and gift units per line (a plain
    class: hundreds are made per receipt)."""

    __slots__ = ("amounts", "gifts", "locks")

    def __init__(
        self,
        amounts: dict[int, int] | None = None,
        gifts: Mapping[int, int] = _NONE,
        locks: Mapping[int, int] = _NONE,
    ) -> None:
        self.amounts: dict[int, int] = {} if amounts is None else amounts
        # Gift units per line and the kopecks they keep: most vectors have none, and share one
        # read-only empty mapping (a vector with gifts is made with its own).
        self.gifts = gifts
        self.locks = locks

    @property
    def total(self) -> int:
        return sum(self.amounts.values())


@dataclass
class Stage:
    """The promotion stage's result for ``calculate``."""

    discounts: list[int]  # per line: level and promotions together
    level: list[int]  # per line: the card level's share
    promotions: list[list[tuple[Promotion, int]]]  # per line: (promotion, kopecks)
    gifts: list[int]  # per line: gift units
    locked: list[int]  # per line: kopecks of gift units no later reduction may take
    multipliers: list[Decimal]  # per line: accrual factor
    extra: list[Promotion]  # applicable extra-bonus promotions
    outcomes: list[PromotionOutcome]
    hints: list[str]
    masks: list[int]
    stamps: list[StampCard] = field(default_factory=list)
    conversions: list[Promotion] = field(default_factory=list)  # applicable bonus conversions


class _Evaluation:
    """One receipt against one book."""

    def __init__(
        self,
        lines: Sequence[ReceiptLine],
        amounts: Sequence[int],
        book: PromotionBook,
        facts: PromotionFacts,
        card: CardFacts,
        level_discount: LevelDiscount,
    ) -> None:
        self.book = book
        self.facts = facts
        self.card = card
        self.level_discount = level_discount
        self.original = list(amounts)
        self.lines = [
            _Line(
                i, line,
                book.coverage(line.goods_id, line.group_ids, line.brand_id, line.supplier_id,
                              to_kopecks(line.price)),
                int(line.quantity) if line.quantity == line.quantity.to_integral_value() else None,
                not line.no_discount,
            )
            for i, line in enumerate(lines)
        ]  # fmt: skip
        self.current = list(amounts)
        self.locked = [0] * len(lines)
        self.gifts = [0] * len(lines)
        self.level = [0] * len(lines)
        self.given: list[list[tuple[Promotion, int]]] = [[] for _ in lines]
        self.outcomes: dict[str, PromotionOutcome] = {}
        self.hints: list[tuple[int, str]] = []
        self._covered: dict[int, list[_Line]] = {}
        self._sums: dict[tuple[int, int], int] = {}
        self._applied = 0  # how many vectors were applied: the state of the amounts
        self.redeemed: dict[str, int] = {}  # stamps promotions: free units given
        self.stamped: set[str] = set()  # stamps promotions whose receipt conditions hold
        # Level multipliers: their lines; the level's offer split back into its own share and
        # the multiplier's (``level_vector``, ``apply``).
        self.boosts: list[tuple[Promotion, list[int]]] = []
        self.level_base: dict[int, int] = {}
        self.level_boost: dict[int, Promotion] = {}
        # Per line, the most it may be discounted in all, set by capped promotions applied on it
        self.ceiling: dict[int, int] = {}
        self.stock_taken: dict[str, int] = {}  # gift units of counted goods given so far
        self.out_of_stock: dict[str, int] = {}  # gift promotions: units the stock lacked

    def refuse(self, promotion: Promotion, reason: str | None) -> None:
        """The promotion is considered and not applied, for ``reason``. A refusal is the same
        value on every receipt it happens on: the book keeps the ones it has made."""
        key = (promotion.code, reason)
        outcome = self.book.refusals.get(key)
        if outcome is None:
            outcome = PromotionOutcome(promotion.code, promotion.title, False, reason=reason,
                                       version_id=promotion.version_id)  # fmt: skip
            if len(self.book.refusals) < MAX_REFUSALS:
                self.book.refusals[key] = outcome
        self.outcomes[promotion.code] = outcome

    def refuse_empty(self, promotion: Promotion) -> None:
        """The promotion's conditions hold but its reward gives nothing here: say why."""
        reward = promotion.reward
        if reward.kind == "stamps":
            return  # stamps are collected all the same (``stamp_cards``)
        if reward.kind == "m_for_n":
            target = reward.target if reward.target is not None else promotion.receipt.goods
            units = self._units(target)
            if units < reward.n:
                missing = reward.n - units
                self._hint(missing * 100, f"Ещё {missing} шт. — и сработает «{promotion.title}».")
                self.refuse(promotion, f"Нужно не меньше {reward.n} шт. товаров акции.")
                return
        if reward.kind == "gift":
            if promotion.code in self.out_of_stock:
                self.refuse(promotion, "Подарки по акции закончились в магазине.")
                return
            self.refuse(promotion, "Подарочного товара нет в чеке (штучного, без скидки).")
            return
        self.refuse(promotion, "Скидка по акции на эти товары уже максимальна.")

    # --- conditions ----------------------------------------------------------------------

    def static_reason(self, promotion: Promotion) -> str | None:
        """Why the promotion cannot apply whatever the goods (None: it may)."""
        if not promotion.when.always:
            when = _when_reason(promotion.when, self.facts.local_time)
            if when:
                return when
        if promotion.code in self.facts.exhausted:
            return "Лимит акции исчерпан."
        if promotion.coupon and promotion.code not in self.facts.coupons:
            return COUPON_NEEDED
        if self.facts.budget_left.get(promotion.code, 1) <= 0:
            return "Бюджет акции исчерпан."
        receipt = promotion.receipt
        if receipt.payment and receipt.payment.isdisjoint(self.facts.payments):
            return "Не подходит способ оплаты."
        if not promotion.needs_customer:
            return None
        if not self.card.present:
            return "Нужна карта покупателя."
        return self._customer_reason(promotion)

    def _customer_reason(self, promotion: Promotion) -> str | None:
        customer, facts = promotion.customer, self.facts
        today = facts.local_time.date()
        if customer.levels and self.card.level_code not in customer.levels:
            return "Не для уровня карты покупателя."
        if customer.card_templates and facts.card_template not in customer.card_templates:
            return "Не для этого вида карты."
        if customer.segments and customer.segments.isdisjoint(facts.segments):
            return "Покупатель не входит в сегмент акции."
        if customer.birthday is not None and not _near_birthday(
            facts.birthday, today, *customer.birthday
        ):
            return "Действует только в дни рождения покупателя."
        days = customer.registered_within_days
        if days is not None and (
            facts.registered_on is None or (today - facts.registered_on).days > days
        ):
            return f"Только для покупателей, зарегистрированных не раньше {days} дн. назад."
        days = customer.first_purchase_within_days
        first = facts.first_purchases.get(promotion.code)
        if days is not None and first is not None and (today - first).days > days:
            return f"Действует {days} дн. с первой покупки по акции."
        if customer.cumulative is not None and not customer.cumulative.holds(
            facts.cumulative if facts.cumulative is not None else Decimal(0)
        ):
            return "Не подходит сумма накоплений покупателя."
        if customer.previous_purchase and promotion.code not in facts.previous_purchases:
            return "Нет нужных покупок за прошлый период."
        for name, value in customer.fields:
            if facts.fields.get(name) != value:
                return "Не подходят данные анкеты покупателя."
        return None

    def covered(self, goods_set: GoodsSet) -> list[_Line]:
        return self._covered_by(self.book.set_id(goods_set))

    def _covered_by(self, number: int) -> list[_Line]:
        found = self._covered.get(number)
        if found is None:
            bit = 1 << number
            found = self._covered[number] = [line for line in self.lines if line.mask & bit]
        return found

    def receipt_check(self, promotion: Promotion, current: Sequence[int]) -> tuple[int, str | None]:
        """How many times the receipt meets the promotion's receipt conditions (sets: kits,
        "any N" groups, or 1), or 0 with the reason; near misses leave a hint."""
        conditions = promotion.receipt
        number = self.book.set_id(conditions.goods)
        trigger = self._covered_by(number)
        if not trigger:  # none of its goods (a set of all goods may still bound the price)
            return 0, "В чеке нет товаров акции."
        if conditions.amount is not None:
            # Many promotions share a trigger set: its sum is taken once per state of the
            # amounts (``apply`` moves the state on; a group's start is the state before it).
            key = (number, self._applied)
            total = self._sums.get(key)
            if total is None:
                total = self._sums[key] = sum(current[line.index] for line in trigger)
            reason = self._bounds_reason(conditions.amount, total, promotion)
            if reason:
                return 0, reason
        if conditions.quantity is not None:
            quantity = sum((line.line.quantity for line in trigger), Decimal(0))
            if not conditions.quantity.holds(quantity):
                return 0, "Не подходит количество товаров акции."
        sets = 1
        if conditions.kit:
            sets = min(self._units(part.goods) // part.quantity for part in conditions.kit)
            if sets == 0:
                return 0, "В чеке нет полного комплекта."
        if conditions.any_of is not None:
            units = self._units(conditions.any_of.goods)
            sets = units // conditions.any_of.quantity
            if sets == 0:
                missing = conditions.any_of.quantity - units
                self._hint(missing * 100, f"Ещё {missing} шт. — и сработает «{promotion.title}».")
                return 0, f"Нужно не меньше {conditions.any_of.quantity} шт. товаров акции."
        if promotion.limits.per_receipt is not None:
            sets = min(sets, promotion.limits.per_receipt)
        return sets, None

    def _bounds_reason(self, bounds: Bounds, total: int, promotion: Promotion) -> str | None:
        if bounds.low is not None and total < to_kopecks(bounds.low):
            low = to_kopecks(bounds.low)
            if low - total <= low * HINT_SHARE:
                self._hint(
                    low - total,
                    f"Ещё {kopecks_text(low - total)} ₽ — и сработает «{promotion.title}».",
                )
            return f"Сумма покупки меньше {kopecks_text(low)} ₽."
        if bounds.high is not None and total > to_kopecks(bounds.high):
            return f"Сумма покупки больше {kopecks_text(to_kopecks(bounds.high))} ₽."
        return None

    def _hint(self, distance: int, text: str) -> None:
        self.hints.append((distance, text))

    def _units(self, goods_set: GoodsSet) -> int:
        return sum(line.units or 0 for line in self.covered(goods_set))

    # --- rewards -------------------------------------------------------------------------

    def vector(self, promotion: Promotion, current: Sequence[int], sets: int) -> _Vector:
        """What the promotion's discount reward gives on ``current`` amounts."""
        reward = promotion.reward
        target_set = reward.target if reward.target is not None else promotion.receipt.goods
        if reward.kind == "gift":
            return self._gift(promotion, current, sets)
        if reward.kind == "stamps":
            return self._stamps(promotion, current)
        targets: list[_Line] = []
        rooms: list[int] = []  # what each target line has left to discount, in their order
        locked = self.locked
        for line in self.covered(target_set):
            left = current[line.index] - locked[line.index]
            if left > 0 and line.discountable:
                targets.append(line)
                rooms.append(left)
        vector = _Vector()
        kind = reward.kind
        if kind == "percent":
            total = _half_up(Decimal(sum(rooms)) * reward.percent / HUNDRED)
            vector.amounts = _spread(total, targets, rooms)
        elif kind == "fixed" and reward.per == "receipt":
            vector.amounts = _spread(min(reward.amount, sum(rooms)), targets, rooms)
        elif kind == "fixed":
            for line, room in zip(targets, rooms, strict=True):
                each = reward.amount
                if reward.per == "unit":
                    each = _half_up(reward.amount * line.line.quantity)
                vector.amounts[line.index] = min(each, room)
        elif kind == "fixed_price":
            for line, room in zip(targets, rooms, strict=True):
                price_sum = _half_up(reward.price * line.line.quantity)
                vector.amounts[line.index] = max(0, room - price_sum)
        elif kind == "m_for_n":
            vector.amounts = self._m_for_n(
                reward.n, reward.m, targets, rooms, promotion.limits.per_receipt
            )
        if (
            promotion.max_line_discount_percent is not None
            or promotion.price_floor is not None
            or self.ceiling
        ):
            vector = self._capped(promotion, vector, current)
        if promotion.code in self.facts.budget_left:
            vector = self._within_budget(promotion, vector)
        return vector

    def _m_for_n(
        self, n: int, m: int, targets: list[_Line], rooms: list[int], limit: int | None
    ) -> dict[int, int]:
        """Of every n units m are paid (at most ``limit`` sets): the cheapest units of the
        whole set are free."""
        room = {line.index: left for line, left in zip(targets, rooms, strict=True)}
        whole = [line for line in targets if line.units]
        total_units = sum(line.units or 0 for line in whole)
        sets = total_units // n if limit is None else min(total_units // n, limit)
        free = sets * (n - m)
        if not free:
            return {}
        # Cheapest first; ties: the later line, so the first lines keep their price.
        order = sorted(whole, key=lambda line: (Decimal(room[line.index]) / (line.units or 1),
                                                -line.line.number))  # fmt: skip
        taken: dict[int, int] = {}
        for line in order:
            if not free:
                break
            units = line.units or 0
            count = min(units, free)
            free -= count
            taken[line.index] = _half_up(Decimal(room[line.index]) * count / units)
        return taken

    def _gift(self, promotion: Promotion, current: Sequence[int], sets: int) -> _Vector:
        """Gift units present in the receipt, up to sets × quantity, at the gift price, as far
        as the store's gift stock goes; units the stock lacks are given as the promotion's
        substitute discount on the trigger goods, if it has one."""
        reward = promotion.reward
        gift_set = reward.target if reward.target is not None else promotion.receipt.goods
        lines = self.covered(gift_set)
        wanted = sets * reward.m
        stock = self._stock_left(lines)
        vector, short = self._give_within_budget(
            promotion, lines, current, wanted, reward.price, stock
        )
        if stock:
            _, present_short = self._give(lines, current, wanted, reward.price)
            missing = short - present_short  # units on the receipt the stock lacks
            if missing:
                self.out_of_stock[promotion.code] = missing
                vector = self._substitute(
                    promotion, vector, current, missing, wanted - present_short
                )
            short = present_short
        if short:
            self._hint(
                short * 100,
                f"Подарок по акции «{promotion.title}»: добавьте в чек ещё {short} шт.",
            )
        return vector

    def _stock_left(self, lines: Sequence[_Line]) -> dict[str, int] | None:
        """Units the store's gift stock still has of the goods of ``lines`` (only goods it
        counts), less the gifts of them already given on this receipt; None: none counted."""
        counted = self.facts.gift_stock
        if not counted:
            return None
        left = {
            line.line.goods_id: counted[line.line.goods_id] - self.stock_taken.get(
                line.line.goods_id, 0
            )
            for line in lines
            if line.line.goods_id in counted
        }  # fmt: skip
        return left or None

    def _substitute(
        self, promotion: Promotion, vector: _Vector, current: Sequence[int], missing: int,
        present: int,
    ) -> _Vector:  # fmt: skip
        """The gift units the stock lacks, as the promotion's substitute percent off its trigger
        goods (their share: missing of the units the receipt had); the cashier is told."""
        percent = promotion.reward.substitute
        title = promotion.title
        if not percent or not present:
            self._hint(0, f"Подарки по акции «{title}» закончились в магазине: "
                          f"не выдано {missing} шт.")  # fmt: skip
            return vector
        targets, rooms = [], []
        for line in self.covered(promotion.receipt.goods):
            room = current[line.index] - self.locked[line.index] - vector.amounts.get(line.index, 0)
            if room > 0 and line.discountable:
                targets.append(line)
                rooms.append(room)
        total = _half_up(Decimal(sum(rooms)) * percent * missing / (HUNDRED * present))
        amounts = dict(vector.amounts)
        for index, amount in _spread(total, targets, rooms).items():
            amounts[index] = amounts.get(index, 0) + amount
        given = (percent * missing / present).quantize(Decimal("0.01")).normalize()
        self._hint(0, f"Подарки по акции «{title}» закончились в магазине: вместо {missing} "
                      f"шт. — скидка {given:f}% на товары акции.")  # fmt: skip
        return _Vector(amounts, vector.gifts, vector.locks)

    def _give_within_budget(
        self,
        promotion: Promotion,
        lines: Sequence[_Line],
        current: Sequence[int],
        wanted: int,
        price: int,
        stock: Mapping[str, int] | None = None,
    ) -> tuple[_Vector, int]:
        """``_give``, as many whole units as what is left of the promotion's budget pays for
        (a unit is given whole or not at all)."""
        vector, short = self._give(lines, current, wanted, price, stock)
        left = self.facts.budget_left.get(promotion.code)
        given = wanted - short
        while left is not None and given and vector.total > left:
            given -= 1
            vector, _ = self._give(lines, current, given, price, stock)
        return vector, short

    def _give(
        self,
        lines: Sequence[_Line],
        current: Sequence[int],
        wanted: int,
        price: int,
        stock: Mapping[str, int] | None = None,
    ) -> tuple[_Vector, int]:
        """Up to ``wanted`` whole units of ``lines`` (in that order) given at ``price`` each:
        separate units of their lines (printed apart, kept at the price), no more of a goods
        item than ``stock`` has of it (goods it does not name: no limit); answers what is left
        wanted."""
        amounts: dict[int, int] = {}
        gifts: dict[int, int] = {}
        locks: dict[int, int] = {}
        left = dict(stock) if stock else {}
        for line in lines:
            if not wanted:
                break
            units = line.units
            room = current[line.index] - self.locked[line.index]
            if not units or not line.discountable or room <= 0:
                continue
            free_units = units - self.gifts[line.index]
            count = min(free_units, wanted)
            goods = line.line.goods_id
            if goods in left:
                count = min(count, left[goods])
                left[goods] -= max(count, 0)
            if count <= 0:
                continue
            value = _half_up(Decimal(room) * count / free_units)
            wanted -= count
            amounts[line.index] = max(0, value - count * price)
            gifts[line.index] = count
            locks[line.index] = count * price
        return _Vector(amounts, gifts, locks), wanted

    def _stamps(self, promotion: Promotion, current: Sequence[int]) -> _Vector:
        """Every n-th unit free, counting the stamps already on the card: the units of the
        trigger goods add stamps; each n stamps make one unit of the target goods free (the
        cheapest units of the receipt)."""
        self.stamped.add(promotion.code)
        every = promotion.reward.n
        units = self._units(promotion.receipt.goods)
        free = (self.facts.stamps.get(promotion.code, 0) + units) // every
        if promotion.limits.per_receipt is not None:
            free = min(free, promotion.limits.per_receipt)
        if not free:
            return _Vector()
        target = promotion.reward.target or promotion.receipt.goods
        cheapest = sorted(
            (line for line in self.covered(target) if line.units),
            key=lambda line: (
                Decimal(current[line.index] - self.locked[line.index])
                / ((line.units or 1) - self.gifts[line.index] or 1),
                -line.line.number,
            ),
        )
        return self._give_within_budget(promotion, cheapest, current, free, 0)[0]

    def stamp_cards(self, applicable: Sequence[Promotion]) -> list[StampCard]:
        """The card's stamps after the receipt, per stamps promotion whose conditions held."""
        cards = []
        for promotion in applicable:
            if promotion.code not in self.stamped:
                continue
            every = promotion.reward.n
            before = self.facts.stamps.get(promotion.code, 0)
            added = self._units(promotion.receipt.goods)
            redeemed = self.redeemed.get(promotion.code, 0)
            after = before + added - every * redeemed
            if not (added or redeemed):
                continue
            cards.append(StampCard(promotion.code, promotion.title, every, before, added,
                                   redeemed, after, promotion.version_id))  # fmt: skip
            if after >= every:
                self._hint(0, f"Следующий товар по акции «{promotion.title}» — бесплатно.")
            elif after == every - 1:
                self._hint(1, f"Ещё 1 покупка — и следующий товар по акции «{promotion.title}» "
                              "бесплатно.")  # fmt: skip
        return cards

    def _within_budget(self, promotion: Promotion, vector: _Vector) -> _Vector:
        """What is left of the promotion's budget bounds what it gives, spread like the rest."""
        left = self.facts.budget_left.get(promotion.code)
        if left is None or vector.total <= left:
            return vector
        lines = sorted(vector.amounts)
        shares = spread(left, [vector.amounts[i] for i in lines],
                        [self.lines[i].line.number for i in lines])  # fmt: skip
        vector.amounts = dict(zip(lines, shares, strict=True))
        return vector

    def most(self, participant: Promotion | None, index: int, left: int) -> int:
        """The most a participant's discount may take off a line that has ``left`` kopecks:
        down to its price floor (``price_floor`` × quantity), within the most the line may be
        discounted in all when it applies (``max_line_discount_percent`` of its sum), and within
        that of every capped promotion already applied on the line (``ceiling``)."""
        most = left
        if participant is not None:
            if participant.price_floor is not None:
                floor = _half_up(participant.price_floor * self.lines[index].line.quantity)
                most = left - floor
            allowed = self._allowed(participant, index)
            if allowed is not None:
                most = min(most, allowed - (self.original[index] - left))
        ceiling = self.ceiling.get(index)
        if ceiling is not None:
            most = min(most, ceiling - (self.original[index] - left))
        return max(0, most)

    def _allowed(self, participant: Promotion, index: int) -> int | None:
        """The line's whole discount a capped promotion allows (None: no cap), rounded down: a
        cap of 25% on 159.27 allows 39.81, never a kopeck past 39.8175."""
        cap = participant.max_line_discount_percent
        if cap is None:
            return None
        return int((Decimal(self.original[index]) * cap / HUNDRED).to_integral_value(ROUND_FLOOR))

    def hold_cap(self, participant: Promotion | None, index: int) -> None:
        """A capped promotion applied on a line: no later discount takes the line past it."""
        allowed = None if participant is None else self._allowed(participant, index)
        if allowed is not None:
            self.ceiling[index] = min(self.ceiling.get(index, allowed), allowed)

    def _capped(self, promotion: Promotion, vector: _Vector, current: Sequence[int]) -> _Vector:
        """The promotion's caps (``most``) on what it offers."""
        for index, amount in list(vector.amounts.items()):
            vector.amounts[index] = min(amount, self.most(promotion, index, current[index]))
        return vector

    # --- combination ---------------------------------------------------------------------

    def apply(self, participant: Promotion | None, vector: _Vector) -> None:
        self._applied += 1
        for index, amount in vector.amounts.items():
            if not amount and index not in vector.gifts:
                continue
            self.current[index] -= amount
            if participant is not None:
                self.given[index].append((participant, amount))
                if amount:
                    self.hold_cap(participant, index)
                continue
            # the level's own share first; what the level offer kept beyond it is the level
            # multiplier's
            own = min(amount, self.level_base.get(index, 0))
            self.level[index] += own
            if amount > own:
                self.given[index].append((self.level_boost[index], amount - own))
                self.hold_cap(self.level_boost[index], index)
        for index, count in vector.gifts.items():
            self.gifts[index] += count
            self.locked[index] += vector.locks.get(index, 0)
            goods = self.lines[index].line.goods_id
            if (
                participant is not None
                and participant.reward.kind == "gift"
                and goods in self.facts.gift_stock
            ):
                self.stock_taken[goods] = self.stock_taken.get(goods, 0) + count
        if participant is not None and participant.reward.kind == "stamps" and vector.gifts:
            code = participant.code
            self.redeemed[code] = self.redeemed.get(code, 0) + sum(vector.gifts.values())

    def level_vector(self, current: list[int]) -> _Vector:
        """The card level's discount on what the gift units leave; on the lines of a level
        multiplier (``boost_level``) also the promotion's share, the level's percent ×
        (factor − 1) of those lines, as one offer with the level's own."""
        free = [amount - locked for amount, locked in zip(current, self.locked, strict=True)]
        amounts = {i: amount for i, amount in enumerate(self.level_discount(free, ONE)) if amount}
        if self.ceiling:  # capped promotions applied before the level's group
            amounts = {i: most for i, amount in amounts.items()
                       if (most := min(amount, self.most(None, i, current[i])))}  # fmt: skip
        self.level_base = dict(amounts)
        self.level_boost = {}
        for promotion, indices in self.boosts:
            chosen = set(indices)
            own = [amount if i in chosen else 0 for i, amount in enumerate(free)]
            share = self.level_discount(own, promotion.reward.factor - ONE)
            # never past the line's sum (a 50% level × 3 gives the line away, no more), nor
            # past the promotion's caps on what the level's own share leaves
            boost = _Vector({
                i: min(share[i], free[i] - amounts.get(i, 0),
                       self.most(promotion, i, current[i] - amounts.get(i, 0)))
                for i in indices if share[i]
            })  # fmt: skip
            if promotion.code in self.facts.budget_left:
                boost = self._within_budget(promotion, boost)
            for i, amount in boost.amounts.items():
                if amount:
                    amounts[i] = amounts.get(i, 0) + amount
                    self.level_boost[i] = promotion
        return _Vector(amounts)

    def boost_level(self, multipliers: list[Promotion]) -> None:
        """Level multipliers whose conditions hold: each line of their target goods takes the
        largest factor (the first in the book's order of equal ones)."""
        best: dict[int, Promotion] = {}
        for promotion in multipliers:
            target = promotion.reward.target or promotion.receipt.goods
            for line in self.covered(target):
                held = best.get(line.index)
                if held is None or promotion.reward.factor > held.reward.factor:
                    best[line.index] = promotion
        by_promotion: dict[str, tuple[Promotion, list[int]]] = {}
        for index, promotion in sorted(best.items()):
            by_promotion.setdefault(promotion.code, (promotion, []))[1].append(index)
        self.boosts = list(by_promotion.values())


def _spread(total: int, targets: list[_Line], rooms: list[int]) -> dict[int, int]:
    """``total`` over the target lines by their room, by line index."""
    if not total:
        return {}
    shares = spread(total, rooms, [line.line.number for line in targets])
    return {line.index: share for line, share in zip(targets, shares, strict=True) if share}


def _when_reason(when: When, moment: datetime) -> str | None:
    today = moment.date()
    if when.dates and not any(r.start <= today <= r.end for r in when.dates):
        return "Акция не действует в эту дату."
    if when.yearly and not any(_in_yearly(today, r.start, r.end) for r in when.yearly):
        return "Акция не действует в эту дату."
    if when.weekdays and today.isoweekday() not in when.weekdays:
        return "Акция не действует в этот день недели."
    if when.hours:
        now = moment.time()
        inside = any(
            (h.start <= now < h.end) if h.start < h.end else (now >= h.start or now < h.end)
            for h in when.hours
        )
        if not inside:
            return "Акция не действует в это время."
    return None


def _in_yearly(day: date, start: tuple[int, int], end: tuple[int, int]) -> bool:
    key = (day.month, day.day)
    if start <= end:
        return start <= key <= end
    return key >= start or key <= end  # over New Year


def _near_birthday(birthday: date | None, today: date, before: int, after: int) -> bool:
    if birthday is None:
        return False
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            this = birthday.replace(year=year)
        except ValueError:  # 29 February in a common year: the 28th
            this = date(year, 2, 28)
        if -before <= (today - this).days <= after:
            return True
    return False


def _combine(
    mode: str,
    vectors: list[tuple[Promotion | None, _Vector]],
    current: Sequence[int],
    most: Callable[[Promotion | None, int, int], int],
    hold_cap: Callable[[Promotion | None, int], None],
) -> list[tuple[Promotion | None, _Vector]]:
    """Per line, which participants keep what (modes first, max, min, sum)."""
    kept: list[tuple[Promotion | None, _Vector]] = [(who, _Vector()) for who, _ in vectors]
    # Participants come in their (priority) order, and each line is decided on its own, so one
    # pass over the participants decides every line as it goes.
    if mode == "sum":
        room = list(current)
        for (who, vector), (_, target) in zip(vectors, kept, strict=True):
            for index, amount in vector.amounts.items():
                if amount:
                    # never below zero, nor past the caps of the one adding it
                    amount = min(amount, most(who, index, room[index]))
                    room[index] -= amount
                    if amount:
                        target.amounts[index] = amount
                        hold_cap(who, index)
    else:
        # "first" keeps the first offer of a line; "max" and "min" the largest or smallest,
        # the earliest of equal ones
        best: dict[int, tuple[int, int]] = {}  # line index: (amount, position)
        for position, (_, vector) in enumerate(vectors):
            for index, amount in vector.amounts.items():
                if amount:
                    held = best.get(index)
                    if held is None or (
                        amount > held[0] if mode == "max" else mode == "min" and amount < held[0]
                    ):
                        best[index] = (amount, position)
        for index, (amount, position) in best.items():
            kept[position][1].amounts[index] = amount
    for (_, source), (_, target) in zip(vectors, kept, strict=True):
        if source.gifts:
            target.gifts = {i: n for i, n in source.gifts.items() if i in target.amounts}
            target.locks = {i: source.locks.get(i, 0) for i in target.gifts}
    return kept


def _order_key(participant: Promotion | None) -> tuple[int, int, str]:
    if participant is None:
        return (KIND_ORDER["percent"], -1, LEVEL)
    return (KIND_ORDER.get(participant.reward.kind, 2), participant.priority, participant.code)


def evaluate(
    lines: Sequence[ReceiptLine],
    amounts: Sequence[int],
    book: PromotionBook,
    facts: PromotionFacts,
    card: CardFacts,
    level_discount: LevelDiscount,
) -> Stage:
    """The promotion stage (see the module docstring); ``level_discount`` gives the card level's
    discount per line on given amounts, its percent × a factor."""
    ev = _Evaluation(lines, amounts, book, facts, card, level_discount)
    covered = 0
    for line in ev.lines:
        covered |= line.mask
    considered = book.considered(covered)
    applicable: list[Promotion] = []
    for promotion in considered:
        reason = ev.static_reason(promotion)
        if reason:
            ev.refuse(promotion, reason)
        else:
            applicable.append(promotion)
    discounting = [p for p in applicable if p.reward.is_discount]
    level_multipliers = []
    for promotion in applicable:
        if promotion.reward.kind == "level_multiplier":
            sets, reason = ev.receipt_check(promotion, ev.current)
            if sets:
                level_multipliers.append(promotion)
            else:
                ev.refuse(promotion, reason)
    ev.boost_level(level_multipliers)
    winner = _best_exclusive(ev, [p for p in discounting if p.exclusive])
    if winner is not None:
        promotion, vector = winner
        ev.apply(promotion, vector)
        for other in applicable:
            if other is not promotion:
                ev.refuse(other, f"Не суммируется с акцией «{promotion.title}».")
        applicable = [promotion]
    else:
        for group in book.groups:
            members = [p for p in discounting if book.group_of[p.code] == group.code
                       and not p.exclusive]  # fmt: skip
            _apply_group(ev, group, members)
    multipliers = [Decimal(1)] * len(lines)
    extra: list[Promotion] = []
    conversions: list[Promotion] = []
    for promotion in applicable:
        reward = promotion.reward
        if reward.is_discount or reward.kind == "level_multiplier":
            continue
        sets, reason = ev.receipt_check(promotion, ev.current)
        if not sets:
            ev.refuse(promotion, reason)
            continue
        if reward.kind == "bonus_conversion":
            conversions.append(promotion)  # applied by ``calculate`` with the bonus payment
        elif reward.kind == "accrual_multiplier":
            target = reward.target if reward.target is not None else promotion.receipt.goods
            for line in ev.covered(target):
                multipliers[line.index] = max(multipliers[line.index], reward.factor)
            ev.outcomes[promotion.code] = PromotionOutcome(
                promotion.code, promotion.title, True, version_id=promotion.version_id
            )
        else:
            extra.append(promotion)
    totals: dict[str, tuple[Promotion, int]] = {}
    for index, given in enumerate(ev.given):
        for promotion, amount in given:
            if amount or ev.gifts[index]:
                previous = totals.get(promotion.code)
                totals[promotion.code] = (promotion, amount + (previous[1] if previous else 0))
    for code, (promotion, kopecks) in totals.items():
        ev.outcomes[code] = PromotionOutcome(
            code, promotion.title, True, from_kopecks(kopecks), version_id=promotion.version_id
        )
    boosted = {promotion.code for promotion, _ in ev.boosts}
    for promotion in level_multipliers:
        if promotion.code in totals or promotion not in applicable:
            continue
        if promotion.code not in boosted:
            ev.refuse(promotion, "На эти товары действует больший множитель скидки уровня.")
        elif not ev.level_base:
            ev.refuse(promotion, "Нет скидки уровня карты на товары акции.")
        else:
            ev.refuse(promotion, "Скидка уровня с множителем уступила другой скидке.")
    stamps = ev.stamp_cards(applicable)
    for stamped in stamps:  # stamps collected without a free unit: applied all the same
        found = ev.outcomes.get(stamped.promotion)
        if found is None or not found.applied:
            ev.outcomes[stamped.promotion] = PromotionOutcome(
                stamped.promotion, stamped.name, True, version_id=stamped.version_id
            )
    hints = [text for _, text in sorted(ev.hints)[:MAX_HINTS]]
    discounts = [a - c for a, c in zip(amounts, ev.current, strict=True)]
    ordered = [ev.outcomes[p.code] for p in considered if p.code in ev.outcomes]
    return Stage(
        discounts=discounts, level=ev.level, promotions=ev.given, gifts=ev.gifts,
        locked=ev.locked, multipliers=multipliers, extra=extra, outcomes=ordered, hints=hints,
        masks=[line.mask for line in ev.lines], stamps=stamps, conversions=conversions,
    )  # fmt: skip


def identify_hints(book: PromotionBook, facts: PromotionFacts) -> list[str]:
    """What identify tells the customer before any goods are scanned: the stamps on the card,
    and the promotions their cumulative purchases are close to (within 30% of the threshold).
    Promotions out of their time, used up or for other customers say nothing."""
    found: list[tuple[int, str]] = []
    for promotion in book.promotions:
        if (
            _when_reason(promotion.when, facts.local_time)
            or promotion.code in facts.exhausted
            or promotion.coupon  # a coupon's promotion: identify lists the customer's coupons
        ):
            continue
        title = promotion.title
        if promotion.reward.kind == "stamps":
            every, stamps = promotion.reward.n, facts.stamps.get(promotion.code, 0)
            if stamps >= every:
                found.append((0, f"Следующий товар по акции «{title}» — бесплатно."))
            elif stamps == every - 1:
                found.append((1, f"Ещё 1 покупка — и следующий товар по акции «{title}» "
                                 "бесплатно."))  # fmt: skip
            elif stamps:
                found.append((every - stamps, f"Акция «{title}»: штампов {stamps} из {every}."))
        bounds = promotion.customer.cumulative
        if bounds is not None and bounds.low is not None and facts.cumulative is not None:
            low, now = to_kopecks(bounds.low), to_kopecks(facts.cumulative)
            if now < low and low - now <= low * HINT_SHARE:
                short = kopecks_text(low - now)
                found.append((low - now, f"Ещё {short} ₽ покупок — и станет доступна "
                                         f"акция «{title}»."))  # fmt: skip
    return [text for _, text in sorted(found)[:MAX_HINTS]]


def _best_exclusive(
    ev: _Evaluation, exclusive: list[Promotion]
) -> tuple[Promotion, _Vector] | None:
    best: tuple[int, Promotion, _Vector] | None = None
    for promotion in exclusive:
        sets, reason = ev.receipt_check(promotion, ev.current)
        if not sets:
            ev.refuse(promotion, reason)
            continue
        vector = ev.vector(promotion, ev.current, sets)
        if vector.total and (best is None or vector.total > best[0]):
            best = (vector.total, promotion, vector)
    return None if best is None else (best[1], best[2])


def _apply_group(ev: _Evaluation, group: PromotionGroup, members: list[Promotion]) -> None:
    participants: list[Promotion | None] = list(members)
    if group.level_discount:
        participants.insert(0, None)
    if not participants:
        return
    if group.mode == "multiply":
        for participant in sorted(participants, key=_order_key):
            if participant is None:
                ev.apply(None, ev.level_vector(ev.current))
                continue
            sets, reason = ev.receipt_check(participant, ev.current)
            if not sets:
                ev.refuse(participant, reason)
                continue
            vector = ev.vector(participant, ev.current, sets)
            ev.apply(participant, vector)
            if not vector.total and not vector.gifts:
                ev.refuse_empty(participant)
        return
    start = list(ev.current)
    vectors: list[tuple[Promotion | None, _Vector]] = []
    for participant in participants:
        if participant is None:
            vectors.append((None, ev.level_vector(start)))
            continue
        sets, reason = ev.receipt_check(participant, start)
        if not sets:
            ev.refuse(participant, reason)
            continue
        vectors.append((participant, ev.vector(participant, start, sets)))
    kept = _combine(group.mode, vectors, start, ev.most, ev.hold_cap)
    owners = {index: who for who, vector in kept for index in vector.amounts}
    reasons: dict[str, str] = {}  # by the winner's code: one text per winner
    for (participant, offered), (_, vector) in zip(vectors, kept, strict=True):
        ev.apply(participant, vector)
        if participant is not None and not offered.total and not offered.gifts:
            ev.refuse_empty(participant)
        elif participant is not None and offered.total and not vector.amounts:
            # named: who kept the first line it offered on
            line = next(index for index, amount in offered.amounts.items() if amount)
            if line not in owners:  # nobody: caps or what others left allow nothing more
                ev.refuse(participant, "Скидка по акции на эти товары уже максимальна.")
                continue
            beaten_by = owners[line]
            key = beaten_by.code if beaten_by is not None else LEVEL
            reason = reasons.get(key)
            if reason is None:
                by = f"акции «{beaten_by.title}»" if beaten_by else "скидке уровня карты"
                reason = reasons[key] = (f"Уступила {by} (группа «{group.name or group.code}»: "
                                         f"{GROUP_MODE_TITLES[group.mode]}).")  # fmt: skip
            ev.refuse(participant, reason)
