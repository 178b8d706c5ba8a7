"""Committed receipts and their lines, soft calculation results and offline batches."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base, partial_index
from processing.types import Money, Quantity, UtcDateTime

ZERO = Decimal("0.00")


class Receipt(Base):
    """A committed sale, return or visit. ``identity_key`` is the POS's identity of the
    receipt (store, POS, shift, number, date-time): committing it twice posts once. A receipt
    whose 1C document was unposted or re-posted gives its identity up (``free_identity``); a
    re-posted one (status ``replaced``) is linked to its new version by a ``ReceiptReplacement``."""

    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "identity_key"),
        # A POS numbers its own transactions: unique per POS, not across the chain. Partial
        # indexes: most receipts have neither, and a commit should not write index entries
        # no query reads.
        Index(
            "uq_receipts_pos_id_client_txn_id",
            "pos_id",
            "client_txn_id",
            unique=True,
            **partial_index("client_txn_id IS NOT NULL"),
        ),
        Index("ix_receipts_original_id", "original_id", **partial_index("original_id IS NOT NULL")),
        Index("ix_receipts_account_id_sold_at", "account_id", "sold_at"),
        Index("ix_receipts_pos_id_sold_at", "pos_id", "sold_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(36), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    pos_id: Mapped[int] = mapped_column(ForeignKey("pos_terminals.id"))
    cashier_id: Mapped[int | None] = mapped_column(ForeignKey("cashiers.id"))
    kind: Mapped[str] = mapped_column(String(8))  # sale, return, visit
    identity_key: Mapped[str] = mapped_column(String(300))
    client_txn_id: Mapped[str | None] = mapped_column(String(64))
    body_hash: Mapped[str] = mapped_column(String(64))
    shift: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64))
    sold_at: Mapped[datetime] = mapped_column(UtcDateTime())
    local_date: Mapped[date] = mapped_column(Date)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    original_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))
    status: Mapped[str] = mapped_column(String(16), default="committed")
    offline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    level_code: Mapped[str | None] = mapped_column(String(64))
    levels_version_id: Mapped[int | None] = mapped_column(ForeignKey("program_versions.id"))
    bonus_version_id: Mapped[int | None] = mapped_column(ForeignKey("program_versions.id"))
    amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    discount: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    bonus_payment: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    final_amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    accrual: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    # Postings this receipt made (accrual / write-off for a sale; claw-back / credit for a return).
    credit_posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id"))
    debit_posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id"))
    # A return under the cap-at-zero policy: accrual that could not be taken back.
    clawback_shortfall: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ReceiptReplacement(Base):
    """A 1C document's sale re-posted and the receipt of the document's new version. A table of
    its own: few receipts are ever replaced, and the hot path's one-statement insert of a
    receipt (``statements``) writes every column of ``receipts``."""

    __tablename__ = "receipt_replacements"

    receipt_id: Mapped[int] = mapped_column(
        ForeignKey("receipts.id", ondelete="CASCADE"), primary_key=True
    )
    replaced_by_id: Mapped[int] = mapped_column(
        ForeignKey("receipts.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReceiptLine(Base):
    __tablename__ = "receipt_lines"
    __table_args__ = (UniqueConstraint("receipt_id", "line_no"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    goods_id: Mapped[str] = mapped_column(String(80))  # 1C GUID#characteristic GUID fits
    barcode: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    price: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())
    discount: Mapped[Decimal] = mapped_column(Money())
    bonus_payment: Mapped[Decimal] = mapped_column(Money())
    final_amount: Mapped[Decimal] = mapped_column(Money())
    accrual: Mapped[Decimal] = mapped_column(Money())
    no_discount: Mapped[bool] = mapped_column(Boolean, default=False)
    no_accrual: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    seller: Mapped[str | None] = mapped_column(String(64))
    explanations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Units given as a promotion's gift, printed as a part of their own at gift_amount in all.
    gift_quantity: Mapped[Decimal] = mapped_column(
        Quantity(), default=Decimal(0), server_default="0"
    )
    gift_amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")
    # On a sale line: what returns took back so far. On a return line: the sale line.
    returned_quantity: Mapped[Decimal] = mapped_column(
        Quantity(), default=Decimal(0), server_default="0"
    )
    returned_amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")
    returned_accrual: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")
    returned_payment: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")
    returned_final: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")
    original_line_id: Mapped[int | None] = mapped_column(ForeignKey("receipt_lines.id"))


class SoftCalculation(Base):
    """A soft (preliminary) result kept for the fiscal commit that follows. It can always be
    recomputed, so PostgreSQL writes it without waiting for a durable commit."""

    __tablename__ = "soft_calculations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    pos_id: Mapped[int] = mapped_column(ForeignKey("pos_terminals.id", ondelete="CASCADE"))
    input_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class OfflineBatch(Base):
    """A large offline upload processed by a job; the POS polls its status."""

    __tablename__ = "offline_batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    pos_id: Mapped[int] = mapped_column(ForeignKey("pos_terminals.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    receipts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
