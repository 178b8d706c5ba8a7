"""The promotions in force for a store, indexed once for the engine: every distinct goods set
(trigger, target, kit part, gift, look-back) gets a number, and a receipt line finds the sets that
cover it through its goods, groups, brand and supplier instead of testing every promotion."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from processing.promotions.rules import (
    DEFAULT_GROUP,
    DEFAULT_GROUPS,
    GoodsSet,
    Promotion,
    PromotionGroup,
)


def goods_sets(promotion: Promotion) -> Iterator[GoodsSet]:
    """Every goods set a promotion's receipt conditions and reward name."""
    yield promotion.receipt.goods
    for part in promotion.receipt.kit:
        yield part.goods
    if promotion.receipt.any_of is not None:
        yield promotion.receipt.any_of.goods
    if promotion.reward.target is not None:
        yield promotion.reward.target


class PromotionBook:
    """Promotions in a defined order (priority, then code: the order they are stored in does not
    matter) with their combination groups, and the goods-set index."""

    def __init__(
        self, promotions: Sequence[Promotion], groups: Sequence[PromotionGroup] = DEFAULT_GROUPS
    ) -> None:
        self.groups = tuple(sorted(groups, key=lambda g: (g.order, g.code)))
        known = {group.code for group in self.groups}
        # A promotion naming a group the settings no longer have falls back to the default one.
        self.promotions = tuple(
            sorted(promotions, key=lambda p: (p.priority, p.code, p.version_id))
        )
        self.group_of = {
            p.code: p.group if p.group in known else DEFAULT_GROUP for p in self.promotions
        }
        # The engine's refusal outcomes by (promotion code, reason): the same value on every
        # receipt, made once (``engine.promotions``); they live and go with the book.
        self.refusals: dict[tuple[str, str | None], Any] = {}
        self._ids: dict[GoodsSet, int] = {}
        # The promotions' own set objects live as long as the book: found by identity first
        # (hashing a set's fields on every lookup costs more than the lookup).
        self._by_object: dict[int, int] = {}
        self.sets: list[GoodsSet] = []
        self._by_goods: dict[str, list[int]] = {}
        self._by_group: dict[str, list[int]] = {}
        self._by_brand: dict[str, list[int]] = {}
        self._by_supplier: dict[str, list[int]] = {}
        self._everything: list[int] = []
        # Per promotion, the sets it names as a bit mask: a promotion none of whose sets covers
        # a line of the receipt is not even considered (nor listed as "not applied").
        self.reach: list[tuple[Promotion, int, bool]] = []
        for promotion in self.promotions:
            bits = 0
            for goods_set in goods_sets(promotion):
                bits |= 1 << self.set_id(goods_set)
            self.reach.append((promotion, bits, promotion.receipt.goods.everything))
            if promotion.customer.previous_purchase is not None:  # numbered, not a reach
                self.set_id(promotion.customer.previous_purchase.goods)

    def __len__(self) -> int:
        return len(self.promotions)

    def __eq__(self, other: object) -> bool:
        """Books of the same promotion versions and groups are the same (a book is rebuilt
        whenever the rules are read afresh)."""
        if not isinstance(other, PromotionBook):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def key(self) -> tuple[tuple[tuple[str, int], ...], tuple[PromotionGroup, ...]]:
        return tuple((p.code, p.version_id) for p in self.promotions), self.groups

    @cached_property
    def needs_database(self) -> bool:
        """Whether some promotion needs more than the receipt and the store's clock: customer
        facts, usage limits counted on commit, campaign points posted as lots, coupons (gift
        promotions need it only where the tenant counts a gift stock)."""
        return any(
            p.needs_customer or p.limits.counted or p.limits.per_customer is not None
            or p.reward.kind == "extra_bonus" or p.coupon
            for p in self.promotions
        )  # fmt: skip

    @cached_property
    def hints_on_identify(self) -> bool:
        """Whether identify can tell the customer how close they are to some promotion (stamps
        on the card, cumulative purchases short of a threshold)."""
        return any(
            p.reward.kind == "stamps"
            or (p.customer.cumulative is not None and p.customer.cumulative.low is not None)
            for p in self.promotions
        )

    @cached_property
    def coupon_promotions(self) -> frozenset[str]:
        """The promotions that apply only with one of their coupons."""
        return frozenset(p.code for p in self.promotions if p.coupon)

    @cached_property
    def gift_promotions(self) -> frozenset[str]:
        """The promotions whose reward is a gift (drawn from the store's gift stock)."""
        return frozenset(p.code for p in self.promotions if p.reward.kind == "gift")

    def considered(self, covered: int) -> list[Promotion]:
        """The promotions a receipt whose lines cover the sets ``covered`` may concern."""
        return [p for p, bits, everything in self.reach if everything or bits & covered]

    def set_id(self, goods_set: GoodsSet) -> int:
        """The number of a goods set of the book's promotions (or a new one)."""
        found = self._by_object.get(id(goods_set))
        if found is not None:
            return found
        found = self._ids.get(goods_set)
        if found is not None:
            self._by_object[id(goods_set)] = found
            return found
        number = len(self.sets)
        self._by_object[id(goods_set)] = number
        self._ids[goods_set] = number
        self.sets.append(goods_set)
        if goods_set.everything:
            self._everything.append(number)
        for keys, index in (
            (goods_set.goods, self._by_goods),
            (goods_set.groups, self._by_group),
            (goods_set.brands, self._by_brand),
            (goods_set.suppliers, self._by_supplier),
        ):
            for key in keys:
                index.setdefault(key, []).append(number)
        return number

    def coverage(
        self,
        goods_id: str,
        group_ids: Sequence[str],
        brand_id: str | None,
        supplier_id: str | None,
        unit_price: int,
    ) -> int:
        """The sets covering a line, as a bit mask of set numbers."""
        candidates = list(self._everything)
        candidates.extend(self._by_goods.get(goods_id, ()))
        for group_id in group_ids:
            candidates.extend(self._by_group.get(group_id, ()))
        if brand_id is not None:
            candidates.extend(self._by_brand.get(brand_id, ()))
        if supplier_id is not None:
            candidates.extend(self._by_supplier.get(supplier_id, ()))
        mask = 0
        for number in candidates:
            if self.sets[number].admits(goods_id, group_ids, unit_price):
                mask |= 1 << number
        return mask


@dataclass(frozen=True)
class PromotionVersion:
    """A stored promotion version: the promotion, when it is valid and where."""

    promotion: Promotion
    effective_from: datetime
    effective_to: datetime | None
    store_ids: frozenset[int] = frozenset()
    group_ids: frozenset[int] = frozenset()

    def valid_at(self, at: datetime) -> bool:
        return self.effective_from <= at and (self.effective_to is None or self.effective_to > at)


class PromotionShelf:
    """All of a tenant's promotion versions, and the book of those in force for a store at a
    moment; a book is built once per distinct set of versions and reused."""

    def __init__(
        self, versions: Sequence[PromotionVersion], groups: Sequence[PromotionGroup]
    ) -> None:
        self.versions = tuple(versions)
        self.groups = tuple(groups)
        self._everywhere = tuple(v for v in self.versions if not v.store_ids and not v.group_ids)
        self._by_store: dict[int, list[PromotionVersion]] = {}
        self._by_group: dict[int, list[PromotionVersion]] = {}
        for version in self.versions:
            for store_id in version.store_ids:
                self._by_store.setdefault(store_id, []).append(version)
            for group_id in version.group_ids:
                self._by_group.setdefault(group_id, []).append(version)
        self._books: dict[tuple[tuple[str, int], ...], PromotionBook] = {}
        # Per store: the book and the period around the last moment asked in which no version
        # starts or ends, so that it holds for every moment in that period.
        self._recent: dict[
            tuple[int, frozenset[int]], tuple[datetime, datetime | None, PromotionBook | None]
        ] = {}
        self._lock = threading.Lock()

    def book(
        self, store_id: int, store_groups: frozenset[int], at: datetime
    ) -> PromotionBook | None:
        """The promotions in force for the store at ``at`` (None: none). Of two versions of
        one promotion valid at once (a store-specific one beside the chain's), the most
        specific scope wins, then the later start."""
        recent = self._recent.get((store_id, store_groups))
        if recent is not None and recent[0] <= at and (recent[1] is None or at < recent[1]):
            return recent[2]
        found, since, until = self._select(store_id, store_groups, at)
        with self._lock:
            if len(self._recent) > 10_000:
                self._recent.clear()
            self._recent[(store_id, store_groups)] = (since, until, found)
        return found

    def _select(
        self, store_id: int, store_groups: frozenset[int], at: datetime
    ) -> tuple[PromotionBook | None, datetime, datetime | None]:
        """The book at ``at`` and the period around it in which it stays the same."""
        since, until = datetime.min.replace(tzinfo=at.tzinfo), None
        chosen: dict[str, tuple[tuple[int, datetime, int], PromotionVersion]] = {}
        candidates: list[tuple[int, PromotionVersion]] = [(0, v) for v in self._everywhere]
        candidates.extend((2, v) for v in self._by_store.get(store_id, ()))
        for group_id in store_groups:
            candidates.extend((1, v) for v in self._by_group.get(group_id, ()))
        for scope, version in candidates:
            for edge in (version.effective_from, version.effective_to):
                if edge is None:
                    continue
                if edge <= at:
                    since = max(since, edge)
                elif until is None or edge < until:
                    until = edge
            if not version.valid_at(at):
                continue
            code = version.promotion.code
            key = (scope, version.effective_from, version.promotion.version_id)
            if code not in chosen or key > chosen[code][0]:
                chosen[code] = (key, version)
        if not chosen:
            return None, since, until
        ids = tuple(sorted((v.promotion.code, v.promotion.version_id) for _, v in chosen.values()))
        found = self._books.get(ids)
        if found is None:
            found = PromotionBook([v.promotion for _, v in chosen.values()], self.groups)
            with self._lock:
                if len(self._books) > 1000:  # validity windows come and go: keep it bounded
                    self._books.clear()
                self._books[ids] = found
        return found, since, until
