"""What a customer's and a card's pages show of the ledger: the balance, the lots still holding
bonus with their expiry dates, the latest postings and purchases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.ledger.models import BonusLot, Posting
from processing.ledger.service import balance
from processing.receipts.models import Receipt

SHOWN = 20
POSTING_TITLES = {
    "accrual": "начисление за покупку",
    "campaign": "начисление по акции",
    "event": "начисление (приветственное, ко дню рождения, рассылка)",
    "write_off": "оплата бонусами",
    "return_clawback": "списание при возврате",
    "return_credit": "возврат оплаченных бонусов",
    "expiry": "сгорание",
    "correction": "корректировка",
    "opening_balance": "начальный остаток",
    "transfer_in": "перенос на счёт",
    "transfer_out": "перенос со счёта",
}


def account_view(session: Session, account_id: int | None, now: datetime) -> dict[str, Any]:
    if account_id is None:
        return {"balance": None, "lots": [], "postings": [], "posting_titles": POSTING_TITLES}
    lots = session.scalars(
        select(BonusLot)
        .where(BonusLot.account_id == account_id, BonusLot.remaining > 0)
        .order_by(BonusLot.expires_at)
    )
    postings = session.scalars(
        select(Posting)
        .where(Posting.account_id == account_id)
        .order_by(Posting.id.desc())
        .limit(SHOWN)
    )
    return {
        "balance": balance(session, account_id, now),
        "lots": list(lots),
        "postings": list(postings),
        "posting_titles": POSTING_TITLES,
    }


def purchases(
    session: Session, *, customer_id: int | None = None, card_id: int | None = None
) -> list[Receipt]:
    query = select(Receipt).order_by(Receipt.sold_at.desc()).limit(SHOWN)
    if customer_id is not None:
        query = query.where(Receipt.customer_id == customer_id)
    else:
        query = query.where(Receipt.card_id == card_id)
    return list(session.scalars(query))
