"""``calculate``: level discount, bonus payment and bonus accrual for one receipt.

Order: the level discount is a percent of the receipt's eligible total, rounded half-up once and
spread over the eligible lines by largest remainder; the bonus payment (capped by the program's
percent of the discounted eligible sum and by the active balance) is spread the same way; accrual
is the level's percent of the money actually paid on each eligible line, rounded half-up per line.
All arithmetic is in integer kopecks, so every set of sums adds up exactly.

The questionnaire policy restricts bonuses only (accrual, payment); the level discount does not
depend on it. A reward that a policy withholds is never silent: the cashier gets the reason, and
each line it would have applied to says what was withheld and why.
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
QUESTIONNAIRE_ACCRUAL = "Бонусы не начисляются: анкета покупателя не заполнена."
PROGRAM_CAP = "program_cap"
BALANCE = "balance"


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


def _spread_over(total: int, lines: tuple[ReceiptLine, ...], weights: list[int],
                 eligible: list[bool]) -> list[int]:  # fmt: skip
    """``total`` kopecks over the eligible lines by largest remainder; 0 on the others."""
    chosen = [i for i, ok in enumerate(eligible) if ok]
    shares = spread(total, [weights[i] for i in chosen], [lines[i].number for i in chosen])
    placed = [0] * len(lines)
    for i, share in zip(chosen, shares, strict=True):
        placed[i] = share
    return placed


def _level_discounts(
    lines: tuple[ReceiptLine, ...], amounts: list[int], facts: CustomerFacts
) -> list[int]:
    """The level's percent of the eligible total, spread by largest remainder."""
    level = facts.level
    if level is None or level.discount_percent <= 0 or not facts.card_active:
        return [0] * len(lines)
    eligible = [not line.no_discount and a > 0 for line, a in zip(lines, amounts, strict=True)]
    base = sum(a for a, ok in zip(amounts, eligible, strict=True) if ok)
    return _spread_over(_percent_of(base, level.discount_percent), lines, amounts, eligible)


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


def accrual_refusal(rules: Rules, facts: CustomerFacts) -> str | None:
    """Why a policy withholds the accrual this program would give (None: it does not)."""
    if rules.bonus is None or not facts.card_active:
        return None
    if facts.accrual_refusal:
        return facts.accrual_refusal
    if facts.allowance == "nothing":
        return QUESTIONNAIRE_ACCRUAL
    return None


def _max_payment(
    rules: Rules, balances: Balances, base: int, refusal: str | None
) -> tuple[int, str | None]:
    if refusal is not None or rules.bonus is None:
        return 0, None
    cap = _percent_of(base, rules.bonus.max_payment_percent, ROUND_FLOOR)
    active = to_kopecks(balances.active)
    if cap <= active:
        return max(cap, 0), PROGRAM_CAP
    return max(active, 0), BALANCE


def calculate(receipt: Receipt, rules: Rules, balances: Balances, facts: CustomerFacts) -> Result:
    _check(receipt)
    lines = receipt.lines
    amounts = [to_kopecks(line.amount) for line in lines]
    level_discounts = _level_discounts(lines, amounts, facts)
    discount_withheld = None
    if not facts.level_discount_allowed:
        discount_withheld = facts.level_discount_refusal or "Скидка уровня не предоставляется."
    withheld_discounts = level_discounts if discount_withheld and any(level_discounts) else None
    discounts = [0] * len(lines) if withheld_discounts else level_discounts
    after_discount = [a - d for a, d in zip(amounts, discounts, strict=True)]
    eligible = [
        not line.no_discount and a > 0 for line, a in zip(lines, after_discount, strict=True)
    ]

    refusal = write_off_refusal(rules, facts)
    base = sum(a for a, ok in zip(after_discount, eligible, strict=True) if ok)
    max_payment, payment_limit = _max_payment(rules, balances, base, refusal)
    payment = min(to_kopecks(receipt.requested_bonus), max_payment)
    payments = _spread_over(payment, lines, after_discount, eligible)
    finals = [a - p for a, p in zip(after_discount, payments, strict=True)]

    accrual_percent = Decimal(0)
    if rules.bonus is not None and facts.card_active:
        accrual_percent = rules.bonus.accrual_percent(facts.level.code if facts.level else None)
    accrue_all = rules.bonus is not None and rules.bonus.accrue_on_no_discount_lines
    accruals = [
        _percent_of(final, accrual_percent) if (accrue_all or not line.no_discount) else 0
        for line, final in zip(lines, finals, strict=True)
    ]
    accrual_withheld = accrual_refusal(rules, facts) if any(accruals) else None
    withheld_accruals = accruals if accrual_withheld else None
    if accrual_withheld:
        accruals = [0] * len(lines)

    results = tuple(
        _line_result(
            line, amounts[i], discounts[i], payments[i], finals[i], accruals[i], facts,
            accrual_percent,
            withheld=(
                ([("level_discount_withheld", withheld_discounts[i], str(discount_withheld))]
                 if withheld_discounts and withheld_discounts[i] else [])
                + ([("bonus_accrual_withheld", withheld_accruals[i], str(accrual_withheld))]
                   if withheld_accruals and withheld_accruals[i] else [])
            ),
        )
        for i, line in enumerate(lines)
    )  # fmt: skip
    total_accrual = sum(accruals)
    requested = to_kopecks(receipt.requested_bonus)
    cashier = []
    if payment:
        cashier.append(f"Оплата бонусами: {_fmt(payment)}.")
    if requested > max_payment and refusal is not None:
        cashier.append(refusal)
    elif requested > max_payment and payment_limit == PROGRAM_CAP and rules.bonus is not None:
        percent = rules.bonus.max_payment_percent.normalize()
        cashier.append(
            f"Бонусами можно оплатить не более {percent:f}% суммы чека: {_fmt(max_payment)}."
        )
    elif requested > max_payment:
        cashier.append(f"Недостаточно активных бонусов: доступно {_fmt(max_payment)}.")
    if total_accrual:
        cashier.append(f"Будет начислено бонусов: {_fmt(total_accrual)}.")
    if withheld_discounts and discount_withheld:
        cashier.append(discount_withheld)
    if withheld_accruals and accrual_withheld:
        cashier.append(accrual_withheld)
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
        payment_limit=payment_limit,
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
    withheld: list[tuple[str, int, str]],
) -> LineResult:
    parts, difference = split_line(line.quantity, final, to_kopecks(line.price))
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
    explanations.extend(
        Explanation(rule, _money(kopecks), text) for rule, kopecks, text in withheld
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
