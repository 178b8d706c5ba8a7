"""What a receipt is calculated with and stored as: its rules, the engine's input, the totals
and lines of the receipt row, and the soft result a commit may replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from processing.catalog.lookup import GoodsFacts, catalog_in_use, resolve_goods
from processing.coupons.receipt import NO_COUPONS, CouponsOutcome
from processing.engine.calculate import write_off_refusal
from processing.engine.model import (
    Balances,
    CustomerFacts,
    Explanation,
    Result,
    Rules,
    result_from_json,
    result_to_json,
)
from processing.engine.model import (
    Receipt as EngineReceipt,
)
from processing.engine.model import (
    ReceiptLine as EngineLine,
)
from processing.ledger.rules import Lot, active_total, expiring_total
from processing.levels.compute import LevelDecision
from processing.programs.service import ActiveRules, rules_at, within_tariff
from processing.promotions.models import ReceiptPromotion
from processing.receipts.certificates import NO_CERTIFICATES, TillCertificates
from processing.receipts.checks import BonusNotInTariff
from processing.receipts.claims import Committed
from processing.receipts.inputs import (
    IdentifyOutcome,
    LineInput,
    PosContext,
    ReceiptInput,
)
from processing.receipts.models import Receipt, ReceiptLine

ZERO = Decimal("0.00")


LINES = cast(Table, ReceiptLine.__table__)


SOFT_RESULT_TTL = timedelta(days=2)


@dataclass(frozen=True)
class Calculation:
    result: Result
    calculation_id: str
    card_number: str | None
    level: LevelDecision | None
    rules: ActiveRules
    coupons: CouponsOutcome = NO_COUPONS
    certificates: TillCertificates = NO_CERTIFICATES
    balances: Balances | None = None  # the card's before the receipt (None: no card)


def receipt_rules(
    session: Session, ctx: PosContext, template_id: int | None, at: datetime
) -> ActiveRules:
    """The rules for a receipt of a card of series ``template_id`` at ``at``: the series'
    programs or the tenant's, and only what the tenant's tariff includes."""
    rules = rules_at(session, ctx.caller.tenant_id, ctx.caller.store_id, at, template_id)
    return within_tariff(rules, ctx.caller.features)


def expired_at_birth(rules: ActiveRules, at: datetime, now: datetime) -> str | None:
    """Bonus accrued for a receipt of ``at`` that would already have expired by ``now`` is not
    accrued at all (the reason, for the cashier)."""
    if rules.bonus is None:
        return None
    expires_at = rules.bonus.lot_dates(at)[1]
    if expires_at is None or expires_at > now:
        return None
    return (
        f"Бонусы за этот чек не начисляются: их срок жизни ({rules.bonus.lifetime_days} дн.) "
        "истёк раньше, чем чек был передан."
    )


def engine_receipt(
    receipt: ReceiptInput, goods: Sequence[GoodsFacts] | None = None
) -> EngineReceipt:
    """The engine's receipt; with the catalog's ``goods`` (one per line) a known goods brings
    its groups with their ancestors, brand, supplier and marks (the line's no-discount mark
    still holds), an unknown one keeps the line's own groups. Ids are compared in lower case
    (1C GUIDs come in either)."""
    facts: Sequence[GoodsFacts | None] = goods or [None] * len(receipt.lines)
    return EngineReceipt(
        lines=tuple(
            _engine_line(line, found) for line, found in zip(receipt.lines, facts, strict=True)
        ),
        requested_bonus=receipt.requested_bonus,
    )


def with_catalog(session: Session, tenant_id: int, receipt: ReceiptInput) -> EngineReceipt:
    """The engine's receipt with the catalog's facts of its goods, when the tenant has a
    catalog: how a sale, a return's recomputation and a look-back all see goods."""
    goods = None
    if receipt.lines and catalog_in_use(session, tenant_id):
        refs = [(line.goods_id, line.barcode) for line in receipt.lines]
        goods = resolve_goods(session, tenant_id, refs)
    return engine_receipt(receipt, goods)


def _engine_line(line: LineInput, found: GoodsFacts | None) -> EngineLine:
    known = found if found is not None and found.known else None
    if known is None:
        return EngineLine(
            number=line.number, goods_id=line.goods_id.lower(), quantity=line.quantity,
            price=line.price, amount=line.amount, no_discount=line.no_discount,
            group_ids=tuple(g.lower() for g in line.group_ids), barcode=line.barcode,
            known=found is None, no_accrual=line.no_accrual,
        )  # fmt: skip
    return EngineLine(
        number=line.number, goods_id=(known.external_id or line.goods_id).lower(),
        quantity=line.quantity, price=line.price, amount=line.amount,
        no_discount=line.no_discount or known.no_discount,
        group_ids=tuple(g.lower() for g in known.group_ids), barcode=line.barcode,
        brand_id=known.brand_id.lower() if known.brand_id else None,
        supplier_id=known.supplier_id.lower() if known.supplier_id else None,
        no_bonus_payment=known.no_bonus_payment, no_accrual=line.no_accrual,
    )  # fmt: skip


def soft_result(
    ctx: PosContext, receipt: ReceiptInput, calculation: Calculation, now: datetime
) -> dict[str, Any]:
    """The stored soft result a commit naming ``calculation_id`` replays."""
    level = calculation.level
    return {
        "id": calculation.calculation_id,
        "tenant_id": ctx.caller.tenant_id,
        "pos_id": ctx.caller.pos_id,
        "input_hash": receipt.calculation_hash(),
        "result": {
            "engine": result_to_json(calculation.result),
            "level": level.level.code if level and level.level else None,
            **(
                {"certificates": calculation.certificates.paid_json}
                if calculation.certificates.paid
                else {}
            ),
        },
        "created_at": now,
    }


def finish_receipt(
    session: Session,
    row: Receipt,
    receipt: ReceiptInput,
    result: Result,
    rules: ActiveRules,
    level_code: str | None,
    notes: list[str],
) -> Committed:
    """Totals on the receipt row and its lines."""
    for name, value in receipt_totals(result, rules, level_code, notes).items():
        setattr(row, name, value)
    values = line_values(row.id, receipt, result)
    # One multi-row INSERT; the answer is built from the same values (never re-read).
    session.execute(insert(LINES), values)
    used = [{**found, "receipt_id": row.id} for found in promotions_used(result)]
    if used:
        session.execute(insert(ReceiptPromotion), used)
    session.flush()
    return Committed(row, [ReceiptLine(**line) for line in values], replay=False)


def promotions_used(result: Result) -> list[dict[str, Any]]:
    """The promotion versions a receipt keeps (those applied) with what each gave: discount,
    campaign points, the change of the card's stamps, the points a conversion spent."""
    stamps = {card.promotion: card.delta for card in result.stamps}
    return [
        {"version_id": o.version_id, "discount": o.discount, "bonus": o.bonus,
         "stamps": stamps.get(o.code, 0),
         "points": result.points_spent if o.code == result.conversion else ZERO}
        for o in result.promotions
        if o.applied
    ]  # fmt: skip


def receipt_totals(
    result: Result, rules: ActiveRules, level_code: str | None, notes: list[str]
) -> dict[str, Any]:
    return {
        "level_code": level_code,
        "levels_version_id": rules.levels_version_id,
        "bonus_version_id": rules.bonus_version_id,
        "amount": result.amount,
        "discount": result.discount,
        "bonus_payment": result.bonus_payment,
        "final_amount": result.final_amount,
        "accrual": result.accrual,
        "notes": notes,
    }


def explanation_json(explanation: Explanation) -> dict[str, str]:
    """A line's explanation as stored (and answered on every replay)."""
    found = {"rule": explanation.rule, "amount": str(explanation.amount), "text": explanation.text}
    if explanation.promotion is not None:
        found["promotion"] = explanation.promotion
    return found


def line_values(receipt_id: int, receipt: ReceiptInput, result: Result) -> list[dict[str, Any]]:
    return [
        {
            "receipt_id": receipt_id,
            "line_no": source.number,
            "goods_id": source.goods_id,
            "barcode": source.barcode,
            "quantity": source.quantity,
            "price": source.price,
            "amount": computed.amount,
            "discount": computed.discount,
            "bonus_payment": computed.bonus_payment,
            "final_amount": computed.final_amount,
            "accrual": computed.accrual,
            "no_discount": source.no_discount,
            "no_accrual": source.no_accrual,
            "seller": source.seller,
            "explanations": [explanation_json(e) for e in computed.explanations],
            "gift_quantity": computed.gift_quantity,
            "gift_amount": computed.gift_amount,
            "returned_quantity": Decimal(0),
            "returned_amount": ZERO,
            "returned_accrual": ZERO,
            "returned_payment": ZERO,
            "returned_final": ZERO,
        }
        for source, computed in zip(receipt.lines, result.lines, strict=True)
    ]


@dataclass(frozen=True)
class StoredSoftResult:
    """A stored soft result as either path reads it."""

    pos_id: int
    input_hash: str
    result: dict[str, Any]


def calculated_for(stored: StoredSoftResult, ctx: PosContext, receipt: ReceiptInput) -> bool:
    """Whether the stored soft result is this POS's, for these lines, card and bonus asked."""
    return stored.pos_id == ctx.caller.pos_id and stored.input_hash == receipt.calculation_hash()


def replayable(
    stored: StoredSoftResult | None,
    ctx: PosContext,
    receipt: ReceiptInput,
    lots: Sequence[Lot],
    now: datetime,
) -> tuple[Result, str | None] | None:
    """The stored soft result a commit posts as it is (with its level code), or None to
    recompute: it must be this POS's, for these lines, card and bonus asked, and its bonus
    payment must still be covered by the usable lots (bonus spent since then: recompute)."""
    if stored is None or not calculated_for(stored, ctx, receipt):
        return None
    result = result_from_json(stored.result["engine"])
    if result.write_off > active_total(lots, now):
        return None
    return result, stored.result.get("level")


def identify_outcome(
    ctx: PosContext,
    rules: ActiveRules,
    facts: CustomerFacts,
    balances: Balances,
    lots: Sequence[Lot],
    level: LevelDecision | None,
    *,
    now: datetime,
    expiring_days: int,
    card_number: str | None,
    card_status: str,
    customer_id: int | None,
    customer_name: str | None,
    missing: list[str] | None,  # None: an anonymous card
) -> IdentifyOutcome:
    """Identify's answer from what either path read: a tariff without the bonus server shows
    no bonus; the write-off refusal is the engine's, or "no active bonus"."""
    refusal = write_off_refusal(Rules(levels=rules.levels, bonus=rules.bonus), facts)
    if "bonus" not in ctx.caller.features:
        balances = Balances()
        refusal = BonusNotInTariff.message
    elif refusal is None and balances.active <= ZERO:
        refusal = "Нет активных бонусов."
    return IdentifyOutcome(
        card_number=card_number,
        card_status=card_status,
        customer_id=customer_id,
        customer_name=customer_name,
        balance_total=balances.total,
        balance_active=balances.active,
        balance_pending=balances.pending,
        level=level,
        expiring=expiring_total(lots, now, timedelta(days=expiring_days)),
        expiring_days=expiring_days,
        write_off_allowed=refusal is None,
        write_off_refusal=refusal,
        questionnaire_filled=missing is not None and not missing,
        questionnaire_missing=["customer"] if missing is None else missing,
    )
