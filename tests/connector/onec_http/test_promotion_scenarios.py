"""A table of promotions through the POS API: calculate, then commit with the soft result, on
the world's receipt — line 1: g-100, 3 × 100.00 = 300.00; line 2: g-200, 0.347 kg × 459.00 =
159.27; line 3: g-400, 2 × 89.99 = 179.98 with the no-discount mark; 639.25 in all, 459.27 of
it discountable; Friday 2026-05-01 12:00 in Moscow; the card at the base level (0%), bonus
accrual 3% of what is paid on discountable lines. Each row's arithmetic is in its comment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from processing.programs.service import add_program, add_version
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt
from tests.factories import T0

D = Decimal
SINCE = T0.replace(year=2026, month=1, day=1)
G100 = {"goods": {"goods": ["g-100"]}}
G200 = {"goods": {"goods": ["g-200"]}}


def pct(value: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "percent", "value": value, **extra}


def fixed(value: str, per: str = "receipt") -> dict[str, Any]:
    return {"kind": "fixed", "value": value, "per": per}


# (id, promotions {code: rules}, groups or None, discount, accrual or None)
SCENARIOS: list[tuple[str, dict[str, Any], list[dict[str, Any]] | None, str, str | None]] = [
    # 10% of 459.27 = 45.927 → 45.93, spread 30.00 + 15.93; accrual 3% of what is paid:
    # 270.00 → 8.10 and 143.34 → 4.30 (4.3002): 12.40
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
    # 3 for 2: one of the three units free
    (
        "3-for-2",
        {"p": {"receipt": G100, "reward": {"kind": "m_for_n", "n": 3, "m": 2}}},
        None,
        "100.00",
        None,
    ),
    # 2 for 1 on 3 units: one set, one unit free
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
    # "any 2 units of g-100" holds with 3 units: 20% of line 1
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
]


# What a row's receipt carries besides the world's lines and card.
BODY_EXTRA: dict[str, dict[str, Any]] = {
    "card-payment-paid-by-card": {"payments": [{"type": "card", "sum": "639.25"}]},
    "sbp-payment-mixed": {
        "payments": [{"type": "cash", "sum": "139.25"}, {"type": "sbp", "sum": "500.00"}]
    },
}


def _setup(session: Session, world: World, promotions: dict[str, Any],
           groups: list[dict[str, Any]] | None) -> None:  # fmt: skip
    tenant = session.get(Tenant, world.tenant_id)
    assert tenant is not None
    if groups is not None:
        tenant.promotion_groups = groups
    for code, rules in promotions.items():
        add_version(session, add_program(session, tenant, "promotion", code, code), rules, SINCE)
    session.flush()


@pytest.mark.parametrize(
    ("promotions", "groups", "discount", "accrual", "extra"),
    [pytest.param(*row[1:], BODY_EXTRA.get(row[0], {}), id=row[0]) for row in SCENARIOS],
)
def test_scenario(
    client: FlaskClient, world: World, session: Session, promotions: dict[str, Any],
    groups: list[dict[str, Any]] | None, discount: str, accrual: str | None,
    extra: dict[str, Any],
) -> None:  # fmt: skip
    _setup(session, world, promotions, groups)
    body = {**receipt(card_number=world.card), **extra}
    soft = client.post("/api/v1/receipts/calculate", json=body, headers=world.auth)
    assert soft.status_code == 200, soft.get_json()
    answer = soft.get_json()
    assert answer["totals"]["discount"] == D(discount)
    assert answer["totals"]["final_sum"] == D("639.25") - D(discount)
    if accrual is not None:
        assert answer["totals"]["accrual"] == D(accrual)
    committed = client.post(
        "/api/v1/receipts/commit", json={**body, "calculation_id": answer["calculation_id"]},
        headers=world.auth,
    )  # fmt: skip
    assert committed.status_code == 200, committed.get_json()
    assert committed.get_json()["totals"] == answer["totals"]
