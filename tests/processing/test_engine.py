"""The pure calculation engine: worked examples and invariants (hypothesis)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processing.engine.calculate import calculate
from processing.engine.kopecks import split_line, spread
from processing.engine.model import (
    Balances,
    CustomerFacts,
    Receipt,
    ReceiptLine,
    Rules,
    result_from_json,
    result_to_json,
)
from processing.programs.rules import Level, parse_bonus_rules, parse_level_rules
from tests.factories import BONUS_RULES, LEVEL_RULES

D = Decimal
LEVELS = parse_level_rules(LEVEL_RULES)
BONUS = parse_bonus_rules(BONUS_RULES)
SILVER = LEVELS.by_code("silver")
RULES = Rules(levels=LEVELS, bonus=BONUS)
FULL = CustomerFacts(card_active=True, allowance="full", level=SILVER)


def line(number: int, quantity: str, amount: str, *, no_discount: bool = False) -> ReceiptLine:
    q, a = D(quantity), D(amount)
    return ReceiptLine(number, f"goods-{number}", q, (a / q).quantize(D("0.01")), a, no_discount)


def test_worked_example_discount_payment_accrual_and_split() -> None:
    receipt = Receipt(
        (line(1, "3", "300.00"), line(2, "1", "49.99"), line(3, "1", "200.00", no_discount=True)),
        requested_bonus=D("100.00"),
    )
    result = calculate(receipt, RULES, Balances(active=D("80.00")), FULL)
    l1, l2, l3 = result.lines
    assert (l1.discount, l2.discount, l3.discount) == (D("15.00"), D("2.50"), D("0.00"))
    assert result.max_bonus_payment == D("80.00")  # balance below the 50% cap of 332.49
    # 80.00 spread over 285.00 and 47.49: 68.57 + 11.43 (the leftover kopeck to the larger
    # fractional part); the no-discount line pays nothing.
    assert (l1.bonus_payment, l2.bonus_payment, l3.bonus_payment) == (
        D("68.57"), D("11.43"), D("0.00"),
    )  # fmt: skip
    assert (l1.final_amount, l2.final_amount, l3.final_amount) == (
        D("216.43"), D("36.06"), D("200.00"),
    )  # fmt: skip
    assert (l1.accrual, l2.accrual, l3.accrual) == (D("10.82"), D("1.80"), D("0.00"))
    assert [(p.quantity, p.price, p.amount) for p in l1.parts] == [
        (D(2), D("72.14"), D("144.28")),
        (D(1), D("72.15"), D("72.15")),
    ]
    assert result.final_amount == D("452.49") and result.accrual == D("12.62")
    assert result.amount - result.discount - result.bonus_payment == result.final_amount
    assert [e.rule for e in l1.explanations] == ["level_discount", "bonus_payment", "bonus_accrual"]


def test_accrual_rounds_half_up_per_line() -> None:
    rules = Rules(bonus=parse_bonus_rules({"accrual_percent": "1"}))
    receipt = Receipt((line(1, "1", "0.50"), line(2, "1", "0.50"), line(3, "1", "1.50")))
    result = calculate(receipt, rules, Balances(), CustomerFacts(True, "full"))
    # 0.5 kopeck → 1 kopeck on each line (half-even would give 0 and 2); never summed first.
    assert [r.accrual for r in result.lines] == [D("0.01"), D("0.01"), D("0.02")]
    assert result.accrual == D("0.04")


def test_weighed_goods_keep_the_sum_and_state_the_difference() -> None:
    receipt = Receipt((line(1, "0.347", "101.23"),))
    result = calculate(receipt, Rules(), Balances(), CustomerFacts(True, "full"))
    [part] = result.lines[0].parts
    assert (part.quantity, part.price, part.amount) == (D("0.347"), D("291.73"), D("101.23"))
    assert result.lines[0].price_difference == D("291.73") * D("0.347") - D("101.23")


@pytest.mark.parametrize(
    ("allowance", "discount", "payment", "accrual"),
    # The questionnaire policy restricts bonuses only: the level discount stays.
    [("full", True, True, True), ("accrual_only", True, False, True),
     ("nothing", True, False, False)],
)  # fmt: skip
def test_questionnaire_policy(allowance: str, discount: bool, payment: bool, accrual: bool) -> None:
    receipt = Receipt((line(1, "1", "1000.00"),), requested_bonus=D("100.00"))
    facts = CustomerFacts(card_active=True, allowance=allowance, level=SILVER)
    result = calculate(receipt, RULES, Balances(active=D("500.00")), facts)
    assert (result.discount > 0, result.bonus_payment > 0, result.accrual > 0) == (
        discount, payment, accrual,
    )  # fmt: skip
    assert (result.write_off_refusal is None) == payment


def test_inactive_card_gets_nothing_and_write_off_switch_is_respected() -> None:
    receipt = Receipt((line(1, "1", "1000.00"),), requested_bonus=D("10.00"))
    inactive = calculate(receipt, RULES, Balances(D("50.00")), CustomerFacts(False, "full", SILVER))
    assert (inactive.discount, inactive.bonus_payment, inactive.accrual) == (0, 0, 0)
    by_phone = CustomerFacts(
        True, "full", SILVER, level_discount_allowed=False, write_off_allowed=False,
        write_off_refusal="По телефону списание недоступно.",
    )  # fmt: skip
    result = calculate(receipt, RULES, Balances(D("50.00")), by_phone)
    assert (result.discount, result.bonus_payment) == (0, 0) and result.accrual == D("50.00")
    assert result.write_off_refusal == "По телефону списание недоступно."
    # Neither withheld reward is silent: the cashier is told, the line says what it would be.
    assert "По телефону списание недоступно." in result.cashier_messages
    assert "Скидка уровня не предоставляется." in result.cashier_messages
    [withheld] = [e for e in result.lines[0].explanations if e.rule == "level_discount_withheld"]
    assert withheld.amount == D("50.00")


def test_a_receipt_level_percent_is_taken_of_the_total_and_spread() -> None:
    receipt = Receipt((line(1, "1", "33.33"), line(2, "1", "33.33"), line(3, "1", "33.33")))
    gold = CustomerFacts(True, "full", LEVELS.by_code("gold"))  # 10%
    result = calculate(receipt, Rules(levels=LEVELS), Balances(), gold)
    # 10% of 99.99 is 10.00 (not 3 × 3.33 = 9.99); the leftover kopeck goes to line 1.
    assert result.discount == D("10.00") and result.final_amount == D("89.99")
    assert [r.discount for r in result.lines] == [D("3.34"), D("3.33"), D("3.33")]


def test_an_accrual_withheld_by_the_questionnaire_policy_says_why() -> None:
    receipt = Receipt((line(1, "1", "1000.00"), line(2, "1", "10.00", no_discount=True)))
    facts = CustomerFacts(card_active=True, allowance="nothing", level=SILVER)
    result = calculate(receipt, RULES, Balances(), facts)
    assert result.accrual == 0
    assert "Бонусы не начисляются: анкета покупателя не заполнена." in result.cashier_messages
    withheld = [e for e in result.lines[0].explanations if e.rule == "bonus_accrual_withheld"]
    assert [(e.amount, e.text) for e in withheld] == [
        (D("47.50"), "Бонусы не начисляются: анкета покупателя не заполнена.")
    ]  # 5% of 950.00 after the silver discount
    assert not result.lines[1].explanations  # nothing was due on the no-discount line
    facts = CustomerFacts(True, "full", SILVER, accrual_refusal="Бонусы этого чека уже сгорели.")
    result = calculate(receipt, RULES, Balances(), facts)
    assert result.accrual == 0 and "Бонусы этого чека уже сгорели." in result.cashier_messages


def test_a_payment_limited_by_the_program_cap_says_so() -> None:
    receipt = Receipt((line(1, "1", "100.00"),), requested_bonus=D("80.00"))
    result = calculate(receipt, RULES, Balances(active=D("500.00")), FULL)
    assert (result.max_bonus_payment, result.payment_limit) == (D("47.50"), "program_cap")
    assert "Бонусами можно оплатить не более 50% суммы чека: 47,50." in result.cashier_messages
    poor = calculate(receipt, RULES, Balances(active=D("20.00")), FULL)
    assert (poor.max_bonus_payment, poor.payment_limit) == (D("20.00"), "balance")
    assert "Недостаточно активных бонусов: доступно 20,00." in poor.cashier_messages


def test_an_untouched_weighed_line_keeps_its_shelf_price() -> None:
    weighed = ReceiptLine(1, "cheese", D("0.347"), D("459.00"), D("159.27"))
    result = calculate(Receipt((weighed,)), Rules(), Balances(), CustomerFacts(True, "full"))
    [part] = result.lines[0].parts
    assert (part.price, part.amount, result.lines[0].price_difference) == (
        D("459.00"), D("159.27"), D("0.003"),
    )  # fmt: skip
    discounted = calculate(Receipt((weighed,)), Rules(levels=LEVELS), Balances(), FULL)
    [part] = discounted.lines[0].parts  # 5% off: the price must change to match the sum
    assert (part.price, part.amount) == (D("436.05"), D("151.31"))


def test_spread_ties_go_to_larger_sum_then_lower_number() -> None:
    assert spread(1, [100, 100], [2, 1]) == [0, 1]
    assert spread(1, [100, 300], [1, 2]) == [0, 1]
    assert spread(2, [1, 1, 1], [3, 1, 2]) == [0, 1, 1]


@given(
    total=st.integers(0, 10**7),
    weights=st.lists(st.integers(0, 10**7), min_size=1, max_size=12),
)
def test_spread_adds_up_and_stays_within_weights(total: int, weights: list[int]) -> None:
    total = min(total, sum(weights))
    shares = spread(total, weights, list(range(len(weights))))
    assert sum(shares) == (total if sum(weights) else 0)
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))


@given(quantity=st.integers(1, 1000), amount=st.integers(0, 10**8))
def test_split_line_whole_quantities(quantity: int, amount: int) -> None:
    parts, difference = split_line(D(quantity), amount)
    assert sum(p.amount for p in parts) == amount and difference == 0
    assert sum(p.quantity for p in parts) == quantity
    assert all(p.amount == p.price * p.quantity for p in parts)
    assert max(p.price for p in parts) - min(p.price for p in parts) <= 1


lines_strategy = st.lists(
    st.tuples(
        st.one_of(st.integers(1, 20).map(D), st.decimals("0.001", "50", places=3)),
        st.integers(0, 5_000_000),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    specs=lines_strategy,
    level_pct=st.integers(0, 30),
    accrual_pct=st.integers(0, 20),
    max_pay_pct=st.integers(0, 100),
    active=st.integers(0, 10_000_000),
    requested=st.integers(0, 10_000_000),
)
def test_every_sum_adds_up_to_the_kopeck(
    specs: list[tuple[Decimal, int, bool]],
    level_pct: int,
    accrual_pct: int,
    max_pay_pct: int,
    active: int,
    requested: int,
) -> None:
    lines = tuple(
        ReceiptLine(i + 1, f"g{i}", q, D(0), D(a).scaleb(-2), nd)
        for i, (q, a, nd) in enumerate(specs)
    )
    level = Level("l", "L", D(0), D(level_pct))
    rules = Rules(
        bonus=parse_bonus_rules(
            {"accrual_percent": str(accrual_pct), "max_payment_percent": str(max_pay_pct)}
        )
    )
    result = calculate(
        Receipt(lines, D(requested).scaleb(-2)),
        rules,
        Balances(active=D(active).scaleb(-2)),
        CustomerFacts(True, "full", level),
    )
    assert result.bonus_payment <= result.max_bonus_payment <= D(active).scaleb(-2)
    assert result.bonus_payment == min(D(requested).scaleb(-2), result.max_bonus_payment)
    for source, r in zip(lines, result.lines, strict=True):
        assert r.amount - r.discount - r.bonus_payment == r.final_amount >= 0
        assert sum(p.amount for p in r.parts) == r.final_amount
        assert sum(p.quantity for p in r.parts) == source.quantity
        expected = (r.final_amount * accrual_pct / 100).quantize(D("0.01"), ROUND_HALF_UP)
        assert r.accrual == (D(0) if source.no_discount else expected)
        if source.no_discount:
            assert r.discount == r.bonus_payment == 0
        if source.quantity != source.quantity.to_integral_value():
            assert abs(r.price_difference) <= source.quantity / 200
    for total, field in [
        (result.amount, "amount"), (result.discount, "discount"),
        (result.bonus_payment, "bonus_payment"), (result.final_amount, "final_amount"),
        (result.accrual, "accrual"),
    ]:  # fmt: skip
        assert total == sum(getattr(r, field) for r in result.lines)


def test_stored_soft_result_is_the_asdict_form_and_reads_back() -> None:
    receipt = Receipt(
        (line(1, "3", "300.00"), line(2, "0.347", "159.27"), line(3, "1", "200.00",
                                                                  no_discount=True)),
        requested_bonus=D("100.00"),
    )  # fmt: skip
    result = calculate(receipt, RULES, Balances(active=D("80.00")), FULL)

    def as_json(value: object) -> object:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, tuple | list):
            return [as_json(item) for item in value]
        if isinstance(value, dict):
            return {key: as_json(item) for key, item in value.items()}
        return value

    assert result_to_json(result) == as_json(asdict(result))
    assert result_from_json(result_to_json(result)) == result
