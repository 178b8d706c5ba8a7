"""A table of promotions through the POS API: calculate, then commit with the soft result, on
the world's receipt — line 1: g-100, 3 × 100.00 = 300.00; line 2: g-200, 0.347 kg × 459.00 =
159.27; line 3: g-400, 2 × 89.99 = 179.98 with the no-discount mark; 639.25 in all, 459.27 of
it discountable; Friday 2026-05-01 12:00 in Moscow; the card at the base level (0%), bonus
accrual 3% of what is paid on discountable lines. Each row's arithmetic is in its comment.
A row may add lines to the receipt, put the card at another level, check more of the soft
answer (campaign points, stamps, points spent, a promotion's outcome), and return part of the
receipt after the commit: the money refunded, the accrual taken back, the bonus credited back
and the change of the card's balance, by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from processing.ledger.service import balance
from processing.levels.service import set_override
from processing.programs.rules import parse_level_rules
from processing.programs.service import add_program, add_version
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt
from tests.factories import LEVEL_RULES, T0

D = Decimal
SINCE = T0.replace(year=2026, month=1, day=1)
G100 = {"goods": {"goods": ["g-100"]}}
G200 = {"goods": {"goods": ["g-200"]}}
WORLD_LINES: list[dict[str, Any]] = receipt()["lines"]
# Campaign points: 5% of what is paid for g-100.
CAMPAIGN_G100 = {
    "reward": {"kind": "extra_bonus", "percent": "5", "target": G100["goods"],
               "lifetime_days": 3660},
}  # fmt: skip


def pct(value: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "percent", "value": value, **extra}


def fixed(value: str, per: str = "receipt") -> dict[str, Any]:
    return {"kind": "fixed", "value": value, "per": per}


# (id, promotions {code: rules}, groups or None, discount, accrual or None)
SCENARIOS: list[tuple[str, dict[str, Any], list[dict[str, Any]] | None, str, str | None]] = [
    # 10% of 459.27 = 45.927 → 45.93, spread 30.00 + 15.93; accrual 3% of what is paid:
    # 270.00 → 8.10 and 143.34 → 4.30 (4.3002): 12.40.
    # Return 1 unit of g-100 and 0.1 kg of g-200, proportionally: 270.00 / 3 = 90.00 and
    # 143.34 × 0.1 / 0.347 = 41.3083 → 41.31: 131.31 refunded; accrual 8.10 / 3 = 2.70 and
    # 4.30 × 0.1 / 0.347 = 1.2392 → 1.24: 3.94 taken back
    ("percent-all", {"p": {"reward": pct("10")}}, None, "45.93", "12.40"),
    # 10% of 300.00
    ("percent-goods", {"p": {"receipt": G100, "reward": pct("10")}}, None, "30.00", None),
    # 100.00 spread over 300.00 and 159.27 (no-discount line untouched)
    ("fixed-receipt", {"p": {"reward": fixed("100.00")}}, None, "100.00", None),
    # 5.00 on each discountable line: lines 1 and 2
    ("fixed-line", {"p": {"reward": fixed("5.00", "line")}}, None, "10.00", None),
    # 5.00 × 3 units of g-100
    ("fixed-unit", {"p": {"receipt": G100, "reward": fixed("5.00", "unit")}}, None, "15.00", None),
    # 1.00 × 0.347 kg = 0.347 → 0.35 (half-up)
    (
        "fixed-unit-weighed",
        {"p": {"receipt": G200, "reward": fixed("1.00", "unit")}},
        None,
        "0.35",
        None,
    ),
    # 3 × 80.00 = 240.00 instead of 300.00
    (
        "fixed-price",
        {"p": {"receipt": G100, "reward": {"kind": "fixed_price", "price": "80.00"}}},
        None,
        "60.00",
        None,
    ),
    # 0.347 × 500.00 = 173.50 is above the line's 159.27: nothing
    (
        "fixed-price-above",
        {"p": {"receipt": G200, "reward": {"kind": "fixed_price", "price": "500.00"}}},
        None,
        "0",
        None,
    ),
    # 3 for 2: one of the three units free.
    # Return 1 unit: the 2 kept are no set and cost 200.00, what was paid: the unit's 66.67
    # share is withheld with the 33.33 of the free unit: 0.00 refunded, no accrual taken back
    (
        "3-for-2",
        {"p": {"receipt": G100, "reward": {"kind": "m_for_n", "n": 3, "m": 2}}},
        None,
        "100.00",
        None,
    ),
    # 2 for 1 on 3 units: one set, one unit free.
    # Return 1 unit: the 2 kept are still a set: the unit's share of 200.00 paid, 66.67, is
    # refunded, and 6.00 / 3 = 2.00 of the accrual (3% of 200.00) taken back
    (
        "2-for-1-odd",
        {"p": {"receipt": G100, "reward": {"kind": "m_for_n", "n": 2, "m": 1}}},
        None,
        "100.00",
        None,
    ),
    # weighed goods have no units: M for N gives nothing
    (
        "m-for-n-weighed",
        {"p": {"receipt": G200, "reward": {"kind": "m_for_n", "n": 2, "m": 1}}},
        None,
        "0",
        None,
    ),
    # 639.25 ≥ 600.00 (the no-discount line counts towards the sum): 50.00 off
    (
        "threshold-met",
        {"p": {"receipt": {"sum": {"min": "600.00"}}, "reward": fixed("50.00")}},
        None,
        "50.00",
        None,
    ),
    # 639.25 < 700.00: nothing
    (
        "threshold-missed",
        {"p": {"receipt": {"sum": {"min": "700.00"}}, "reward": fixed("50.00")}},
        None,
        "0",
        None,
    ),
    # three units of g-100 reach a quantity of 3
    (
        "quantity",
        {"p": {"receipt": {**G100, "quantity": {"min": "3"}}, "reward": pct("10")}},
        None,
        "30.00",
        None,
    ),
    # a kit needing a unit of weighed goods is never complete
    (
        "kit-weighed",
        {
            "p": {
                "receipt": {
                    "kit": [
                        {"goods": G100["goods"], "quantity": 2},
                        {"goods": G200["goods"], "quantity": 1},
                    ]
                },
                "reward": pct("50"),
            }
        },
        None,
        "0",
        None,
    ),
    # "any 2 units of g-100" holds with 3 units: 20% of line 1.
    # Return 2 units: the 1 kept is not "any 2" and costs 100.00, not 80.00: 20.00 withheld
    # from the 160.00 → 140.00 refunded; accrual 3% of 240.00 = 7.20, 7.20 × 140 / 240 = 4.20
    # taken back
    (
        "any-two",
        {
            "p": {
                "receipt": {"goods": G100["goods"], "any": {"goods": G100["goods"], "quantity": 2}},
                "reward": pct("20"),
            }
        },
        None,
        "60.00",
        None,
    ),
    # the exclusive 5% (22.96) applies alone although 10% on g-100 (30.00) would give more
    (
        "exclusive",
        {
            "ex": {"exclusive": True, "reward": pct("5")},
            "p": {"receipt": G100, "reward": pct("10")},
        },
        None,
        "22.96",
        None,
    ),
    # max per line: 40.00 beats 30.00 on line 1
    (
        "max-per-line",
        {
            "a": {"receipt": G100, "reward": pct("10")},
            "b": {"receipt": G100, "reward": fixed("40.00", "line")},
        },
        None,
        "40.00",
        None,
    ),
    # sum: 10% of 459.27 = 45.93 (30.00 + 15.93) plus 5.00 per line on both lines = 55.93
    (
        "sum-group",
        {
            "a": {"group": "s", "reward": pct("10")},
            "b": {"group": "s", "reward": fixed("5.00", "line")},
        },
        [{"code": "s", "mode": "sum"}],
        "55.93",
        None,
    ),
    # multiply: 10% (45.93) first, then 100.00 of what is left
    (
        "multiply-group",
        {"a": {"group": "m", "reward": fixed("100.00")}, "b": {"group": "m", "reward": pct("10")}},
        [{"code": "m", "mode": "multiply"}],
        "145.93",
        None,
    ),
    # first: a (priority 1, 10% on g-100) wins line 1: 30.00; line 2 has only b: 50% of 459.27
    # = 229.64 spread gives line 2 79.64 (7963.8 kopecks and the leftover one): 109.64
    (
        "first-group",
        {
            "a": {"group": "f", "priority": 1, "receipt": G100, "reward": pct("10")},
            "b": {"group": "f", "priority": 2, "reward": pct("50")},
        },
        [{"code": "f", "mode": "first"}],
        "109.64",
        None,
    ),
    # min: the smaller of 10% and 50% per line: 30.00 + 15.93 (10% of 459.27 spread)
    (
        "min-group",
        {"a": {"group": "n", "reward": pct("10")}, "b": {"group": "n", "reward": pct("50")}},
        [{"code": "n", "mode": "min"}],
        "45.93",
        None,
    ),
    # 10% capped at 5% of the line: 15.00
    (
        "line-cap",
        {"p": {"receipt": G100, "reward": pct("10"), "max_line_discount_percent": "5"}},
        None,
        "15.00",
        None,
    ),
    # 18:00-20:00 does not hold at 12:00
    (
        "hours-closed",
        {"p": {"when": {"hours": [{"from": "18:00", "to": "20:00"}]}, "reward": pct("10")}},
        None,
        "0",
        None,
    ),
    # Friday is weekday 5
    (
        "friday",
        {"p": {"when": {"weekdays": [5]}, "receipt": G100, "reward": pct("10")}},
        None,
        "30.00",
        None,
    ),
    # 8 March only
    (
        "other-date",
        {"p": {"when": {"yearly": [{"from": "03-08", "to": "03-08"}]}, "reward": pct("10")}},
        None,
        "0",
        None,
    ),
    # the card is at the base level
    ("gold-only", {"p": {"customer": {"levels": ["gold"]}, "reward": pct("10")}}, None, "0", None),
    # no payment kind sent: a card-payment promotion does not apply
    (
        "card-payment",
        {"p": {"receipt": {"payment": ["card"]}, "reward": pct("10")}},
        None,
        "0",
        None,
    ),
    # paid by card: 10% of 459.27 = 45.93
    (
        "card-payment-paid-by-card",
        {"p": {"receipt": {"payment": ["card"]}, "reward": pct("10")}},
        None,
        "45.93",
        None,
    ),
    # paid in cash and by SBP: an SBP promotion applies (5% of 459.27 = 22.9635 → 22.96), a
    # card one does not
    (
        "sbp-payment-mixed",
        {
            "sbp": {"receipt": {"payment": ["sbp"]}, "reward": pct("5"), "group": "s"},
            "card": {"receipt": {"payment": ["card"]}, "reward": pct("10"), "group": "s"},
        },
        [{"code": "s", "mode": "sum"}],
        "22.96",
        None,
    ),
    # double accrual: 6% of 300.00 + 159.27 = 18.00 + 9.56 (9.5562 half-up)
    (
        "double-points",
        {"p": {"reward": {"kind": "accrual_multiplier", "factor": "2"}}},
        None,
        "0",
        "27.56",
    ),
    # a weighed gift cannot be given: nothing, a hint
    (
        "gift-weighed",
        {
            "p": {
                "receipt": {"any": {"goods": G100["goods"], "quantity": 1}},
                "reward": {"kind": "gift", "gift": G200["goods"]},
            }
        },
        None,
        "0",
        None,
    ),
    # the level of the card (base, 0%) beside a promotion in the same max group: 30.00
    (
        "level-and-promotion",
        {"p": {"receipt": G100, "reward": pct("10")}},
        [{"code": "main", "mode": "max", "level_discount": True}],
        "30.00",
        None,
    ),
    # --- rows added for the table: stamps, gifts, points, caps, returns -------------
    # stamps, every 2nd unit free: 3 units of g-100 put 3 stamps on the card (0 before); the
    # 2nd stamp frees the cheapest unit (100.00), 3 − 2 = 1 stamp left; accrual 3% of 200.00 =
    # 6.00 and of 159.27 = 4.7781 → 4.78: 10.78
    (
        "stamps-every-2",
        {"p": {"receipt": G100, "reward": {"kind": "stamps", "every": 2}}},
        None,
        "100.00",
        "10.78",
    ),
    # a bear (line 4, 1 × 50.00) at 0.01 when g-100 comes to 300.00 or more: 49.99 off; the
    # receipt is 689.25; accrual 9.00 + 4.78 + 3% of 0.01 (0.00) = 13.78.
    # Return 1 unit of g-100: the 200.00 kept is under 300.00, so the bear kept costs 50.00:
    # its 49.99 is withheld from the unit's 100.00 → 50.01 refunded; the accrual taken back
    # follows the money: 9.00 × 50.01 / 300.00 = 1.5003 → 1.50
    (
        "gift-at-0.01",
        {
            "p": {
                "receipt": {"goods": G100["goods"], "sum": {"min": "300.00"}},
                "reward": {"kind": "gift", "gift": {"goods": ["bear"]}, "price": "0.01"},
            }
        },
        None,
        "49.99",
        "13.78",
    ),
    # 50.00 campaign points on a receipt of 600.00 or more (639.25): no discount, the accrual
    # 9.00 + 4.78 = 13.78 as without promotions; the card gains 13.78 + 50.00 = 63.78
    (
        "extra-bonus-points",
        {
            "p": {
                "receipt": {"sum": {"min": "600.00"}},
                "reward": {"kind": "extra_bonus", "value": "50.00", "lifetime_days": 30},
            }
        },
        None,
        "0",
        "13.78",
    ),
    # campaign points 5% of what is paid for g-100: 15.00; accrual 13.78; the card gains 28.78.
    # Return 1 unit of g-100: 100.00 refunded, accrual 9.00 / 3 = 3.00 and points 15.00 / 3 =
    # 5.00 taken back: the card loses 8.00
    (
        "extra-bonus-percent",
        {"p": CAMPAIGN_G100},
        None,
        "0",
        "13.78",
    ),
    # the same campaign, g-100's line marked by the POS as earning nothing (no_accrual):
    # neither its accrual (9.00) nor campaign points on it (15.00); line 2's 4.78 stays
    (
        "no-accrual-line",
        {"p": CAMPAIGN_G100},
        None,
        "0",
        "4.78",
    ),
    # bonus conversion 1.50 a point in multiples of 3, 10 points asked: 9 spent, 13.50 off,
    # spread 300.00 : 159.27 → 8.8183 + 4.6817 → 8.81 + 4.68 and the kopeck left to line 1:
    # 8.82 + 4.68; accrual 3% of 291.18 = 8.7354 → 8.74 and of 154.59 = 4.6377 → 4.64: 13.38;
    # the card: −9.00 + 13.38 = +4.38.
    # Return 1 unit of g-100: 291.18 / 3 = 97.06 refunded; accrual 8.74 / 3 = 2.9133 → 2.91
    # taken back; the unit's discount 8.82 / 3 = 2.94 of the 13.50 the 9 points bought:
    # 9 × 2.94 / 13.50 = 1.96 points back: the card −2.91 + 1.96 = −0.95
    (
        "bonus-conversion",
        {"p": {"reward": {"kind": "bonus_conversion", "rate": "1.5", "step": 3}}},
        None,
        "13.50",
        "13.38",
    ),
    # level × 2 on g-100 with the card at the base level (0%): nothing to multiply, refused
    (
        "level-multiplier-base",
        {"p": {"receipt": G100, "reward": {"kind": "level_multiplier", "factor": "2"}}},
        None,
        "0",
        "13.78",
    ),
    # the card at silver (5%), level × 2 on g-100 on Fridays: the level's 5% of 459.27 =
    # 22.9635 → 22.96 (15.00 + 7.96), × 2 on line 1 adds 15.00: 37.96; silver accrues 5%:
    # 270.00 → 13.50 and 151.31 → 7.5655 → 7.57: 21.07
    (
        "level-multiplier-silver",
        {
            "p": {
                "when": {"weekdays": [5]},
                "receipt": G100,
                "reward": {"kind": "level_multiplier", "factor": "2"},
            }
        },
        None,
        "37.96",
        "21.07",
    ),
    # goods priced at most 200.00 a unit: g-100 (100.00) yes, g-200 (459.00) no, g-400 (89.99)
    # has the no-discount mark: 10% of 300.00 = 30.00
    (
        "price-max",
        {"p": {"receipt": {"goods": {"price_max": "200.00"}}, "reward": pct("10")}},
        None,
        "30.00",
        None,
    ),
    # goods priced at least 400.00 a unit: only g-200: 10% of 159.27 = 15.927 → 15.93
    (
        "price-min",
        {"p": {"receipt": {"goods": {"price_min": "400.00"}}, "reward": pct("10")}},
        None,
        "15.93",
        None,
    ),
    # the card at silver (5% = 22.96): an exclusive 3% on g-100 (9.00) replaces the level's
    # discount too; silver accrual 5% of 291.00 = 14.55 and of 159.27 = 7.9635 → 7.96: 22.51
    (
        "exclusive-over-level",
        {"ex": {"exclusive": True, "receipt": G100, "reward": pct("3")}},
        None,
        "9.00",
        "22.51",
    ),
    # two exclusive promotions: the one that gives most, 10% of g-100 (30.00) over 5% of all
    # (22.96)
    (
        "exclusive-two",
        {
            "a": {"exclusive": True, "reward": pct("5")},
            "b": {"exclusive": True, "receipt": G100, "reward": pct("10")},
        },
        None,
        "30.00",
        None,
    ),
    # sum group: 10% (30.00 + 15.93) and 10.00 per line would give 40.00 and 25.93, but the
    # 10% caps a line at 12% in all: 36.00 and 19.1124 → 19.11: 55.11
    (
        "line-cap-sum",
        {
            "a": {"group": "s", "reward": pct("10"), "max_line_discount_percent": "12"},
            "b": {"group": "s", "reward": fixed("10.00", "line")},
        },
        [{"code": "s", "mode": "sum"}],
        "55.11",
        None,
    ),
    # multiply: 10% first (30.00 + 15.93), then 10.00 per line on the remainder: 40.00 and
    # 25.93, capped by the 10%'s 12% in all as above: 36.00 + 19.11 = 55.11
    (
        "line-cap-multiply",
        {
            "a": {"group": "s", "reward": pct("10"), "max_line_discount_percent": "12"},
            "b": {"group": "s", "reward": fixed("10.00", "line")},
        },
        [{"code": "s", "mode": "multiply"}],
        "55.11",
        None,
    ),
    # 50% on g-100 (150.00) never below 80.00 a unit: 300.00 − 3 × 80.00 = 60.00
    (
        "price-floor",
        {"p": {"receipt": G100, "reward": pct("50"), "price_floor": "80.00"}},
        None,
        "60.00",
        None,
    ),
    # a floor of 120.00 a unit above the price of 100.00: nothing more off
    (
        "price-floor-below",
        {"p": {"receipt": G100, "reward": pct("50"), "price_floor": "120.00"}},
        None,
        "0",
        None,
    ),
    # a kit of 2 × g-100 and 1 × g-500 (line 4, 1 × 50.00), the g-500 for 25.00: 25.00 off,
    # the receipt is 689.25; accrual 9.00 + 4.78 + 3% of 25.00 = 0.75: 14.53.
    # Return 2 units of g-100: 1 is kept, the kit is broken, the g-500 kept costs 50.00: its
    # 25.00 is withheld from the 200.00 → 175.00 refunded; accrual 9.00 × 175.00 / 300.00 =
    # 5.25 taken back
    (
        "kit-broken",
        {
            "p": {
                "receipt": {
                    "kit": [
                        {"goods": G100["goods"], "quantity": 2},
                        {"goods": {"goods": ["g-500"]}, "quantity": 1},
                    ]
                },
                "reward": {
                    "kind": "fixed_price",
                    "price": "25.00",
                    "target": {"goods": ["g-500"]},
                },
            }
        },
        None,
        "25.00",
        "14.53",
    ),
    # 10% of 459.27 = 45.93 (30.00 + 15.93) and 100.00 of bonus (the cap is 50% of 413.34):
    # spread 270.00 : 143.34 → 65.3215 + 34.6785 → 65.32 + 34.67 and the kopeck to line 2:
    # 65.32 + 34.68; accrual 3% of 204.68 = 6.1404 → 6.14 and of 108.66 = 3.2598 → 3.26: 9.40;
    # the card: −100.00 + 9.40 = −90.60.
    # Return 1 unit of g-100: 204.68 / 3 = 68.2267 → 68.23 refunded, 6.14 / 3 = 2.0467 → 2.05
    # accrual taken back, 65.32 / 3 = 21.7733 → 21.77 bonus credited back: the card +19.72
    (
        "percent-bonus-payment",
        {"p": {"reward": pct("10")}},
        None,
        "45.93",
        "9.40",
    ),
]


BEAR = {"line": 4, "goods": "bear", "qty": 1, "price": 50, "sum": 50}
G500 = {"line": 4, "goods": "g-500", "qty": 1, "price": 50, "sum": 50}

# What a row's receipt carries besides the world's lines and card.
BODY_EXTRA: dict[str, dict[str, Any]] = {
    "card-payment-paid-by-card": {"payments": [{"type": "card", "sum": "639.25"}]},
    "sbp-payment-mixed": {
        "payments": [{"type": "cash", "sum": "139.25"}, {"type": "sbp", "sum": "500.00"}]
    },
    "gift-at-0.01": {"lines": [*WORLD_LINES, BEAR]},
    "kit-broken": {"lines": [*WORLD_LINES, G500]},
    "bonus-conversion": {"pay_bonus": 10},
    "no-accrual-line": {"lines": [{**WORLD_LINES[0], "no_accrual": True}, *WORLD_LINES[1:]]},
    "percent-bonus-payment": {"pay_bonus": 100},
}

# The card's level, set by an override before the receipt (default: the base level, 0%).
LEVEL: dict[str, str] = {"level-multiplier-silver": "silver", "exclusive-over-level": "silver"}


# More of the soft answer a row checks: its fields as the answer gives them, and ``balance``,
# the change of the card's balance by the commit.
CHECKS: dict[str, dict[str, Any]] = {
    "stamps-every-2": {
        "stamps": [{"promotion": "p", "every": 2, "before": 0, "added": 3, "free": 1, "after": 1}],
        "balance": D("10.78"),
    },
    "extra-bonus-points": {
        "extra_bonus": [
            {"promotion": "p", "sum": D("50.00"), "activation_delay_days": 0, "lifetime_days": 30}
        ],
        "balance": D("63.78"),
    },
    "extra-bonus-percent": {
        "extra_bonus": [
            {"promotion": "p", "sum": D("15.00"), "activation_delay_days": 0, "lifetime_days": 3660}
        ],
        "balance": D("28.78"),
    },
    "bonus-conversion": {"points_spent": D("9.00"), "balance": D("4.38")},
    "no-accrual-line": {"extra_bonus": [], "balance": D("4.78")},
    "percent-bonus-payment": {"balance": D("-90.60")},
    "gift-at-0.01": {"balance": D("13.78")},
    "level-multiplier-base": {
        "promotions": [
            {
                "code": "p",
                "name": "p",
                "applied": False,
                "discount": D("0.00"),
                "reason": "Нет скидки уровня карты на товары акции.",
            }
        ]
    },
}


# Rows where the service disagrees with the hand arithmetic (the expectation stays the docs').
DISAGREES: dict[str, str] = {}  # row id: why the service disagrees with the hand arithmetic


@dataclass(frozen=True)
class Return:
    """A partial return after the commit: (line, qty) pairs and what it must give."""

    lines: list[tuple[int, str]]
    refunded: str  # the return's final sum: money back
    accrual: str  # accrual taken back
    balance: str  # the change of the card's balance (accrual, points, bonus back)
    bonus: str = "0"  # bonus credited back (the return's bonus_payment)


RETURNS: dict[str, Return] = {
    "percent-all": Return([(1, "1"), (2, "0.1")], "131.31", "3.94", "-3.94"),
    "3-for-2": Return([(1, "1")], "0.00", "0.00", "0.00"),
    "2-for-1-odd": Return([(1, "1")], "66.67", "2.00", "-2.00"),
    "any-two": Return([(1, "2")], "140.00", "4.20", "-4.20"),
    "gift-at-0.01": Return([(1, "1")], "50.01", "1.50", "-1.50"),
    "extra-bonus-percent": Return([(1, "1")], "100.00", "3.00", "-8.00"),
    "bonus-conversion": Return([(1, "1")], "97.06", "2.91", "-0.95"),
    "kit-broken": Return([(1, "2")], "175.00", "5.25", "-5.25"),
    "percent-bonus-payment": Return([(1, "1")], "68.23", "2.05", "19.72", bonus="21.77"),
}


def _setup(session: Session, world: World, promotions: dict[str, Any],
           groups: list[dict[str, Any]] | None, level: str | None) -> None:  # fmt: skip
    tenant = session.get(Tenant, world.tenant_id)
    assert tenant is not None
    if groups is not None:
        tenant.promotion_groups = groups
    if level is not None:
        set_override(session, world.account_id, level, rules=parse_level_rules(LEVEL_RULES),
                     reason="тест", author="t", now=T0)  # fmt: skip
    for code, rules in promotions.items():
        add_version(session, add_program(session, tenant, "promotion", code, code), rules, SINCE)
    session.flush()


def _total(session: Session, world: World) -> Decimal:
    return balance(session, world.account_id, datetime.now(UTC)).total


@pytest.mark.parametrize(
    ("promotions", "groups", "discount", "accrual", "extra", "level", "checks", "back"),
    [
        pytest.param(*row[1:], BODY_EXTRA.get(row[0], {}), LEVEL.get(row[0]),
                     CHECKS.get(row[0], {}), RETURNS.get(row[0]), id=row[0],
                     marks=[pytest.mark.xfail(strict=True, reason=DISAGREES[row[0]])]
                     if row[0] in DISAGREES else [])
        for row in SCENARIOS
    ],
)  # fmt: skip
def test_scenario(
    client: FlaskClient, world: World, session: Session, promotions: dict[str, Any],
    groups: list[dict[str, Any]] | None, discount: str, accrual: str | None,
    extra: dict[str, Any], level: str | None, checks: dict[str, Any], back: Return | None,
) -> None:  # fmt: skip
    _setup(session, world, promotions, groups, level)
    body = {**receipt(card_number=world.card), **extra}
    total = sum((D(str(line["sum"])) for line in body["lines"]), D(0))
    soft = client.post("/api/v1/receipts/calculate", json=body, headers=world.auth)
    assert soft.status_code == 200, soft.get_json()
    answer = soft.get_json()
    assert answer["totals"]["discount"] == D(discount)
    assert answer["totals"]["final_sum"] == total - D(discount) - answer["totals"]["bonus_payment"]
    if accrual is not None:
        assert answer["totals"]["accrual"] == D(accrual)
    for field, expected in checks.items():
        if field != "balance":
            assert answer[field] == expected, field
    before = _total(session, world)
    committed = client.post(
        "/api/v1/receipts/commit", json={**body, "calculation_id": answer["calculation_id"]},
        headers=world.auth,
    )  # fmt: skip
    assert committed.status_code == 200, committed.get_json()
    sale = committed.get_json()
    assert sale["totals"] == answer["totals"]
    if "balance" in checks:
        assert _total(session, world) - before == checks["balance"]
    if back is None:
        return
    before = _total(session, world)
    returned = client.post("/api/v1/receipts/return", json={
        "cashier": "c-01", "number": "r1", "original_transaction_id": sale["transaction_id"],
        "lines": [{"line": n, "qty": q} for n, q in back.lines],
    }, headers=world.auth)  # fmt: skip
    assert returned.status_code == 200, returned.get_json()
    totals = returned.get_json()["totals"]
    got = (totals["final_sum"], totals["accrual"], totals["bonus_payment"])
    assert got == (D(back.refunded), D(back.accrual), D(back.bonus))
    assert _total(session, world) - before == D(back.balance)


def test_every_side_table_names_a_row() -> None:
    rows = {row[0] for row in SCENARIOS}
    assert len(rows) == len(SCENARIOS) >= 42
    for table in (BODY_EXTRA, LEVEL, CHECKS, DISAGREES, RETURNS):
        assert set(table) <= rows
    assert len(RETURNS) >= 4
