"""What promotion conditions need from the database for one receipt: the store's wall clock,
the customer's birthday, registration, questionnaire fields and card series, the cumulative
purchases of the level window, the first purchase under each promotion and the look-back
purchases. Read only for what the promotions in force ask."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.cards.models import Card, CardTemplate
from processing.customers.models import Customer
from processing.engine.model import PromotionFacts
from processing.levels.compute import LevelDecision
from processing.programs.models import Program, ProgramVersion
from processing.promotions.book import PromotionBook
from processing.promotions.models import ReceiptPromotion
from processing.promotions.rules import Promotion
from processing.receipts.inputs import PosContext
from processing.receipts.models import Receipt, ReceiptLine

CUSTOMER_FIELDS = ("gender", "city", "first_name", "last_name")


def promotion_facts(
    session: Session,
    ctx: PosContext,
    book: PromotionBook,
    card: Card | None,
    level: LevelDecision | None,
    at: datetime,
) -> PromotionFacts:
    local = at.astimezone(ZoneInfo(ctx.caller.timezone))
    moment = local.replace(tzinfo=None)
    needs = [p for p in book.promotions if p.needs_customer]
    if card is None or not needs:
        return PromotionFacts(local_time=moment)
    customer = session.get(Customer, card.customer_id) if card.customer_id else None
    template = session.get(CardTemplate, card.template_id) if card.template_id else None
    fields: dict[str, str] = {}
    if customer is not None:
        fields = {name: str(getattr(customer, name)) for name in CUSTOMER_FIELDS
                  if getattr(customer, name, None) is not None}  # fmt: skip
        fields.update({str(k): str(v) for k, v in (customer.extra or {}).items()})
    first = [p.code for p in needs if p.customer.first_purchase_within_days is not None]
    lookback = [p for p in needs if p.customer.previous_purchase is not None]
    account_id = card.account_id
    return PromotionFacts(
        local_time=moment,
        card_template=template.code if template else None,
        birthday=customer.birth_date if customer else None,
        registered_on=(
            customer.created_at.astimezone(local.tzinfo).date() if customer is not None else None
        ),
        cumulative=level.value if level is not None else None,
        fields=fields,
        first_purchases=(
            _first_purchases(session, ctx, account_id, first) if first and account_id else {}
        ),
        previous_purchases=(
            _looked_back(session, book, account_id, local.date(), lookback)
            if lookback and account_id
            else frozenset()
        ),
    )


def _first_purchases(
    session: Session, ctx: PosContext, account_id: int, codes: list[str]
) -> dict[str, date]:
    """The local date of the account's first receipt under each promotion (by its code)."""
    rows = session.execute(
        select(Program.code, func.min(Receipt.local_date))
        .select_from(ReceiptPromotion)
        .join(Receipt, Receipt.id == ReceiptPromotion.receipt_id)
        .join(ProgramVersion, ProgramVersion.id == ReceiptPromotion.version_id)
        .join(Program, Program.id == ProgramVersion.program_id)
        .where(
            Receipt.account_id == account_id,
            Program.tenant_id == ctx.caller.tenant_id,
            Program.code.in_(codes),
        )
        .group_by(Program.code)
    ).all()
    return {code: first for code, first in rows}


def _looked_back(
    session: Session,
    book: PromotionBook,
    account_id: int,
    today: date,
    promotions: list[Promotion],
) -> frozenset[str]:
    """The promotions whose look-back goods the account bought within their period (the
    goods as the receipt lines name them)."""
    lookbacks = [(p, p.customer.previous_purchase) for p in promotions]
    longest = max(lookback.days for _, lookback in lookbacks if lookback is not None)
    bought = session.execute(
        select(ReceiptLine.goods_id, func.max(Receipt.local_date))
        .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
        .where(
            Receipt.account_id == account_id,
            Receipt.kind == "sale",
            Receipt.local_date >= today - timedelta(days=longest),
            ReceiptLine.final_amount > Decimal(0),
        )
        .group_by(ReceiptLine.goods_id)
    ).all()
    met = set()
    for promotion, lookback in lookbacks:
        if lookback is None:
            continue
        bit = 1 << book.set_id(lookback.goods)
        since = today - timedelta(days=lookback.days)
        for goods_id, last in bought:
            if last >= since and book.coverage(goods_id, (), None, None, 0) & bit:
                met.add(promotion.code)
                break
    return frozenset(met)
