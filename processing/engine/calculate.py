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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from processing.engine.kopecks import printed_parts, spread
from processing.engine.model import (
    ZERO,
    Balances,
    CustomerFacts,
    Explanation,
    ExtraBonus,
    LinePart,
    LineResult,
    PromotionFacts,
    PromotionOutcome,
    Receipt,
    ReceiptLine,
    Result,
    Rules,
    StampCard,
)
from processing.engine.promotions import CardFacts, Stage, evaluate
from processing.money import from_kopecks, kopecks_text, to_kopecks
from processing.promotions.book import PromotionBook
from processing.promotions.rules import GoodsSet, Promotion

HUNDRED = Decimal(100)
QUESTIONNAIRE_ACCRUAL = "Бонусы не начисляются: анкета покупателя не заполнена."
UNKNOWN_GOODS = "Товара нет в каталоге: акции по данным строки чека."
PROGRAM_CAP = "program_cap"
BALANCE = "balance"


def _percent_of(kopecks: int, percent: Decimal, rounding: str = ROUND_HALF_UP) -> int:
    return int((Decimal(kopecks) * percent / HUNDRED).quantize(Decimal(1), rounding=rounding))


def _money(kopecks: int) -> Decimal:
    return from_kopecks(kopecks)


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
    lines: tuple[ReceiptLine, ...],
    amounts: list[int],
    facts: CustomerFacts,
    factor: Decimal = Decimal(1),
) -> list[int]:
    """The level's percent (× ``factor``: a level multiplier) of the eligible total, spread by
    largest remainder."""
    level = facts.level
    if level is None or level.discount_percent <= 0 or not facts.card_active:
        return [0] * len(lines)
    eligible = [not line.no_discount and a > 0 for line, a in zip(lines, amounts, strict=True)]
    base = sum(a for a, ok in zip(amounts, eligible, strict=True) if ok)
    percent = level.discount_percent * factor
    return _spread_over(_percent_of(base, percent), lines, amounts, eligible)


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


def _promotions(
    lines: tuple[ReceiptLine, ...],
    amounts: list[int],
    rules: Rules,
    facts: CustomerFacts,
    promotion_facts: PromotionFacts | None,
    level_allowed: bool,
) -> Stage | None:
    if rules.promotions is None or not len(rules.promotions) or promotion_facts is None:
        return None
    card = CardFacts(facts.card_active, facts.level.code if facts.level else None)

    def level(current: list[int], factor: Decimal) -> list[int]:
        if not level_allowed:
            return [0] * len(lines)
        return _level_discounts(lines, current, facts, factor)

    return evaluate(lines, amounts, rules.promotions, promotion_facts, card, level)


def calculate(
    receipt: Receipt,
    rules: Rules,
    balances: Balances,
    facts: CustomerFacts,
    promotion_facts: PromotionFacts | None = None,
) -> Result:
    """The receipt's discounts, bonus payment and accrual; promotions apply when ``rules``
    carry some and ``promotion_facts`` say when and for whom (``engine.promotions``)."""
    _check(receipt)
    lines = receipt.lines
    amounts = [to_kopecks(line.amount) for line in lines]
    level_discounts = _level_discounts(lines, amounts, facts)
    discount_withheld = None
    if not facts.level_discount_allowed:
        discount_withheld = facts.level_discount_refusal or "Скидка уровня не предоставляется."
    withheld_discounts = level_discounts if discount_withheld and any(level_discounts) else None
    stage = _promotions(lines, amounts, rules, facts, promotion_facts, not discount_withheld)
    if stage is not None:
        discounts, level_shares, locked = stage.discounts, stage.level, stage.locked
    else:
        discounts = [0] * len(lines) if withheld_discounts else level_discounts
        level_shares, locked = discounts, [0] * len(lines)
    after_discount = [a - d for a, d in zip(amounts, discounts, strict=True)]
    payable = [a - k for a, k in zip(after_discount, locked, strict=True)]
    payment_goods = rules.bonus.payment_goods if rules.bonus is not None else None
    eligible = [
        not line.no_discount and not line.no_bonus_payment and a > 0
        and _in_set(payment_goods, line)
        for line, a in zip(lines, payable, strict=True)
    ]  # fmt: skip

    refusal = write_off_refusal(rules, facts)
    base = sum(a for a, ok in zip(payable, eligible, strict=True) if ok)
    max_payment, payment_limit = _max_payment(rules, balances, base, refusal)
    payment = min(to_kopecks(receipt.requested_bonus), max_payment)
    conversion = None
    if stage is not None and stage.conversions and refusal is None and rules.promotions:
        # While a conversion applies, points are spent through it alone, at its rate.
        cap = _percent_of(base, rules.bonus.max_payment_percent, ROUND_FLOOR)  # type: ignore[union-attr]
        conversion = _conversion(
            stage.conversions, rules.promotions, lines, stage.masks, payable, eligible,
            cap, balances.active, receipt.requested_bonus,
        )  # fmt: skip
        payment = 0
    if conversion is not None and conversion.points:
        for i, share in enumerate(conversion.shares):
            if share:
                discounts[i] += share
                after_discount[i] -= share
                stage.promotions[i].append((conversion.promotion, share))  # type: ignore[union-attr]
    payments = _spread_over(payment, lines, payable, eligible)
    finals = [a - p for a, p in zip(after_discount, payments, strict=True)]

    accrual_percent = Decimal(0)
    if rules.bonus is not None and facts.card_active:
        accrual_percent = rules.bonus.accrual_percent(facts.level.code if facts.level else None)
    accrue_all = rules.bonus is not None and rules.bonus.accrue_on_no_discount_lines
    accrual_goods = rules.bonus.accrual_goods if rules.bonus is not None else None
    multipliers = stage.multipliers if stage is not None else [Decimal(1)] * len(lines)
    line_percents = [accrual_percent * factor for factor in multipliers]
    accruals = [
        _percent_of(final, percent)
        if (accrue_all or not line.no_discount)
        and not line.no_accrual
        and _in_set(accrual_goods, line)
        else 0
        for line, final, percent in zip(lines, finals, line_percents, strict=True)
    ]
    extra = _extra_bonuses(
        stage, lines, finals, rules, facts, promotion_facts.budget_left if promotion_facts else {}
    )
    accrual_withheld = accrual_refusal(rules, facts) if any(accruals) or extra else None
    withheld_accruals = accruals if accrual_withheld else None
    if accrual_withheld:
        accruals = [0] * len(lines)
        extra = ()

    results = tuple(
        _line_result(
            line, amounts[i], discounts[i], payments[i], finals[i], accruals[i], facts,
            line_percents[i], level_shares[i],
            stage.promotions[i] if stage is not None else (),
            stage.gifts[i] if stage is not None else 0, locked[i],
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
        cashier.append(f"Оплата бонусами: {kopecks_text(payment)}.")
    if conversion is not None:
        cashier.append(conversion.message)
    elif requested > max_payment and refusal is not None:
        cashier.append(refusal)
    elif requested > max_payment and payment_limit == PROGRAM_CAP and rules.bonus is not None:
        percent = rules.bonus.max_payment_percent.normalize()
        most = kopecks_text(max_payment)
        cashier.append(f"Бонусами можно оплатить не более {percent:f}% суммы чека: {most}.")
    elif requested > max_payment:
        cashier.append(f"Недостаточно активных бонусов: доступно {kopecks_text(max_payment)}.")
    if total_accrual:
        cashier.append(f"Будет начислено бонусов: {kopecks_text(total_accrual)}.")
    if withheld_discounts and discount_withheld:
        cashier.append(discount_withheld)
    if withheld_accruals and accrual_withheld:
        cashier.append(accrual_withheld)
    customer = (
        [f"Ваша скидка по уровню «{facts.level.name}»."]
        if any(level_shares) and facts.level
        else []
    )
    if stage is not None:
        customer.extend(f"Акция «{o.name}»." for o in stage.outcomes if o.applied)
        customer.extend(_stamp_text(card) for card in stage.stamps)
    if conversion is not None and conversion.points:
        max_payment = conversion.max_points * 100
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
        promotions=_outcomes(stage, extra, conversion),
        hints=tuple(stage.hints) if stage is not None else (),
        extra_bonuses=extra,
        stamps=tuple(stage.stamps) if stage is not None else (),
        points_spent=_money(conversion.points * 100 if conversion else 0),
        conversion=conversion.promotion.code if conversion and conversion.points else None,
    )


def _in_set(goods_set: GoodsSet | None, line: ReceiptLine) -> bool:
    """Whether a line is in a bonus program's goods list (none: every line is)."""
    return goods_set is None or goods_set.covers(
        line.goods_id, line.group_ids, line.brand_id, line.supplier_id, to_kopecks(line.price)
    )


def _stamp_text(card: StampCard) -> str:
    free = f"бесплатно {card.redeemed} шт. " if card.redeemed else ""
    return f"Акция «{card.name}»: {free}штампов {card.after % card.every} из {card.every}."


@dataclass(frozen=True)
class _Conversion:
    """A bonus conversion as applied: whole ``points`` spent for a discount of ``shares``
    (kopecks per line), the most it could take (``max_points``) and what the cashier sees."""

    promotion: Promotion
    points: int
    max_points: int
    shares: list[int]
    message: str


def _conversion(
    candidates: list[Promotion],
    book: PromotionBook,
    lines: tuple[ReceiptLine, ...],
    masks: list[int],
    payable: list[int],
    eligible: list[bool],
    cap: int,
    active: Decimal,
    requested: Decimal,
) -> _Conversion:
    """Points paid for a discount at a rate (the best rate of the applicable conversions):
    whole points, in multiples of the step, at most those asked and those active, for a
    discount within the program's cap of bonus payment (``cap``, kopecks) and the target
    goods' payable sums."""
    promotion = min(candidates, key=lambda p: (-p.reward.rate, p.priority, p.code))
    reward = promotion.reward
    bit = 1 << book.set_id(reward.target or promotion.receipt.goods)
    targets = [ok and bool(mask & bit) for ok, mask in zip(eligible, masks, strict=True)]
    room = min(cap, sum(a for a, ok in zip(payable, targets, strict=True) if ok))
    rate = reward.rate
    # Whole points the room takes and the balance has, in multiples of the step.
    most = max(0, min(int(Decimal(room) / (rate * HUNDRED)), int(active)))
    most -= most % reward.step
    asked = int(requested)  # whole points
    points = min(asked, most)
    points -= points % reward.step
    shares = [0] * len(payable)
    rate_text = f"{rate.normalize():f}".replace(".", ",")
    if points <= 0:
        why = (
            f"Баллы списываются кратно {reward.step}: можно списать до {most}."
            if most > 0
            else "Баллов недостаточно для списания по акции."
        )
        message = f"Акция «{promotion.title}» ({rate_text} ₽ за балл): {why}"
        return _Conversion(promotion, 0, max(most, 0), shares, message)
    # half up: a value within the room (whole kopecks) never rounds above it
    discount = int((Decimal(points) * rate * HUNDRED).quantize(Decimal(1), ROUND_HALF_UP))
    shares = _spread_over(discount, lines, payable, targets)
    message = (
        f"Акция «{promotion.title}»: списано {points} балл. по {rate_text} ₽ — "
        f"скидка {kopecks_text(discount)}."
    )
    return _Conversion(promotion, points, most, shares, message)


def _outcomes(
    stage: Stage | None, extra: tuple[ExtraBonus, ...], conversion: _Conversion | None
) -> tuple[PromotionOutcome, ...]:
    """The stage's outcomes, the campaign points as applied promotions with their bonus, and
    the bonus conversion (applied with its discount, or not with the reason)."""
    if stage is None:
        return ()
    points = {e.promotion: e.amount for e in extra}
    given = [
        PromotionOutcome(p.code, p.title, True, bonus=points[p.code], version_id=p.version_id)
        for p in stage.extra
        if p.code in points
    ]
    if conversion is not None:
        p = conversion.promotion
        given.append(
            PromotionOutcome(p.code, p.title, True, _money(sum(conversion.shares)),
                             version_id=p.version_id)
            if conversion.points
            else PromotionOutcome(p.code, p.title, False, reason=conversion.message,
                                  version_id=p.version_id)
        )  # fmt: skip
    return (*stage.outcomes, *given)


def _extra_bonuses(
    stage: Stage | None,
    lines: Sequence[ReceiptLine],
    finals: list[int],
    rules: Rules,
    facts: CustomerFacts,
    budget_left: Mapping[str, int],
) -> tuple[ExtraBonus, ...]:
    """Campaign points of the applicable extra-bonus promotions: points per receipt, or a
    percent of what was paid on the target goods (lines the POS marks as earning nothing left
    out), rounded half-up; within what is left of the
    promotion's budget."""
    if stage is None or not stage.extra or not facts.card_active:
        return ()
    found = []
    for promotion in stage.extra:
        reward = promotion.reward
        amount = reward.amount
        if reward.percent:
            bit = 1 << rules.promotions.set_id(  # type: ignore[union-attr]
                reward.target if reward.target is not None else promotion.receipt.goods
            )
            paid = sum(
                f
                for f, mask, line in zip(finals, stage.masks, lines, strict=True)
                if mask & bit and not line.no_accrual
            )
            amount = _percent_of(paid, reward.percent)
        amount = min(amount, max(0, budget_left.get(promotion.code, amount)))
        if amount:
            found.append(
                ExtraBonus(
                    promotion.code,
                    _money(amount),
                    reward.activation_delay_days,
                    reward.lifetime_days,
                )
            )
    return tuple(found)


def _line_result(
    line: ReceiptLine,
    amount: int,
    discount: int,
    payment: int,
    final: int,
    accrual: int,
    facts: CustomerFacts,
    accrual_percent: Decimal,
    level_share: int,
    promotions: Sequence[tuple[Promotion, int]],
    gifts: int,
    locked: int,
    withheld: list[tuple[str, int, str]],
) -> LineResult:
    parts, difference = printed_parts(
        line.quantity, final, None if gifts else to_kopecks(line.price), gifts, locked
    )
    explanations = []
    if level_share and facts.level:
        explanations.append(
            Explanation(
                "level_discount",
                _money(level_share),
                f"Скидка уровня «{facts.level.name}» {facts.level.discount_percent}%",
            )
        )
    for promotion, kopecks in promotions:
        text = promotion.title
        if promotion.reward.kind == "gift" and gifts:
            text = f"{text}: подарок {gifts} шт."
        explanations.append(Explanation("promotion", _money(kopecks), text, promotion.code))
    if payment:
        explanations.append(Explanation("bonus_payment", _money(payment), "Оплата бонусами"))
    if accrual:
        explanations.append(
            Explanation("bonus_accrual", _money(accrual), f"Начисление {accrual_percent}%")
        )
    explanations.extend(
        Explanation(rule, _money(kopecks), text) for rule, kopecks, text in withheld
    )
    if not line.known:
        explanations.append(Explanation("unknown_goods", ZERO, UNKNOWN_GOODS))
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
        gift_quantity=Decimal(gifts),
        gift_amount=_money(locked),
    )
