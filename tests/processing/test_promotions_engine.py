"""The promotion stage of the pure engine: the outside oracle's rows
(../shared/protocols/promotion-oracle.md, adapted to kopecks), combination modes, conditions,
gifts, hints and invariants."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from processing.programs.rules import Level, parse_bonus_rules
from processing.promotions.book import PromotionBook
from processing.promotions.rules import DISCOUNT_KINDS, GROUP_MODES, parse_groups, parse_promotion
from processing.validation import InvalidProgramRules

D = Decimal
# The oracle's goods (Odoo's sale_loyalty fixtures).
CABINET, CHAIR, DRAWER, TABLE = D("320.00"), D("16.50"), D("25.00"), D("40000.00")
PRICES = {"cabinet": CABINET, "chair": CHAIR, "drawer": DRAWER, "table": TABLE}
CARD = CustomerFacts(card_active=True, allowance="full")
MONDAY_NOON = datetime(2027, 3, 8, 12, 0)  # 8 March 2027 is a Monday


def goods_line(number: int, goods: str, quantity: int | str, **extra: Any) -> ReceiptLine:
    q = D(str(quantity))
    price = extra.pop("price", PRICES.get(goods, D("100.00")))
    return ReceiptLine(number, goods, q, price, (price * q).quantize(D("0.01")), **extra)


def promo(code: str, rules: dict[str, Any], priority: int = 100) -> Any:
    return parse_promotion({"priority": priority, **rules}, code=code, name=code, version_id=1)


def run(
    lines: list[ReceiptLine],
    promotions: list[Any],
    *,
    groups: list[dict[str, Any]] | None = None,
    facts: PromotionFacts | None = None,
    card: CustomerFacts = CARD,
    bonus: dict[str, Any] | None = None,
    requested: str = "0",
    balance: str = "0",
) -> Result:
    book = PromotionBook(promotions, parse_groups(groups))
    rules = Rules(bonus=parse_bonus_rules(bonus) if bonus else None, promotions=book)
    result = calculate(
        Receipt(tuple(lines), requested_bonus=D(requested)), rules,
        Balances(active=D(balance), total=D(balance)), card,
        facts or PromotionFacts(local_time=MONDAY_NOON),
    )  # fmt: skip
    # 54-FZ: every set of sums adds up to the kopeck.
    assert result.amount - result.discount - result.bonus_payment == result.final_amount
    assert sum(r.final_amount for r in result.lines) == result.final_amount
    for r in result.lines:
        assert r.final_amount >= 0
        assert r.amount - r.discount - r.bonus_payment == r.final_amount
        assert sum(p.amount for p in r.parts) == r.final_amount
        promoted = sum(
            e.amount for e in r.explanations if e.rule in ("promotion", "level_discount")
        )
        assert promoted == r.discount
    return result


SEQUENTIAL = [{"code": "first", "mode": "multiply", "order": 10}]


def test_o1_free_unit_then_ten_percent_on_the_paid_units_only() -> None:
    # 4 cabinets (1,280.00) with "4 for 3" (Odoo's "3 + 1 free", the free unit scanned), then an
    # automatic 10% in a later group: 1,280.00 − 320.00 = 960.00, −10% = 864.00.
    result = run(
        [goods_line(1, "cabinet", 4)],
        [promo("m4f3", {"group": "first", "receipt": {"goods": {"goods": ["cabinet"]}},
                        "reward": {"kind": "m_for_n", "n": 4, "m": 3}}),
         promo("ten", {"reward": {"kind": "percent", "value": "10"}})],
        groups=SEQUENTIAL,
    )  # fmt: skip
    assert result.final_amount == D("864.00")
    assert {e.promotion: e.amount for e in result.lines[0].explanations} == {
        "m4f3": D("320.00"), "ten": D("96.00"),
    }  # fmt: skip


@pytest.mark.parametrize(("units", "free"), [(100, 25), (8, 2), (2, 0)])
def test_o2_free_units_follow_the_paid_ones(units: int, free: int) -> None:
    # 75 paid + 25 scanned free = 100 units → 25 free; 6 + 2 → 2; 2 → none. Free units never
    # count as paid: 4 for 3 frees one unit per four.
    result = run(
        [goods_line(1, "cabinet", units)],
        [promo("m4f3", {"reward": {"kind": "m_for_n", "n": 4, "m": 3}})],
    )
    assert result.discount == CABINET * free


def test_o3_gift_limited_by_the_gift_goods_in_the_receipt() -> None:
    # 3 drawers + 1 meeting table, "a drawer → a free table": exactly 1 free table.
    result = run(
        [goods_line(1, "drawer", 3), goods_line(2, "table", 1)],
        [promo("table", {"receipt": {"any": {"goods": {"goods": ["drawer"]}, "quantity": 1}},
                         "reward": {"kind": "gift", "gift": {"goods": ["table"]}}})],
    )  # fmt: skip
    table = result.lines[1]
    assert table.gift_quantity == 1 and table.final_amount == D("0.00")
    assert result.final_amount == D("75.00")
    assert "добавьте в чек ещё 2 шт." in result.hints[0]


def test_o4_two_global_discounts_do_not_stack() -> None:
    # Auto 10% and a second 10% in the same "max" group: 320.00 → 288.00, the second refused.
    result = run(
        [goods_line(1, "cabinet", 1)],
        [promo("auto", {"reward": {"kind": "percent", "value": "10"}}, priority=1),
         promo("code", {"reward": {"kind": "percent", "value": "10"}}, priority=2)],
    )  # fmt: skip
    assert result.final_amount == D("288.00")
    outcomes = {o.code: o for o in result.promotions}
    assert outcomes["auto"].applied and outcomes["auto"].discount == D("32.00")
    assert not outcomes["code"].applied and "Уступила акции «auto»" in str(outcomes["code"].reason)


@pytest.mark.parametrize(("drawers", "final"), [(1, "0.00"), (17, "176.00")])
def test_o5_fixed_discount_capped_at_the_total(drawers: int, final: str) -> None:
    result = run(
        [goods_line(1, "drawer", drawers)],
        [promo("off249", {"reward": {"kind": "fixed", "value": "249.00"}})],
    )
    assert result.final_amount == D(final)


def test_o6_coupon_with_a_minimum() -> None:
    result = run(
        [goods_line(1, "chair", 10)],
        [promo("c100", {"receipt": {"sum": {"min": "100.00"}},
                        "reward": {"kind": "fixed", "value": "100.00"}})],
    )  # fmt: skip
    assert result.final_amount == D("65.00")


@pytest.mark.parametrize(("chairs", "final", "applied"), [
    (10, "65.00", {"promo"}), (15, "47.50", {"promo", "coupon"}), (5, "82.50", set()),
])  # fmt: skip
def test_o7_second_minimum_is_checked_on_what_the_first_left(
    chairs: int, final: str, applied: set[str]
) -> None:
    result = run(
        [goods_line(1, "chair", chairs)],
        [promo(code, {"group": "first", "receipt": {"sum": {"min": "100.00"}},
                      "reward": {"kind": "fixed", "value": "100.00"}}, priority=n)
         for n, code in enumerate(["promo", "coupon"])],
        groups=SEQUENTIAL,
    )  # fmt: skip
    assert result.final_amount == D(final)
    assert {o.code for o in result.promotions if o.applied} == applied


@pytest.mark.parametrize("fixed_first", [False, True])
def test_o8_percent_before_fixed_whatever_the_priorities(fixed_first: bool) -> None:
    # 100.00 + 100.00 + 115.00 (a line with its tax in the price) = 315.00; 10% → 283.50; the
    # fixed 288.50 is capped at what is left: 0.00, never negative. Our order is defined:
    # percent before fixed, so the priorities do not change it (Odoo's reversed order gives
    # 23.85 — order matters, ours is fixed).
    lines = [goods_line(1, "a", 1), goods_line(2, "b", 1),
             goods_line(3, "c", 1, price=D("115.00"))]  # fmt: skip
    result = run(
        lines,
        [promo("ten", {"group": "first", "reward": {"kind": "percent", "value": "10"}},
               priority=2 if fixed_first else 1),
         promo("off", {"group": "first", "reward": {"kind": "fixed", "value": "288.50"}},
               priority=1 if fixed_first else 2)],
        groups=SEQUENTIAL,
    )  # fmt: skip
    assert result.final_amount == D("0.00")


def test_o11_accrual_on_the_money_actually_paid() -> None:
    # 1 point per rouble and an automatic 10% on 100.00: pays 90.00, earns 90 points.
    result = run(
        [goods_line(1, "x", 1)],
        [promo("auto", {"reward": {"kind": "percent", "value": "10"}})],
        bonus={"accrual_percent": "100"},
    )
    assert (result.final_amount, result.accrual) == (D("90.00"), D("90.00"))


def test_exclusive_promotion_replaces_everything_else() -> None:
    level = Level("gold", "Золото", D(0), D("5"))
    result = run(
        [goods_line(1, "x", 2)],
        [promo("big", {"exclusive": True, "reward": {"kind": "percent", "value": "30"}}),
         promo("small", {"reward": {"kind": "percent", "value": "10"}})],
        card=CustomerFacts(card_active=True, allowance="full", level=level),
    )  # fmt: skip
    assert result.discount == D("60.00")
    outcomes = {o.code: o for o in result.promotions}
    assert outcomes["small"].reason == "Не суммируется с акцией «big»."


@pytest.mark.parametrize(("mode", "discount"), [
    ("first", "10.00"), ("max", "30.00"), ("min", "10.00"), ("sum", "40.00"),
    ("multiply", "37.00"),  # 30% of 100.00, then 10% of 70.00
])  # fmt: skip
def test_group_modes(mode: str, discount: str) -> None:
    result = run(
        [goods_line(1, "x", 1)],
        [promo("ten", {"group": "g", "reward": {"kind": "percent", "value": "10"}}, priority=1),
         promo("thirty", {"group": "g", "reward": {"kind": "percent", "value": "30"}},
               priority=2)],
        groups=[{"code": "g", "mode": mode}],
    )  # fmt: skip
    assert result.discount == D(discount)


def test_level_discount_takes_part_in_its_group() -> None:
    level = Level("gold", "Золото", D(0), D("15"))
    card = CustomerFacts(card_active=True, allowance="full", level=level)
    result = run(
        [goods_line(1, "x", 1), goods_line(2, "y", 1)],
        [promo("ten_x", {"receipt": {"goods": {"goods": ["x"]}},
                         "reward": {"kind": "percent", "value": "20"}})],
        card=card,
    )  # fmt: skip
    # Per line, the larger: 20% on x from the promotion, 15% on y from the level.
    assert [r.discount for r in result.lines] == [D("20.00"), D("15.00")]
    assert [e.rule for e in result.lines[1].explanations] == ["level_discount"]


def test_buy_x_get_y_cheaper_and_kits() -> None:
    kit = {"kit": [{"goods": {"goods": ["pasta"]}, "quantity": 2},
                   {"goods": {"goods": ["sauce"]}, "quantity": 1}]}  # fmt: skip
    rules = {"receipt": kit, "reward": {"kind": "fixed_price", "price": "50.00",
                                        "target": {"goods": ["sauce"]}}}  # fmt: skip
    full = run([goods_line(1, "pasta", 2), goods_line(2, "sauce", 1)], [promo("kit", rules)])
    assert full.lines[1].final_amount == D("50.00") and full.lines[0].discount == 0
    broken = run([goods_line(1, "pasta", 1), goods_line(2, "sauce", 1)], [promo("kit", rules)])
    assert broken.discount == 0
    assert broken.promotions[0].reason == "В чеке нет полного комплекта."


def test_groups_cover_their_subtree_and_exclusions_hold() -> None:
    rules = {"receipt": {"goods": {"groups": ["dairy"], "exclude_goods": ["butter"]}},
             "reward": {"kind": "percent", "value": "10"}}  # fmt: skip
    lines = [goods_line(1, "milk", 1, group_ids=("milk-3.2", "dairy")),
             goods_line(2, "butter", 1, group_ids=("dairy",)),
             goods_line(3, "bread", 1, group_ids=("bakery",))]  # fmt: skip
    result = run(lines, [promo("dairy", rules)])
    assert [r.discount for r in result.lines] == [D("10.00"), D("0.00"), D("0.00")]


def test_threshold_hint_and_gift_at_one_kopeck() -> None:
    rules = {"receipt": {"sum": {"min": "3000.00"}},
             "reward": {"kind": "gift", "gift": {"goods": ["bear"]}, "price": "0.01"}}  # fmt: skip
    near = run([goods_line(1, "x", 26)], [promo("bear", rules)])
    assert near.hints == ("Ещё 400,00 ₽ — и сработает «bear».",)
    lines = [goods_line(1, "x", 30), goods_line(2, "bear", 2, price=D("499.00"))]
    got = run(lines, [promo("bear", rules)])
    bear = got.lines[1]
    assert bear.gift_quantity == 1 and bear.final_amount == D("499.01")
    assert [(p.quantity, p.price) for p in bear.parts] == [(D(1), D("499.00")), (D(1), D("0.01"))]


def test_time_conditions_in_the_stores_zone() -> None:
    rules = {"when": {"yearly": [{"from": "03-08", "to": "03-08"}], "weekdays": [1],
                      "hours": [{"from": "10:00", "to": "12:00"}]},
             "reward": {"kind": "percent", "value": "10"}}  # fmt: skip
    at = {t: PromotionFacts(local_time=t) for t in (datetime(2027, 3, 8, 11, 59),
                                                   datetime(2027, 3, 8, 12, 0))}  # fmt: skip
    inside = run([goods_line(1, "x", 1)], [promo("happy", rules)], facts=at[MONDAY_NOON.replace(
        hour=11, minute=59)])  # fmt: skip
    assert inside.discount == D("10.00")
    outside = run([goods_line(1, "x", 1)], [promo("happy", rules)], facts=at[MONDAY_NOON])
    assert outside.discount == 0
    assert outside.promotions[0].reason == "Акция не действует в это время."


@pytest.mark.parametrize(("birthday", "applies"), [
    (date(1990, 3, 5), True), (date(1990, 3, 4), False), (date(1990, 3, 11), True),
    (date(1990, 3, 12), False), (None, False),
])  # fmt: skip
def test_birthday_week(birthday: date | None, applies: bool) -> None:
    rules = {"customer": {"birthday": {"before_days": 3, "after_days": 3}},
             "reward": {"kind": "percent", "value": "10"}}  # fmt: skip
    facts = PromotionFacts(local_time=MONDAY_NOON, birthday=birthday)
    result = run([goods_line(1, "x", 1)], [promo("bd", rules)], facts=facts)
    assert (result.discount > 0) is applies


def test_customer_conditions_need_a_card_anonymous_receipts_get_the_rest() -> None:
    facts = PromotionFacts(local_time=MONDAY_NOON, segments=frozenset({"students"}))
    promotions = [
        promo("seg", {"customer": {"segments": ["students"]},
                      "reward": {"kind": "percent", "value": "10"}}, priority=1),
        promo("all", {"group": "later", "reward": {"kind": "fixed", "value": "1.00"}}),
    ]  # fmt: skip
    groups = [{"code": "later", "mode": "sum", "order": 200}]
    anonymous = CustomerFacts(card_active=False, allowance="nothing")
    result = run([goods_line(1, "x", 1)], promotions, groups=groups, facts=facts, card=anonymous)
    assert result.discount == D("1.00")
    assert {o.code: o.reason for o in result.promotions}["seg"] == "Нужна карта покупателя."
    carded = run([goods_line(1, "x", 1)], promotions, groups=groups, facts=facts)
    assert carded.discount == D("11.00")


def test_accrual_multiplier_and_extra_bonus() -> None:
    promotions = [
        promo("double", {"reward": {"kind": "accrual_multiplier", "factor": "2"}}),
        promo("camp", {"reward": {"kind": "extra_bonus", "value": "50.00", "lifetime_days": 30}}),
    ]  # fmt: skip
    result = run([goods_line(1, "x", 2)], promotions, bonus={"accrual_percent": "5"})
    assert result.accrual == D("20.00")  # 10% of 200.00
    [extra] = result.extra_bonuses
    assert (extra.promotion, extra.amount, extra.lifetime_days) == ("camp", D("50.00"), 30)


def test_level_multiplier_doubles_the_level_discount_on_its_goods_in_its_hours() -> None:
    """ "Double card discount on coffee, 8:00–11:00": a 5% level, ×2 on coffee. Coffee 3 × 100.00
    and a cake 150.00: the level gives 5% of 450.00 = 22.50 (15.00 on coffee, 7.50 on the cake);
    the multiplier adds 5% × (2 − 1) of 300.00 = 15.00 on coffee, its own line in the
    explanation. At noon only the level's 22.50."""
    level = Level("silver", "Серебро", D(0), D("5"))
    card = CustomerFacts(card_active=True, allowance="full", level=level)
    double = promo("morning", {
        "when": {"hours": [{"from": "08:00", "to": "11:00"}]},
        "receipt": {"goods": {"goods": ["coffee"]}},
        "reward": {"kind": "level_multiplier", "factor": "2"},
    })  # fmt: skip
    lines = [goods_line(1, "coffee", 3), goods_line(2, "cake", 1, price=D("150.00"))]
    morning = PromotionFacts(local_time=datetime(2027, 3, 9, 9, 30))
    result = run(lines, [double], card=card, facts=morning)
    assert [r.discount for r in result.lines] == [D("30.00"), D("7.50")]
    coffee = [(e.rule, e.amount, e.promotion) for e in result.lines[0].explanations]
    assert coffee == [("level_discount", D("15.00"), None),
                      ("promotion", D("15.00"), "morning")]  # fmt: skip
    [outcome] = result.promotions
    assert (outcome.code, outcome.applied, outcome.discount) == ("morning", True, D("15.00"))
    noon = run(lines, [double], card=card)
    assert [r.discount for r in noon.lines] == [D("15.00"), D("7.50")]
    assert noon.promotions[0].applied is False


def test_level_multiplier_competes_as_one_offer_and_needs_a_level() -> None:
    """In a "max" group the level × 3 on x (5% × 3 = 15%) beats a 10% promotion on x; without
    a level discount the multiplier gives nothing and says why."""
    level = Level("silver", "Серебро", D(0), D("5"))
    card = CustomerFacts(card_active=True, allowance="full", level=level)
    promotions = [
        promo("triple", {"receipt": {"goods": {"goods": ["x"]}},
                         "reward": {"kind": "level_multiplier", "factor": "3"}}),
        promo("ten", {"receipt": {"goods": {"goods": ["x"]}},
                      "reward": {"kind": "percent", "value": "10"}}),
    ]  # fmt: skip
    result = run([goods_line(1, "x", 1)], promotions, card=card)
    assert result.lines[0].discount == D("15.00")
    assert {p.code: p.applied for p in result.promotions} == {"triple": True, "ten": False}
    bare = run([goods_line(1, "x", 1)], promotions)
    assert bare.lines[0].discount == D("10.00")
    refused = {p.code: p.reason for p in bare.promotions if not p.applied}
    assert refused == {"triple": "Нет скидки уровня карты на товары акции."}


def test_a_level_multipliers_caps_count_the_levels_own_share() -> None:
    """A 5% level ×3 capped at 10% a line: the level's 5.00 and 5.00 more, not 10.00 more; with
    a price floor of 80.00, 5.00 + 15.00; a 50% level is past both caps: nothing more."""
    silver = CustomerFacts(card_active=True, allowance="full",
                           level=Level("silver", "Серебро", D(0), D("5")))  # fmt: skip
    half = CustomerFacts(card_active=True, allowance="full",
                         level=Level("half", "Половина", D(0), D("50")))  # fmt: skip
    capped = promo("capped", {"max_line_discount_percent": "10",
                              "reward": {"kind": "level_multiplier", "factor": "3"}})  # fmt: skip
    floored = promo(
        "floored", {"price_floor": "80.00", "reward": {"kind": "level_multiplier", "factor": "10"}}
    )
    line = [goods_line(1, "x", 1)]
    assert run(line, [capped], card=silver).lines[0].discount == D("10.00")
    assert run(line, [floored], card=silver).lines[0].discount == D("20.00")
    for rules in (capped, floored):
        result = run(line, [rules], card=half)
        assert result.lines[0].discount == D("50.00")
        assert result.promotions[0].applied is False


def test_a_cap_counts_what_other_members_of_a_sum_group_took() -> None:
    """In a "sum" group a 20% promotion capped at 22% a line, after the card's 5% level (first
    in the group): 17.00 more on 100.00, not 20.00."""
    silver = CustomerFacts(card_active=True, allowance="full",
                           level=Level("silver", "Серебро", D(0), D("5")))  # fmt: skip
    capped = promo("capped", {"max_line_discount_percent": "22",
                              "reward": {"kind": "percent", "value": "20"}})  # fmt: skip
    groups = [{"code": "main", "mode": "sum", "level_discount": True}]
    result = run([goods_line(1, "x", 1)], [capped], card=silver, groups=groups)
    assert result.lines[0].discount == D("22.00")


def test_a_promotion_that_gave_way_names_the_one_that_kept_its_line() -> None:
    """x and y at 100.00, a 5% level ×2 on x (10.00) in the max group with 8% on x and 20% on y:
    the 8% gave way to the card level on x, not to the 20% that won y; a ×1.5 multiplier on x
    beside the ×2 one says a larger multiplier holds there."""
    silver = CustomerFacts(card_active=True, allowance="full",
                           level=Level("silver", "Серебро", D(0), D("5")))  # fmt: skip
    on = {
        "x": {"receipt": {"goods": {"goods": ["x"]}}},
        "y": {"receipt": {"goods": {"goods": ["y"]}}},
    }
    promotions = [
        promo("double", {**on["x"], "reward": {"kind": "level_multiplier", "factor": "2"}}),
        promo("half-more", {**on["x"], "reward": {"kind": "level_multiplier", "factor": "1.5"}}),
        promo("eight", {**on["x"], "reward": {"kind": "percent", "value": "8"}}),
        promo("twenty", {**on["y"], "reward": {"kind": "percent", "value": "20"}}),
    ]
    result = run([goods_line(1, "x", 1), goods_line(2, "y", 1)], promotions, card=silver)
    assert [r.discount for r in result.lines] == [D("10.00"), D("20.00")]
    reasons = {p.code: p.reason for p in result.promotions if not p.applied}
    assert reasons == {
        "half-more": "На эти товары действует больший множитель скидки уровня.",
        "eight": "Уступила скидке уровня карты (группа «Основная»: максимум).",
    }


def test_a_cap_is_never_passed_by_a_fraction_of_a_kopeck() -> None:
    """50% capped at 25% on 159.27: 25% is 39.8175, so 39.81 (rounded down), not 39.82."""
    capped = promo("capped", {"max_line_discount_percent": "25",
                              "reward": {"kind": "percent", "value": "50"}})  # fmt: skip
    line = goods_line(1, "x", "0.347", price=D("459.00"))
    assert run([line], [capped]).lines[0].discount == D("39.81")


def test_storage_order_does_not_change_the_result() -> None:
    promotions = [
        promo("a", {"reward": {"kind": "percent", "value": "10"}}, priority=5),
        promo("b", {"reward": {"kind": "fixed", "value": "30.00"}}, priority=5),
        promo("c", {"group": "g", "reward": {"kind": "m_for_n", "n": 3, "m": 2}}),
    ]
    groups = [{"code": "g", "mode": "multiply", "order": 1}]
    lines = [goods_line(1, "x", 3), goods_line(2, "y", 1, price=D("33.33"))]
    forward = run(lines, promotions, groups=groups)
    backward = run(lines, list(reversed(promotions)), groups=groups)
    assert forward == backward


@pytest.mark.parametrize(("rules", "field"), [
    ({}, "rules.reward"),
    ({"reward": {"kind": "percent", "value": "120"}}, "rules.reward.value"),
    ({"reward": {"kind": "m_for_n", "n": 3, "m": 3}}, "rules.reward.m"),
    ({"reward": {"kind": "percent", "value": "5"}, "when": {"hours": [{"from": "25:00",
                                                                       "to": "10:00"}]}},
     "rules.when.hours[0].from"),
    ({"reward": {"kind": "fixed", "value": "10.001"}}, "rules.reward.value"),
    ({"reward": {"kind": "percent", "value": "5"}, "colour": "red"}, "rules.colour"),
    # a limit per receipt counts sets: a percent has none to count
    ({"reward": {"kind": "percent", "value": "5"}, "limits": {"per_receipt": 1}},
     "rules.limits.per_receipt"),
    ({"reward": {"kind": "fixed", "value": "1e2"}}, "rules.reward.value"),
    ({"reward": {"kind": "extra_bonus", "value": "10.00"}, "exclusive": True}, "rules.exclusive"),
    ({"reward": {"kind": "percent", "value": "5"}, "coupon": "yes"}, "rules.coupon"),
    ({"reward": {"kind": "gift", "gift": {"goods": ["g"]}}, "max_line_discount_percent": "50"},
     "rules.max_line_discount_percent"),
    ({"reward": {"kind": "stamps", "every": 6}, "price_floor": "10.00"}, "rules.price_floor"),
    ({"reward": {"kind": "fixed", "value": "Infinity"}}, "rules.reward.value"),
    ({"reward": {"kind": "percent", "value": "5"}, "price_floor": "-0"}, "rules.price_floor"),
    ({"reward": {"kind": "fixed", "value": " 100"}}, "rules.reward.value"),
    ({"reward": {"kind": "percent", "value": "1_0"}}, "rules.reward.value"),
    ({"reward": {"kind": "percent", "value": "5"}, "customer": {"fields": {"pet": ""}}},
     "rules.customer.fields.pet"),
])  # fmt: skip
def test_invalid_rules_name_the_field(rules: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidProgramRules) as error:
        parse_promotion(rules)
    assert error.value.details["field"] == field


def test_a_refusal_does_not_echo_a_huge_key_back_whole() -> None:
    with pytest.raises(InvalidProgramRules) as refused:
        parse_promotion({"reward": {"kind": "percent", "value": "5"}, "k" * 100_000: 1})
    assert len(refused.value.details["field"]) == 201 and len(refused.value.text) < 300


def test_limits_per_receipt_count_sets_and_plain_numbers_pass() -> None:
    three_for_two = parse_promotion({"reward": {"kind": "m_for_n", "n": 3, "m": 2},
                                     "limits": {"per_receipt": 2}})  # fmt: skip
    assert three_for_two.limits.per_receipt == 2
    assert parse_promotion({"reward": {"kind": "fixed", "value": "99.90"}}).reward.amount == 9990
    assert parse_promotion({"reward": {"kind": "fixed", "value": 100}}).reward.amount == 10000


# --- properties ------------------------------------------------------------------------------

GOODS = ["a", "b", "c", "d"]
PAYING = {"accrual_percent": "3", "max_payment_percent": "50"}
RICH = "100000.00"
_goods_set: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({}),
    st.lists(st.sampled_from(GOODS), min_size=1, max_size=3, unique=True).map(
        lambda g: {"goods": g}
    ),
)
_reward = st.one_of(
    st.sampled_from(["5", "10", "33", "100"]).map(lambda v: {"kind": "percent", "value": v}),
    st.tuples(st.sampled_from(["0.01", "1.00", "49.99", "500.00"]),
              st.sampled_from(["receipt", "line", "unit"])).map(
        lambda t: {"kind": "fixed", "value": t[0], "per": t[1]}),
    st.sampled_from(["0.00", "9.99"]).map(lambda p: {"kind": "fixed_price", "price": p}),
    st.sampled_from([(2, 1), (3, 2), (5, 3)]).map(
        lambda nm: {"kind": "m_for_n", "n": nm[0], "m": nm[1]}),
    _goods_set.filter(bool).map(lambda g: {"kind": "gift", "gift": g}),
    st.sampled_from([2, 3, 6]).map(lambda n: {"kind": "stamps", "every": n}),
    st.tuples(st.sampled_from(["0.5", "1", "1.5", "3.3333"]), st.sampled_from([1, 3, 10])).map(
        lambda t: {"kind": "bonus_conversion", "rate": t[0], "step": t[1]}),
    st.sampled_from(["1.5", "2", "30"]).map(lambda f: {"kind": "level_multiplier", "factor": f}),
)  # fmt: skip
_levels = st.sampled_from([None, D("7"), D("50")]).map(
    lambda p: CustomerFacts(card_active=True, allowance="full",
                            level=Level("lvl", "Уровень", D(0), p) if p else None))  # fmt: skip
_promotion = st.fixed_dictionaries(
    {"group": st.sampled_from(["main", "g1", "g2"]), "reward": _reward,
     "receipt": st.fixed_dictionaries({"goods": _goods_set})},
    optional={"exclusive": st.booleans(), "max_line_discount_percent": st.sampled_from(["50"]),
              "priority": st.integers(0, 3), "price_floor": st.sampled_from(["0.00", "50.00"])},
)  # fmt: skip
_line = st.tuples(
    st.sampled_from(GOODS),
    st.sampled_from(["1", "2", "3", "0.5"]),
    st.sampled_from(["0.01", "9.99", "100.00", "1234.56"]),
    st.booleans(),
)
_groups = st.lists(
    st.fixed_dictionaries({"code": st.sampled_from(["g1", "g2"]),
                           "mode": st.sampled_from(GROUP_MODES), "order": st.integers(0, 200)}),
    max_size=2, unique_by=lambda g: g["code"],
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(_promotion, min_size=1, max_size=6),
    st.lists(_line, min_size=1, max_size=6),
    _groups,
    st.sampled_from(["0", "50.00", "100000.00"]),
    st.integers(0, 7),
    _levels,
)
def test_any_promotions_keep_every_sum_exact_and_no_line_below_zero(
    rules: list[dict[str, Any]],
    lines: list[tuple[str, str, str, bool]],
    groups: list[dict[str, Any]],
    requested: str,
    stamps: int,
    card: CustomerFacts,
) -> None:
    # only a discount may be exclusive; only a discount of a line (not units) capped
    unit_rewards = ("gift", "stamps")
    promotions = [
        promo(f"p{i}", {k: v for k, v in r.items() if not (
            (k == "exclusive" and r["reward"]["kind"] not in DISCOUNT_KINDS)
            or (k in ("max_line_discount_percent", "price_floor")
                and (r["reward"]["kind"] in unit_rewards
                     or r["reward"]["kind"] not in DISCOUNT_KINDS))
        )})
        for i, r in enumerate(rules)
    ]  # fmt: skip
    receipt_lines = [
        goods_line(n + 1, goods, qty, price=D(price), no_discount=flag)
        for n, (goods, qty, price, flag) in enumerate(lines)
    ]
    # run() asserts the 54-FZ sums, no negative line, explanations adding up to the discount.
    facts = PromotionFacts(local_time=MONDAY_NOON, stamps={p.code: stamps for p in promotions})
    result = run(
        receipt_lines, promotions, groups=groups, requested=requested, balance=RICH,
        bonus=PAYING, facts=facts, card=card,
    )  # fmt: skip
    by_code = {p.code: p for p in promotions}
    for line, source in zip(result.lines, receipt_lines, strict=True):
        if source.no_discount:
            assert line.discount == 0 and line.bonus_payment == 0
        assert line.discount <= line.amount
        # a capped promotion applied on a line holds the line's whole discount (points a
        # conversion turns into a discount are a payment, outside the caps)
        given = [(by_code[e.promotion], e.amount) for e in line.explanations
                 if e.rule == "promotion" and e.promotion in by_code]  # fmt: skip
        converted = sum(a for p, a in given if p.reward.kind == "bonus_conversion")
        for promotion, amount in given:
            cap = promotion.max_line_discount_percent
            if cap is not None and amount and not line.gift_quantity:  # gift units: whole
                allowed = (line.amount * cap / 100).quantize(D("0.01"), ROUND_HALF_UP)
                assert line.discount - converted <= allowed, (promotion.code, line)
    assert result.write_off <= D(requested)  # never more points than asked
    for stamped in result.stamps:  # a stamps card: what it had, added and redeemed
        assert (
            stamped.after
            == (stamped.before + stamped.added - stamped.every * stamped.redeemed)
            >= 0
        )
    # The order promotions are stored in does not change anything.
    again = run(
        receipt_lines, list(reversed(promotions)), groups=groups, requested=requested,
        balance=RICH, bonus=PAYING, facts=facts, card=card,
    )  # fmt: skip
    assert again == result


def test_null_target_keeps_the_reward_on_the_trigger_and_24_00_ends_a_day() -> None:
    rules = {"receipt": {"goods": {"goods": ["a"]}},
             "reward": {"kind": "percent", "value": "50", "target": None},
             "when": {"hours": [{"from": "00:00", "to": "24:00"}]}}  # fmt: skip
    result = run([goods_line(1, "a", 1), goods_line(2, "b", 1)], [promo("half", rules)])
    assert [r.discount for r in result.lines] == [D("50.00"), 0]
    late = PromotionFacts(local_time=datetime(2027, 3, 8, 23, 59, 59))
    assert run([goods_line(1, "a", 1)], [promo("half", rules)], facts=late).discount == 50


@pytest.mark.parametrize("start", ["24:00", "٠٩:00", "09:00\n"])
def test_hours_are_plain_digits(start: str) -> None:
    hours = [{"from": start, "to": "10:00"}]
    with pytest.raises(InvalidProgramRules):
        parse_promotion({"when": {"hours": hours}, "reward": {"kind": "percent", "value": "5"}})


def test_the_shelf_follows_versions_starting_and_ending_in_any_order_of_moments() -> None:
    from datetime import UTC, timedelta

    from processing.promotions.book import PromotionShelf, PromotionVersion

    t0 = datetime(2027, 1, 1, tzinfo=UTC)
    hour = timedelta(hours=1)
    one = promo("one", {"reward": {"kind": "percent", "value": "5"}})
    two = promo("two", {"reward": {"kind": "percent", "value": "7"}})
    shelf = PromotionShelf(
        [PromotionVersion(one, t0, t0 + 2 * hour), PromotionVersion(two, t0 + hour, None),
         PromotionVersion(two, t0, None, store_ids=frozenset({9}))],
        parse_groups(None),
    )  # fmt: skip

    def codes(store: int, at: datetime) -> list[str]:
        book = shelf.book(store, frozenset(), at)
        return [] if book is None else [p.code for p in book.promotions]

    assert codes(1, t0 - hour) == []
    assert codes(1, t0 + hour / 2) == ["one"]
    assert codes(1, t0 + 3 * hour / 2) == ["one", "two"]
    assert codes(1, t0 + 5 * hour) == ["two"]
    assert codes(1, t0 + hour / 2) == ["one"]  # back in time: still right
    assert codes(9, t0 + hour / 2) == ["one", "two"]  # the store's own version of "two"


COFFEE = {"goods": {"goods": ["coffee"]}}
STAMPS = {"receipt": COFFEE, "reward": {"kind": "stamps", "every": 6}}


@pytest.mark.parametrize(
    ("before", "cups", "free", "after"),
    [
        (0, 1, 0, 1),  # the first cup: a stamp
        (4, 1, 0, 5),  # the fifth: one more to go (a hint)
        (5, 1, 1, 0),  # the sixth cup is free, the card starts again
        (0, 6, 1, 0),  # six cups at once: the sixth is free
        (3, 10, 2, 1),  # 3 + 10 = 13 positions: the 6th and 12th free, 1 stamp left
        (7, 1, 1, 2),  # a card over the mark (a free cup lost to a better offer): 8 − 6
    ],
)
def test_stamps_every_sixth_coffee_free(before: int, cups: int, free: int, after: int) -> None:
    result = run(
        [goods_line(1, "coffee", cups, price=D("150.00")), goods_line(2, "cake", 1)],
        [promo("cup", STAMPS)],
        facts=PromotionFacts(local_time=MONDAY_NOON, stamps={"cup": before}),
    )
    assert result.discount == D("150.00") * free
    assert result.lines[0].gift_quantity == free
    (card,) = result.stamps
    assert (card.before, card.added, card.redeemed, card.after) == (before, cups, free, after)
    assert f"штампов {after % 6} из 6" in " ".join(result.customer_messages)
    if after == 5:
        assert result.hints == ("Ещё 1 покупка — и следующий товар по акции «cup» бесплатно.",)
    assert result.promotions[0].applied


def test_stamps_free_the_cheapest_unit_need_a_card_and_lose_no_stamps_to_a_better_offer() -> None:
    lines = [
        goods_line(1, "coffee", 1, price=D("200.00")),
        goods_line(2, "coffee-small", 1, price=D("120.00")),
    ]
    both = {"receipt": {"goods": {"goods": ["coffee", "coffee-small"]}},
            "reward": {"kind": "stamps", "every": 3}}  # fmt: skip
    facts = PromotionFacts(local_time=MONDAY_NOON, stamps={"cup": 1})
    result = run(lines, [promo("cup", both)], facts=facts)
    assert [r.discount for r in result.lines] == [D("0.00"), D("120.00")]  # the cheaper cup
    anonymous = run(lines, [promo("cup", both)], facts=facts,
                    card=CustomerFacts(card_active=False, allowance="nothing"))  # fmt: skip
    assert anonymous.discount == 0 and not anonymous.stamps
    assert anonymous.promotions[0].reason == "Нужна карта покупателя."
    # a 70% sale first by priority takes both cups: the stamps stay on the card
    sale = promo("sale", {"receipt": both["receipt"], "reward": {"kind": "percent", "value": "70"}},
                 priority=1)  # fmt: skip
    beaten = run(lines, [promo("cup", both), sale], facts=facts,
                 groups=[{"code": "main", "mode": "first"}])  # fmt: skip
    assert beaten.discount == D("224.00")  # 70% of 320.00
    (card,) = beaten.stamps
    assert (card.added, card.redeemed, card.after) == (2, 0, 3)


BONUS = {"accrual_percent": "0", "max_payment_percent": "100"}


@pytest.mark.parametrize(
    ("requested", "balance", "points", "discount"),
    [
        ("10", "10", 9, "13.50"),  # O10: 10 points, 1.5 per point in multiples of 3: 9 used
        ("10", "7", 6, "9.00"),  # 7 active: 6 in multiples of 3
        ("2", "10", 0, "0.00"),  # less than one step asked: nothing, the reason
        ("100", "100", 66, "99.00"),  # the receipt's 100.00 takes 66 points (99.00)
    ],
)
def test_o10_points_converted_at_a_rate_in_multiples(
    requested: str, balance: str, points: int, discount: str
) -> None:
    conversion = promo("x15", {"reward": {"kind": "bonus_conversion", "rate": "1.5", "step": 3}})
    result = run([goods_line(1, "drawer", 4)], [conversion], bonus=BONUS,
                 requested=requested, balance=balance)  # fmt: skip
    assert result.points_spent == points
    assert result.discount == D(discount)
    assert result.bonus_payment == 0  # the points went through the conversion
    assert result.write_off == points
    outcome = result.promotions[0]
    assert outcome.applied == bool(points)
    if not points:
        assert "кратно 3" in (outcome.reason or "")


def test_conversion_within_the_programs_cap_and_not_on_no_bonus_goods() -> None:
    conversion = promo("x2", {"reward": {"kind": "bonus_conversion", "rate": "2"}})
    lines = [goods_line(1, "drawer", 4), goods_line(2, "chair", 2, no_bonus_payment=True)]
    capped = {"accrual_percent": "0", "max_payment_percent": "50"}
    result = run(lines, [conversion], bonus=capped, requested="500", balance="500")
    # 50% of the drawers' 100.00 = 50.00 → 25 points at 2.00; the chairs are not touched
    assert (result.points_spent, result.discount) == (D(25), D("50.00"))
    assert result.lines[1].discount == 0


def test_price_floor_keeps_a_unit_price_above_it() -> None:
    # 50% off 3 × 100.00 would leave 50.00 a unit; the floor of 70.00 a unit keeps 210.00
    half = promo("half", {"reward": {"kind": "percent", "value": "50"}, "price_floor": "70.00"})
    result = run([goods_line(1, "x", 3), goods_line(2, "y", "0.5", price=D("200.00"))], [half])
    # line 2: 0.5 kg × 200.00 = 100.00, 50% = 50.00 would leave 50.00 ≥ 0.5 × 70.00 = 35.00
    assert [r.discount for r in result.lines] == [D("90.00"), D("50.00")]


_floored = st.fixed_dictionaries(
    {"group": st.sampled_from(["main", "g1"]),
     "receipt": st.fixed_dictionaries({"goods": _goods_set}),
     "reward": st.one_of(
         st.sampled_from(["10", "50", "100"]).map(lambda v: {"kind": "percent", "value": v}),
         st.sampled_from(["1.00", "80.00", "500.00"]).map(
             lambda v: {"kind": "fixed", "value": v, "per": "line"}),
         st.just({"kind": "fixed_price", "price": "1.00"}),
         st.just({"kind": "m_for_n", "n": 2, "m": 1}))},
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(
    st.lists(_floored, min_size=1, max_size=5),
    st.lists(_line, min_size=1, max_size=5),
    _groups,
    st.sampled_from(["0.00", "30.00", "99.99"]),
)
def test_no_line_goes_below_its_price_floor(
    rules: list[dict[str, Any]],
    lines: list[tuple[str, str, str, bool]],
    groups: list[dict[str, Any]],
    floor: str,
) -> None:
    """Whatever promotions combine (every group mode), a line keeps at least the price floor
    of the promotions (× its quantity), or its whole sum when that is less."""
    promotions = [promo(f"p{i}", {**r, "price_floor": floor}) for i, r in enumerate(rules)]
    receipt_lines = [
        goods_line(n + 1, goods, qty, price=D(price), no_discount=flag)
        for n, (goods, qty, price, flag) in enumerate(lines)
    ]
    result = run(receipt_lines, promotions, groups=groups)
    for line, source in zip(result.lines, receipt_lines, strict=True):
        lowest = min(source.amount, (D(floor) * source.quantity).quantize(D("0.01"), ROUND_HALF_UP))
        assert line.amount - line.discount >= lowest


def test_bonus_goods_lists_for_accrual_and_for_payment() -> None:
    lines = [
        goods_line(1, "milk", 1, group_ids=("dairy",)),
        goods_line(2, "beer", 1, group_ids=("alcohol",)),
        goods_line(3, "bread", 1, group_ids=("bakery",)),
    ]
    bonus = {
        "accrual_percent": "10", "max_payment_percent": "100",
        "accrual_goods": {"exclude_groups": ["alcohol"]},  # a black list: no points on beer
        "payment_goods": {"groups": ["dairy", "bakery"], "exclude_goods": ["bread"]},
    }  # fmt: skip
    result = run(lines, [], bonus=bonus, requested="500", balance="500")
    # bonus pays only for milk (the white list less its exclusion): 100.00
    assert [r.bonus_payment for r in result.lines] == [D("100.00"), 0, 0]
    # accrual 10% of what is paid in money, except on beer: milk 0, beer 0, bread 10.00
    assert [r.accrual for r in result.lines] == [0, 0, D("10.00")]
    assert result.max_bonus_payment == D("100.00")


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"receipt": {"payment": ["bitcoin"]}}, "rules.receipt.payment"),
        ({"receipt": {"goods": {"goods": ["g" * 81]}}}, "rules.receipt.goods.goods"),
    ],
)
def test_unknown_payment_kinds_and_overlong_ids_are_refused(
    rules: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidProgramRules) as refused:
        parse_promotion({**rules, "reward": {"kind": "percent", "value": "5"}})
    assert refused.value.details["field"] == field
