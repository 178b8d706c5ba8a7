"""Returns that break a set: what the kept units of a receipt no longer earn from its set-based
promotions (M-for-N, a kit, "any N", a gift), kept back from the money a return refunds.

A return refunds each returned line's share of what was paid for it. When the units the customer
keeps fall short of the sets a set-based promotion was given for, they no longer earn all of its
discount: the part they no longer earn is withheld from the refund (never below zero), so that the
customer pays for the kept units at the price they now earn, as Manzana and Loymax do. 3 for 2 on
3 units of 100.00 (200.00 paid): returning one unit refunds 0.00, the other two later 200.00.

The state after a return says everything; nothing else is stored:

- ``returned_final``: what each line's returns refunded in money, and ``returned_quantity``;
- a line's proportional share of its final sum for ``r`` returned units, rounded half up
  (``cumulative_final``): what the line's returns would have refunded without any set, so
  ``Σ(cumulative_final − returned_final)`` is what is withheld so far;
- what the kept units no longer earn now (``excess``).

A return brings what is withheld to what the kept units no longer earn: it withholds more from
the lines it returns (never more than they refund) or refunds what is no longer owed, the
release going to the returned lines, each up to its full price less the bonus credited back. The
return that completes the receipt withholds nothing: every kopeck paid is refunded. Bonus paid
for the returned units is credited back by its share; the accrual taken back follows the money
actually refunded (``accrual_for_refund``).

A set-based reward depends only on the goods and their quantities: the promotion applied when the
receipt was sold, so its conditions that do not depend on the goods (time, customer, payment,
usage limits and budget) held then and are not checked again. The promotion versions the receipt
used (``receipt_promotions``) are evaluated each alone by the engine, with the original line
prices and sums, once on the units sold and once on the units kept: the kept units earn the share
``kept / sold`` of what the promotion gave (in a "multiply" group it gave less than alone, after a
percent; a budget may have cut it), against their proportional share of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.engine.kopecks import spread
from processing.engine.model import PromotionFacts
from processing.engine.model import ReceiptLine as EngineLine
from processing.engine.promotions import CardFacts, evaluate
from processing.money import from_kopecks, kopecks_text, proportional_share, to_kopecks
from processing.programs.models import Program, ProgramVersion
from processing.promotions.book import PromotionBook
from processing.promotions.models import ReceiptPromotion
from processing.promotions.rules import CustomerConditions, Limits, Promotion, When, parse_promotion
from processing.receipts.inputs import LineInput, ReceiptInput
from processing.receipts.models import ReceiptLine
from processing.receipts.rows import with_catalog
from processing.validation import InvalidProgramRules

ZERO = Decimal("0.00")
SET_REWARDS = frozenset({"m_for_n", "gift"})
WITHHELD = "promotion_withheld"  # the explanation rule of a return line
CARD_PRESENT = CardFacts(present=True, level_code=None)


def cumulative_final(line: ReceiptLine, returned: Decimal) -> Decimal:
    """The share of ``line``'s final sum that ``returned`` of its units refund without any set
    broken, rounded half up (all of it for all units): the same whatever steps they came in."""
    return proportional_share(
        line.final_amount, ZERO, returned, line.quantity, returned == line.quantity
    )


def is_set_based(promotion: Promotion) -> bool:
    """A discount given for whole sets of goods: M-for-N, a kit, "any N" units, a gift."""
    receipt = promotion.receipt
    return promotion.reward.is_discount and (
        promotion.reward.kind in SET_REWARDS or bool(receipt.kit) or receipt.any_of is not None
    )


@dataclass(frozen=True)
class SetPromotion:
    """A set-based promotion a receipt used, as evaluated again on a return, and what it gave
    on each line of the sale (kopecks, by line number)."""

    promotion: Promotion
    given: Mapping[int, int]

    @property
    def total(self) -> int:
        return sum(self.given.values())


def receipt_set_promotions(
    session: Session, receipt_id: int, lines: Sequence[ReceiptLine]
) -> list[SetPromotion]:
    """The set-based promotion versions the receipt used that gave a discount, with their
    goods-independent conditions taken as met (they held at the sale)."""
    rows = session.execute(
        select(ReceiptPromotion.version_id, ProgramVersion.rules, Program.code, Program.name)
        .join(ProgramVersion, ProgramVersion.id == ReceiptPromotion.version_id)
        .join(Program, Program.id == ProgramVersion.program_id)
        .where(ReceiptPromotion.receipt_id == receipt_id, ReceiptPromotion.discount > 0)
        .order_by(Program.code)
    ).all()
    found = []
    for version_id, rules, code, name in rows:
        try:
            promotion = parse_promotion(rules, code=code, name=name, version_id=version_id)
        except InvalidProgramRules:
            continue  # rules stored before a stricter check: returned by shares, as before
        if not is_set_based(promotion):
            continue
        given = {
            line.line_no: sum(
                (to_kopecks(Decimal(e["amount"])) for e in line.explanations
                 if e.get("rule") == "promotion" and e.get("promotion") == code),
                0,
            )
            for line in lines
        }  # fmt: skip
        found.append(SetPromotion(_goods_only(promotion), given))
    return [found_one for found_one in found if found_one.total > 0]


def _goods_only(promotion: Promotion) -> Promotion:
    """The promotion without the conditions that do not depend on the goods."""
    return replace(
        promotion,
        when=When(),
        customer=CustomerConditions(),
        receipt=replace(promotion.receipt, payment=frozenset()),
        limits=Limits(per_receipt=promotion.limits.per_receipt),
    )


@dataclass(frozen=True)
class Kept:
    """A sale line after a return: its units and sum the customer keeps."""

    line: ReceiptLine
    quantity: Decimal
    amount: Decimal


def excess(
    session: Session,
    tenant_id: int,
    promotions: Sequence[SetPromotion],
    kept: Sequence[Kept],
    sold_at: datetime,
) -> dict[str, int]:
    """Per promotion code, the kopecks of its discount the kept units no longer earn: their
    proportional share of what it gave, less what they earn — what it gave × what it gives on
    the kept units / what it gives on the units sold, evaluated alone at ``sold_at`` (the sale's
    wall clock in its store)."""
    if not promotions:
        return {}
    sold = _engine_lines(session, tenant_id, [Kept(k.line, k.line.quantity, k.line.amount)
                                              for k in kept])  # fmt: skip
    left = [k for k in kept if k.quantity > 0]
    keeping = _engine_lines(session, tenant_id, left)
    found = {}
    for item in promotions:
        book = PromotionBook([item.promotion])
        on_sold = _discount(book, item.promotion.code, sold, sold_at)
        kept_share = sum(
            given - to_kopecks(_returned_share(from_kopecks(given), k))
            for k in kept
            if (given := item.given.get(k.line.line_no, 0))
        )
        if on_sold <= 0 or kept_share <= 0:
            continue
        on_kept = _discount(book, item.promotion.code, keeping, sold_at)
        earned = min(item.total, _half_up(Decimal(item.total) * on_kept / on_sold))
        if kept_share > earned:
            found[item.promotion.code] = kept_share - earned
    return found


def _returned_share(given: Decimal, kept: Kept) -> Decimal:
    returned = kept.line.quantity - kept.quantity
    return proportional_share(given, ZERO, returned, kept.line.quantity, kept.quantity == 0)


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


_EngineLines = tuple[tuple[EngineLine, ...], list[int]]


def _engine_lines(session: Session, tenant_id: int, kept: Sequence[Kept]) -> _EngineLines:
    """The engine's lines for the units given, with their original prices and the catalog's
    facts of their goods (as a sale is calculated), and their sums in kopecks."""
    inputs = tuple(
        LineInput(
            number=k.line.line_no, goods_id=k.line.goods_id, quantity=k.quantity,
            price=k.line.price, amount=k.amount, no_discount=k.line.no_discount,
            barcode=k.line.barcode, no_accrual=k.line.no_accrual,
        )
        for k in kept
    )  # fmt: skip
    receipt = ReceiptInput(cashier_code="", shift="", number="", lines=inputs)
    return with_catalog(session, tenant_id, receipt).lines, [to_kopecks(k.amount) for k in kept]


def _discount(book: PromotionBook, code: str, lines: _EngineLines, sold_at: datetime) -> int:
    engine_lines, amounts = lines
    if not engine_lines:
        return 0
    stage = evaluate(
        engine_lines,
        amounts,
        book,
        PromotionFacts(local_time=sold_at),
        CARD_PRESENT,
        lambda current, _factor: [0] * len(current),
    )
    return sum(
        to_kopecks(outcome.discount)
        for outcome in stage.outcomes
        if outcome.applied and outcome.code == code
    )


@dataclass(frozen=True)
class Refund:
    """A returned line's proportional share, before any set is considered."""

    line_no: int
    amount: Decimal
    payment: Decimal
    final: Decimal  # cumulative_final after the return less before it


@dataclass(frozen=True)
class SetRefunds:
    """What a return refunds in money on each of its lines, and why it differs from the shares:
    per line the kopecks withheld by promotion (code, title, kopecks), and the notes."""

    finals: tuple[Decimal, ...]
    withheld: tuple[tuple[tuple[str, str, Decimal], ...], ...]
    notes: tuple[str, ...]


def set_refunds(
    refunds: Sequence[Refund],
    withheld_before: Decimal,
    owed: Mapping[str, int],
    titles: Mapping[str, str],
    *,
    complete: bool,
) -> SetRefunds:
    """The money each returned line refunds: ``withheld_before`` brought to what the kept units
    ``owed`` by promotion code (kopecks) — more withheld from the lines' shares (never below
    zero), or released onto them (each up to its sum less the bonus credited back; all of it
    when the return is ``complete``)."""
    base = [to_kopecks(r.final) for r in refunds]
    numbers = [r.line_no for r in refunds]
    change = sum(owed.values()) - to_kopecks(withheld_before)
    finals = list(base)
    withheld: list[list[tuple[str, str, Decimal]]] = [[] for _ in refunds]
    notes = []
    if change > 0:
        taken = spread(min(change, sum(base)), base, numbers)
        codes = sorted(owed)
        by_code = [0] * len(codes)
        for i, kopecks in enumerate(taken):
            finals[i] -= kopecks
            parts = spread(kopecks, [owed[c] for c in codes], list(range(len(codes))))
            for j, (code, part) in enumerate(zip(codes, parts, strict=True)):
                if part:
                    withheld[i].append((code, titles[code], from_kopecks(part)))
                    by_code[j] += part
        notes = [
            f"Возврат нарушил условие акции «{titles[code]}»: скидка {kopecks_text(kopecks)} ₽ "
            "удержана из суммы возврата."
            for code, kopecks in zip(codes, by_code, strict=True)
            if kopecks
        ]
    elif change < 0:
        room = [
            max(0, to_kopecks(r.amount - r.payment) - b) for r, b in zip(refunds, base, strict=True)
        ]
        released = -change if complete else min(-change, sum(room))
        weights = room if sum(room) else [to_kopecks(r.amount) or 1 for r in refunds]
        for i, kopecks in enumerate(spread(released, weights, numbers)):
            finals[i] += kopecks
        if released and titles:
            named = ", ".join(f"«{titles[code]}»" for code in sorted(titles))
            which = f"акции {named}" if len(titles) == 1 else f"акциям {named}"
            notes = [f"Возвращена удержанная ранее скидка по {which}: {kopecks_text(released)} ₽."]
    return SetRefunds(
        tuple(from_kopecks(f) for f in finals), tuple(tuple(w) for w in withheld), tuple(notes)
    )


def accrual_for_refund(share: Decimal, base: Decimal, refunded: Decimal, left: Decimal,
                       last: bool) -> Decimal:  # fmt: skip
    """The accrual a returned line takes back: its ``share`` of the line's accrual, scaled by
    the money ``refunded`` against the line's proportional ``base`` refund; never more than is
    ``left``, and all that is left on the line's last return."""
    if last or refunded == base or base <= 0:
        return share
    scaled = (share * refunded / base).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return min(scaled, left)
