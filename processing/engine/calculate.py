"""``calculate``: level discount, bonus payment and bonus accrual for one receipt.

Order: the level discount is a percent of each eligible line, rounded half-up per line; the
bonus payment (capped by the program's percent of the discounted eligible sum and by the active
balance) is spread over eligible lines by largest remainder; accrual is the level's percent of
the money actually paid on each eligible line, rounded half-up per line. All arithmetic is in
integer kopecks, so every set of sums adds up exactly.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from processing.engine.kopecks import split_line, spread
from processing.engine.model import (
    Balances,
    CustomerFacts,
    Explanation,
    LinePart,
    LineResult,
    Receipt,
    ReceiptLine,
    Result,
    Rules,
)
from processing.money import from_kopecks, to_kopecks

HUNDRED = Decimal(100)


def _percent_of(kopecks: int, percent: Decimal, rounding: str = ROUND_HALF_UP) -> int:
    return int((Decimal(kopecks) * percent / HUNDRED).quantize(Decimal(1), rounding=rounding))


def _money(kopecks: int) -> Decimal:
    return from_kopecks(kopecks)


def _fmt(kopecks: int) -> str:
    return f"{_money(kopecks):.2f}".replace(".", ",")


def _check(receipt: Receipt) -> None:
    numbers = [line.number for line in receipt.lines]
    if len(set(numbers)) != len(numbers):
        raise ValueError("line numbers must be unique")
    for line in receipt.lines:
        if line.quantity <= 0 or line.amount < 0:
            raise ValueError(f"line {line.number}: quantity must be > 0 and amount >= 0")
    if receipt.requested_bonus < 0:
        raise ValueError("requested bonus must be >= 0")


def _level_discounts(
    lines: tuple[ReceiptLine, ...], amounts: list[int], facts: CustomerFacts
) -> list[int]:
    level = facts.level
    if (
        level is None
        or level.discount_percent <= 0
        or facts.allowance != "full"
        or not facts.level_discount_allowed
        or not facts.card_active
    ):
        return [0] * len(lines)
    return [
        0 if line.no_discount else _percent_of(amount, level.discount_percent)
        for line, amount in zip(lines, amounts, strict=True)
    ]


def write_off_refusal(rules: Rules, facts: CustomerFacts) -> str | None:
    """Why this customer may not pay with bonus under these rules (None: they may)."""
    if rules.bonus is None or rules.bonus.max_payment_percent <= 0:
        return "Оплата бонусами не предусмотрена программой."
    if not facts.card_active:
        return "Карта не активна."
    if facts.allowance != "full":
        return "Оплата бонусами доступна после заполнения анкеты и согласия на обработку данных."
    if not facts.write_off_allowed:
        return facts.write_off_refusal or "Оплата бонусами недоступна."
    return None


def calculate(receipt: Receipt, rules: Rules, balances: Balances, facts: CustomerFacts) -> Result:
    _check(receipt)
    lines = receipt.lines
    amounts = [to_kopecks(line.amount) for line in lines]
    discounts = _level_discounts(lines, amounts, facts)
    after_discount = [a - d for a, d in zip(amounts, discounts, strict=True)]
    eligible = [
        not line.no_discount and a > 0 for line, a in zip(lines, after_discount, strict=True)
    ]

    refusal = write_off_refusal(rules, facts)
    max_payment = 0
    if refusal is None and rules.bonus is not None:
        base = sum(a for a, ok in zip(after_discount, eligible, strict=True) if ok)
        cap = _percent_of(base, rules.bonus.max_payment_percent, ROUND_FLOOR)
        max_payment = max(min(cap, to_kopecks(balances.active)), 0)
    payment = min(to_kopecks(receipt.requested_bonus), max_payment)
    eligible_idx = [i for i, ok in enumerate(eligible) if ok]
    shares = spread(
        payment,
        [after_discount[i] for i in eligible_idx],
        [lines[i].number for i in eligible_idx],
    )
    payments = [0] * len(lines)
    for i, share in zip(eligible_idx, shares, strict=True):
        payments[i] = share
    finals = [a - p for a, p in zip(after_discount, payments, strict=True)]

    accrual_percent = Decimal(0)
    if (
        rules.bonus is not None
        and facts.card_active
        and facts.allowance in ("full", "accrual_only")
    ):
        accrual_percent = rules.bonus.accrual_percent(facts.level.code if facts.level else None)
    accrue_all = rules.bonus is not None and rules.bonus.accrue_on_no_discount_lines
    accruals = [
        _percent_of(final, accrual_percent) if (accrue_all or not line.no_discount) else 0
        for line, final in zip(lines, finals, strict=True)
    ]

    results = tuple(
        _line_result(line, amounts[i], discounts[i], payments[i], finals[i], accruals[i], facts,
                     accrual_percent)
        for i, line in enumerate(lines)
    )  # fmt: skip
    total_accrual = sum(accruals)
    cashier = []
    if payment:
        cashier.append(f"Оплата бонусами: {_fmt(payment)}.")
    if total_accrual:
        cashier.append(f"Будет начислено бонусов: {_fmt(total_accrual)}.")
    customer = (
        [f"Ваша скидка по уровню «{facts.level.name}»."] if any(discounts) and facts.level else []
    )
    return Result(
        lines=results,
        amount=_money(sum(amounts)),
        discount=_money(sum(discounts)),
        bonus_payment=_money(payment),
        final_amount=_money(sum(finals)),
        accrual=_money(total_accrual),
        max_bonus_payment=_money(max_payment),
        write_off_refusal=refusal,
        cashier_messages=tuple(cashier),
        customer_messages=tuple(customer),
    )


def _line_result(
    line: ReceiptLine,
    amount: int,
    discount: int,
    payment: int,
    final: int,
    accrual: int,
    facts: CustomerFacts,
    accrual_percent: Decimal,
) -> LineResult:
    parts, difference = split_line(line.quantity, final)
    explanations = []
    if discount and facts.level:
        explanations.append(
            Explanation(
                "level_discount",
                _money(discount),
                f"Скидка уровня «{facts.level.name}» {facts.level.discount_percent}%",
            )
        )
    if payment:
        explanations.append(Explanation("bonus_payment", _money(payment), "Оплата бонусами"))
    if accrual:
        explanations.append(
            Explanation("bonus_accrual", _money(accrual), f"Начисление {accrual_percent}%")
        )
    return LineResult(
        number=line.number,
        amount=_money(amount),
        discount=_money(discount),
        bonus_payment=_money(payment),
        final_amount=_money(final),
        accrual=_money(accrual),
        parts=tuple(
            LinePart(part.quantity, _money(part.price), _money(part.amount)) for part in parts
        ),
        price_difference=difference.scaleb(-2),
        explanations=tuple(explanations),
    )
