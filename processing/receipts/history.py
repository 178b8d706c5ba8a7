"""Purchase history of a customer: receipts with their lines and each line's rewards."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.cards.models import Card
from processing.customers.models import Customer
from processing.receipts.models import Receipt, ReceiptLine
from processing.tenants.models import Store


@dataclass(frozen=True)
class Purchase:
    receipt: Receipt
    store_code: str
    card_number: str | None
    lines: list[ReceiptLine]


def purchase_history(
    session: Session, customer: Customer, *, limit: int, offset: int
) -> tuple[int, list[Purchase]]:
    """Newest first; returns the total count and one page."""
    mine = (Receipt.customer_id == customer.id) & (Receipt.tenant_id == customer.tenant_id)
    total = session.scalar(select(func.count()).select_from(Receipt).where(mine)) or 0
    rows = session.execute(
        select(Receipt, Store.code, Card.number)
        .join(Store, Store.id == Receipt.store_id)
        .outerjoin(Card, Card.id == Receipt.card_id)
        .where(mine)
        .order_by(Receipt.sold_at.desc(), Receipt.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [receipt.id for receipt, _, _ in rows]
    lines: dict[int, list[ReceiptLine]] = {receipt_id: [] for receipt_id in ids}
    for line in session.scalars(
        select(ReceiptLine)
        .where(ReceiptLine.receipt_id.in_(ids))
        .order_by(ReceiptLine.receipt_id, ReceiptLine.line_no)
    ):
        lines[line.receipt_id].append(line)
    return total, [
        Purchase(receipt, store_code, card_number, lines[receipt.id])
        for receipt, store_code, card_number in rows
    ]
