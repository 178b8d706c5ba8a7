"""A store's gift stock: received, issued on receipts, returned with them, written off.

Only goods the store keeps a stock row for are counted (the first delivery makes it): the
promotion engine gives gifts of such goods as far as the stock goes (``PromotionFacts``
``gift_stock``), and the commit, holding the rows' locks from before it computed, takes the
units it gave. So the stock never goes below zero, however many POS commit at once (a check
constraint stands behind it). Gift units come back when the return completes their line, and on
a rollback, unposting or replacement of the receipt.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.cache import ProcessCache
from processing.catalog.models import EXTERNAL_ID_LENGTH
from processing.db import insert_ignore, lock_rows
from processing.errors import InvalidInput, Refused
from processing.gifts.models import GiftMovement, GiftStock, MovementKind
from processing.promotions.book import PromotionBook
from processing.tenants.models import Store

log = logging.getLogger(__name__)

MAX_UNITS = 1_000_000  # per delivery or write-off
MAX_TEXT = 500
MOVEMENTS_SHOWN = 500


class GiftStockShort(Refused):
    code = "GIFT_STOCK_SHORT"
    message = "В магазине нет столько подарков: списать можно не больше остатка."


@dataclass(frozen=True)
class GiftGiven:
    """Gift units a committed receipt's line gave, and the promotion that gave them."""

    line_no: int
    goods_id: str
    units: int
    promotion: str | None


def _goods(goods_id: str) -> str:
    goods = goods_id.strip().lower()
    if not 1 <= len(goods) <= EXTERNAL_ID_LENGTH:
        raise InvalidInput(
            f"Код товара — от 1 до {EXTERNAL_ID_LENGTH} символов.", details={"field": "goods"}
        )
    return goods


def _units(quantity: int) -> int:
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 1 <= quantity <= MAX_UNITS
    ):
        raise InvalidInput(
            f"Количество — целое число от 1 до {MAX_UNITS:,}.".replace(",", " "),
            details={"field": "quantity"},
        )
    return quantity


def _text(value: str | None, field: str, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput("Укажите причину списания.", details={"field": field})
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"Не длиннее {MAX_TEXT} символов.", details={"field": field})
    return text or None


def _locked(session: Session, store_id: int, goods: Iterable[str]) -> dict[str, GiftStock]:
    """The store's stock rows of ``goods``, locked in id order and read afresh."""
    wanted = sorted(set(goods))
    if not wanted:
        return {}
    rows = session.scalars(
        lock_rows(
            select(GiftStock)
            .where(GiftStock.store_id == store_id, GiftStock.goods_id.in_(wanted))
            .order_by(GiftStock.id)
        ).execution_options(populate_existing=True)
    ).all()
    return {row.goods_id: row for row in rows}


def _move(
    session: Session, row: GiftStock, kind: MovementKind, quantity: int, now: datetime,
    **details: object,
) -> GiftMovement:  # fmt: skip
    row.quantity += quantity
    movement = GiftMovement(
        tenant_id=row.tenant_id, store_id=row.store_id, goods_id=row.goods_id, kind=kind.value,
        quantity=quantity, balance_after=row.quantity, created_at=now, **details,
    )  # fmt: skip
    session.add(movement)
    return movement


def receive(
    session: Session,
    store: Store,
    goods_id: str,
    quantity: int,
    *,
    document: str | None,
    author: str,
    now: datetime,
) -> GiftStock:
    """Gifts brought to the store; the first delivery of a goods item starts counting it."""
    goods, units = _goods(goods_id), _units(quantity)
    document = _text(document, "document")
    if document is not None and len(document) > 64:
        raise InvalidInput("Номер документа — не длиннее 64 символов.",
                           details={"field": "document"})  # fmt: skip
    row = _locked(session, store.id, [goods]).get(goods)
    if row is None:  # the first delivery; a concurrent one may make the row first
        insert_ignore(
            session, GiftStock,
            [{"tenant_id": store.tenant_id, "store_id": store.id, "goods_id": goods,
              "quantity": 0}],
            ["store_id", "goods_id"],
        )  # fmt: skip
        row = _locked(session, store.id, [goods])[goods]
    _move(session, row, MovementKind.RECEIVED, units, now, document=document, author=author)
    session.flush()
    return row


def write_off(
    session: Session,
    store: Store,
    goods_id: str,
    quantity: int,
    *,
    reason: str,
    author: str,
    now: datetime,
) -> GiftStock:
    """Gifts written off (damaged, lost, a stocktaking shortfall), at most what is left."""
    goods, units = _goods(goods_id), _units(quantity)
    why = _text(reason, "reason", required=True)
    row = _locked(session, store.id, [goods]).get(goods)
    left = row.quantity if row is not None else 0
    if row is None or units > left:
        raise GiftStockShort(
            f"В магазине {left} шт. подарка «{goods}»: списать {units} шт. нельзя.",
            details={"goods": goods, "left": left, "quantity": units},
        )
    _move(session, row, MovementKind.WRITTEN_OFF, -units, now, reason=why, author=author)
    session.flush()
    return row


def store_stock(session: Session, store: Store) -> Sequence[GiftStock]:
    return session.scalars(
        select(GiftStock).where(GiftStock.store_id == store.id).order_by(GiftStock.goods_id)
    ).all()


def store_movements(
    session: Session, store: Store, goods_id: str | None = None
) -> Sequence[GiftMovement]:
    """The latest movements of the store's gift stock (of one goods item), newest first."""
    query = select(GiftMovement).where(GiftMovement.store_id == store.id)
    if goods_id is not None:
        query = query.where(GiftMovement.goods_id == _goods(goods_id))
    return session.scalars(query.order_by(GiftMovement.id.desc()).limit(MOVEMENTS_SHOWN)).all()


# Whether a tenant counts any gift stock: calculations of a tenant without one never read it.
# A first delivery made by another process is seen when the entry expires; commits ask afresh.
STOCK_IN_USE_TTL_S = 60
stock_in_use_cache = ProcessCache[int, bool](
    "gift-stock-in-use", STOCK_IN_USE_TTL_S, watches=(GiftStock,)
)


def gift_stock_in_use(session: Session, tenant_id: int, *, fresh: bool = False) -> bool:
    """Whether the tenant has ever received gifts into a store's stock (cached per process;
    ``fresh``: read now — a commit, which must not give a counted gift uncounted)."""
    cached = None if fresh else stock_in_use_cache.get(tenant_id)
    if cached is not None:
        return cached
    found = session.scalar(select(GiftStock.id).where(GiftStock.tenant_id == tenant_id).limit(1))
    stock_in_use_cache.stage(session, tenant_id, found is not None)
    return found is not None


def gift_stock_counted(
    session: Session, tenant_id: int, book: PromotionBook | None, *, fresh: bool = False
) -> bool:
    """Whether the book's gift promotions draw from a gift stock (the tenant counts one);
    ``fresh``: see ``gift_stock_in_use``."""
    return (
        book is not None
        and bool(book.gift_promotions)
        and gift_stock_in_use(session, tenant_id, fresh=fresh)
    )


def stock_for_receipt(
    session: Session, store_id: int, goods: Iterable[str], *, lock: bool
) -> dict[str, int]:
    """Units left of the receipt's goods the store counts (goods it keeps no row for are not
    in the answer: not counted); ``lock`` (a commit): the rows stay locked until it ends."""
    wanted = sorted(set(goods))
    if not wanted:
        return {}
    if lock:
        return {goods_id: row.quantity for goods_id, row in _locked(session, store_id,
                                                                      wanted).items()}  # fmt: skip
    return {
        goods_id: quantity
        for goods_id, quantity in session.execute(
            select(GiftStock.goods_id, GiftStock.quantity).where(
                GiftStock.store_id == store_id, GiftStock.goods_id.in_(wanted)
            )
        )
    }


def issue_for_receipt(
    session: Session,
    *,
    store_id: int,
    receipt_id: int,
    transaction_id: str,
    customer_id: int | None,
    given: Sequence[GiftGiven],
    now: datetime,
) -> None:
    """Take the gift units a committed receipt gave of counted goods (the rows are locked by
    ``stock_for_receipt``, and the engine gave no more than they hold)."""
    rows = _locked(session, store_id, [gift.goods_id for gift in given])
    for gift in given:
        row = rows.get(gift.goods_id)
        if row is None or not gift.units:
            continue
        units = min(gift.units, row.quantity)
        if units < gift.units:  # two gift promotions of one sum group on the same goods
            log.warning(
                "gift stock short at commit",
                extra={"receipt_id": receipt_id, "goods": gift.goods_id, "given": gift.units,
                       "left": row.quantity},
            )  # fmt: skip
        if not units:
            continue
        _move(
            session, row, MovementKind.ISSUED, -units, now, receipt_id=receipt_id,
            transaction_id=transaction_id, line_no=gift.line_no, customer_id=customer_id,
            promotion=gift.promotion, author="receipt",
        )  # fmt: skip
    session.flush()


def return_for_receipt(
    session: Session, receipt_id: int, line_nos: Collection[int] | None, *, now: datetime
) -> int:
    """Give back to the stock the gift units the receipt's lines ``line_nos`` (None: all) took
    and have not given back yet; answers how many units came back."""
    query = (
        select(
            GiftMovement.store_id, GiftMovement.goods_id, GiftMovement.line_no,
            GiftMovement.customer_id, GiftMovement.promotion, GiftMovement.transaction_id,
            func.sum(GiftMovement.quantity),
        )
        .where(
            GiftMovement.receipt_id == receipt_id,
            GiftMovement.kind.in_([MovementKind.ISSUED.value, MovementKind.RETURNED.value]),
        )
        .group_by(GiftMovement.store_id, GiftMovement.goods_id, GiftMovement.line_no,
                  GiftMovement.customer_id, GiftMovement.promotion, GiftMovement.transaction_id)
    )  # fmt: skip
    if line_nos is not None:
        if not line_nos:
            return 0
        query = query.where(GiftMovement.line_no.in_(sorted(line_nos)))
    owed = [row for row in session.execute(query) if row[6] < 0]
    back = 0
    owed.sort(key=lambda row: (row[0], row[1], row[2] or 0))
    for store_id, goods_id, line_no, customer_id, promotion, transaction_id, net in owed:
        row = _locked(session, store_id, [goods_id]).get(goods_id)
        if row is None:
            continue
        _move(
            session, row, MovementKind.RETURNED, -net, now, receipt_id=receipt_id,
            transaction_id=transaction_id, line_no=line_no, customer_id=customer_id,
            promotion=promotion, author="receipt",
        )  # fmt: skip
        back -= net
    session.flush()
    return back
