"""A store's gift stock per goods item, and every movement of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from processing.catalog.models import EXTERNAL_ID_LENGTH
from processing.db import Base
from processing.types import UtcDateTime

BIG_ID = BigInteger().with_variant(Integer, "sqlite")  # as receipts.id


class MovementKind(StrEnum):
    RECEIVED = "received"  # brought to the store (a delivery, a transfer)
    ISSUED = "issued"  # given on a receipt
    RETURNED = "returned"  # came back with the receipt's return, rollback or replacement
    WRITTEN_OFF = "written_off"  # damaged, lost, a stocktaking shortfall


KIND_TITLES = {
    MovementKind.RECEIVED: "Поступление",
    MovementKind.ISSUED: "Выдан по чеку",
    MovementKind.RETURNED: "Возврат по чеку",
    MovementKind.WRITTEN_OFF: "Списание",
}


class GiftStock(Base):
    """Units of one gift goods item at one store. A goods item the store keeps no row for is not
    counted: its gifts are given without limit."""

    __tablename__ = "gift_stock"
    __table_args__ = (
        UniqueConstraint("store_id", "goods_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    goods_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))  # lower case, as matched
    quantity: Mapped[int] = mapped_column(Integer)


class GiftMovement(Base):
    """One change of a store's gift stock: ``quantity`` signed (+ in, − out)."""

    __tablename__ = "gift_movements"
    __table_args__ = (
        Index("ix_gift_movements_store_id_goods_id", "store_id", "goods_id", "id"),
        Index("ix_gift_movements_receipt_id", "receipt_id"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    goods_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))  # MovementKind
    quantity: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    receipt_id: Mapped[int | None] = mapped_column(
        BIG_ID, ForeignKey("receipts.id", ondelete="CASCADE")
    )
    transaction_id: Mapped[str | None] = mapped_column(String(64))  # the receipt's, as answered
    line_no: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    promotion: Mapped[str | None] = mapped_column(String(64))  # the promotion's code
    document: Mapped[str | None] = mapped_column(String(64))  # a delivery note's number
    reason: Mapped[str | None] = mapped_column(String(500))
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
