"""bench/engine: the calculation engine with promotions, in one process pinned to CPU 0.

Rules from a fixed seed: 200 promotions (40% goods or group percent / fixed, 20% receipt sum
thresholds, 10% M for N, 10% kits, 10% time windows — half of them open now, 10% level or segment
rules) over a 50-line receipt where every line matches at least 3 promotions and at least 20
promotions change the result (checked). The 1,000-rule case is these 200 plus 800 that do not
concern the receipt: 300 on other goods, 250 scoped to other stores, 250 out of date.

Timed: choosing the promotions in force for the store and moment (``PromotionShelf.book``, the
rules loaded and indexed) and ``calculate``; 200 warm-up runs, 2,000 timed. Prints the 1,000-rule
line, ``engine_baseline`` (today's engine without promotions, same receipt, same run) and last
``engine median_ms=X p99_ms=X lines=50 rules=200``. Targets: median ≤ 5 ms at 200 rules and
≤ 8 ms at 1,000. Run from the repository root: ``.venv/bin/python bench/engine.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processing.engine.calculate import calculate
from processing.engine.model import (
    Balances,
    CustomerFacts,
    PromotionFacts,
    Receipt,
    ReceiptLine,
    Result,
    Rules,
)
from processing.programs.rules import Level, parse_bonus_rules, parse_level_rules
from processing.promotions.book import PromotionShelf, PromotionVersion
from processing.promotions.rules import parse_groups, parse_promotion

SEED = 2027
LINES = 50
STORE, OTHER_STORE = 1, 2
NOW = datetime(2027, 3, 8, 12, 30)  # noqa: DTZ001 - the store's wall clock, as the engine takes it
NOW_UTC = datetime(2027, 3, 8, 9, 30, tzinfo=UTC)
GROUPS = [
    {"code": "sequential", "mode": "multiply", "order": 10},
    {"code": "main", "mode": "max", "order": 100, "level_discount": True},
    {"code": "extra", "mode": "sum", "order": 200},
]
LEVELS = parse_level_rules({
    "basis": "sum", "window": {"kind": "rolling_days", "days": 365},
    "levels": [{"code": "base", "threshold": "0", "discount_percent": "3"},
               {"code": "gold", "threshold": "10000", "discount_percent": "7"}],
})  # fmt: skip
BONUS = parse_bonus_rules({"accrual_percent": "5", "max_payment_percent": "50"})
FACTS = CustomerFacts(True, "full", Level("gold", "Золото", Decimal(10000), Decimal(7)))
PROMO_FACTS = PromotionFacts(local_time=NOW, segments=frozenset({"students"}))


def receipt(rng: random.Random) -> Receipt:
    lines = []
    for i in range(LINES):
        price = Decimal(rng.randrange(5_000, 200_000)) / 100
        quantity = Decimal(rng.choice([1, 1, 2, 3, 4])) if i % 7 else Decimal("0.750")
        lines.append(ReceiptLine(
            number=i + 1, goods_id=f"g-{i}", quantity=quantity, price=price,
            amount=(price * quantity).quantize(Decimal("0.01")),
            group_ids=(f"leaf-{i % 10}", f"parent-{i % 3}"), brand_id=f"brand-{i % 5}",
            no_discount=i == 13,
        ))  # fmt: skip
    return Receipt(tuple(lines), requested_bonus=Decimal("100.00"))


def goods(rng: random.Random, other: bool = False) -> dict[str, Any]:
    if other:
        return {"goods": [f"g-{1000 + rng.randrange(5000)}" for _ in range(3)]}
    kind = rng.random()
    if kind < 0.5:
        return {"goods": [f"g-{rng.randrange(LINES)}" for _ in range(rng.randint(2, 6))]}
    if kind < 0.8:
        return {"groups": [f"leaf-{rng.randrange(10)}"]}
    if kind < 0.9:
        return {"groups": [f"parent-{rng.randrange(3)}"]}
    return {"brands": [f"brand-{rng.randrange(5)}"]}


def reward(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.6:
        return {"kind": "percent", "value": str(rng.choice([3, 5, 7, 10, 15]))}
    return {"kind": "fixed", "value": f"{rng.randrange(1, 20)}.00",
            "per": rng.choice(["receipt", "line", "unit"])}  # fmt: skip


def promotion_rules(rng: random.Random, n: int) -> dict[str, Any]:
    """The n-th of the 200 (the mix of the module docstring)."""
    group = rng.choices(["main", "sequential", "extra"], weights=[75, 10, 15])[0]
    share = n % 10
    if share < 4:  # goods or group percent / fixed
        return {"group": group, "receipt": {"goods": goods(rng)}, "reward": reward(rng)}
    if share < 6:  # receipt thresholds
        low = rng.choice(["1000.00", "5000.00", "20000.00", "90000.00", "900000.00"])
        return {"group": group, "receipt": {"sum": {"min": low}}, "reward": reward(rng)}
    if share == 6:  # M for N
        n_units = rng.choice([2, 3, 4])
        return {"group": "sequential", "receipt": {"goods": goods(rng)},
                "reward": {"kind": "m_for_n", "n": n_units, "m": n_units - 1}}  # fmt: skip
    if share == 7:  # kits
        return {"group": group, "receipt": {"kit": [
            {"goods": {"goods": [f"g-{rng.randrange(LINES)}"]}, "quantity": 1},
            {"goods": {"groups": [f"leaf-{rng.randrange(10)}"]}, "quantity": 1},
        ]}, "reward": reward(rng)}  # fmt: skip
    if share == 8:  # time windows, half of them open now
        hours = (
            {"from": "12:00", "to": "13:00"} if n % 20 < 10 else {"from": "18:00", "to": "20:00"}
        )
        return {"group": group, "when": {"hours": [hours], "weekdays": [1, 2, 3, 4, 5]},
                "receipt": {"goods": goods(rng)}, "reward": reward(rng)}  # fmt: skip
    customer = {"levels": ["gold"]} if rng.random() < 0.5 else {"segments": ["students"]}
    return {"group": group, "customer": customer, "receipt": {"goods": goods(rng)},
            "reward": reward(rng)}  # fmt: skip


def shelf(rng: random.Random, count: int) -> PromotionShelf:
    start = NOW_UTC - timedelta(days=30)
    versions = []
    for n in range(count):
        rules = promotion_rules(rng, n)
        stores: frozenset[int] = frozenset()
        end = None
        if n >= 200:  # the 800 that do not concern the receipt
            kind = (n - 200) % 16
            if kind < 6:
                rules["receipt"] = {"goods": goods(rng, other=True)}
                rules.pop("customer", None)
            elif kind < 11:
                stores = frozenset({OTHER_STORE})
            else:
                end = NOW_UTC - timedelta(days=1)
        promotion = parse_promotion(rules, code=f"p{n:04d}", name=f"Акция {n}", version_id=n + 1)
        versions.append(PromotionVersion(promotion, start, end, stores))
    return PromotionShelf(versions, parse_groups(GROUPS))


def timed(label: str, call: Callable[[], Result], runs: int, warm_up: int) -> list[float]:
    for _ in range(warm_up):
        call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median_ms={statistics.median(ordered):.3f} p99_ms={p99:.3f}"


def check(result: Result, shelf_200: PromotionShelf, the_receipt: Receipt) -> None:
    book = shelf_200.book(STORE, frozenset(), NOW_UTC)
    if book is None:
        raise SystemExit("FAIL: no promotion in force")
    for line in the_receipt.lines:
        mask = book.coverage(line.goods_id, line.group_ids, line.brand_id, line.supplier_id,
                             int(line.price * 100))  # fmt: skip
        matching = sum(1 for p, bits, everything in book.reach if everything or bits & mask)
        if matching < 3:
            raise SystemExit(f"FAIL: line {line.number} matches {matching} promotions (< 3)")
    applied = sum(1 for o in result.promotions if o.applied)
    if applied < 20:
        raise SystemExit(f"FAIL: {applied} promotions change the result (< 20)")
    print(f"checks: every line matches >= 3 promotions; {applied} change the result; "
          f"discount {result.discount} of {result.amount}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--warm-up", type=int, default=200)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # as `taskset -c 0`
    the_receipt = receipt(random.Random(SEED))  # noqa: S311 - a fixed seed, not a secret
    shelves = {count: shelf(random.Random(SEED), count) for count in (200, 1000)}  # noqa: S311

    def engine(count: int) -> Callable[[], Result]:
        def call() -> Result:
            book = shelves[count].book(STORE, frozenset(), NOW_UTC)
            rules = Rules(levels=LEVELS, bonus=BONUS, promotions=book)
            return calculate(the_receipt, rules, Balances(Decimal(500), Decimal(0),
                             Decimal(500)), FACTS, PROMO_FACTS)  # fmt: skip

        return call

    def baseline() -> Result:
        return calculate(the_receipt, Rules(levels=LEVELS, bonus=BONUS),
                         Balances(Decimal(500), Decimal(0), Decimal(500)), FACTS)  # fmt: skip

    check(engine(200)(), shelves[200], the_receipt)
    thousand = timed("1000", engine(1000), args.runs, args.warm_up)
    print(f"engine rules=1000 {figures(thousand)} lines={LINES}", flush=True)
    base = timed("baseline", baseline, args.runs, args.warm_up)
    print(f"engine_baseline median_ms={statistics.median(base):.3f}", flush=True)
    two_hundred = timed("200", engine(200), args.runs, args.warm_up)
    print(f"engine {figures(two_hundred)} lines={LINES} rules=200", flush=True)


if __name__ == "__main__":
    main()
