"""Accounts, postings, lots and which lots each posting moved.

Invariants (checked by property tests): ``Account.balance`` is the sum of the account's
postings; the sum of its lots' remainders is ``max(balance, 0)`` (a negative balance — only a
return claw-back under the tenant's allow-negative policy makes one — is a debt that the next
accruals repay first).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import Money, UtcDateTime


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    balance: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class Posting(Base):
    """An immutable ledger entry; ``amount`` is signed (credit > 0, debit < 0)."""

    __tablename__ = "postings"
    __table_args__ = (Index("ix_postings_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Money())
    balance_after: Mapped[Decimal] = mapped_column(Money())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # What caused it: "receipt:<id>", "expiry:<date>", "manual", ... (free-form, for statements).
    operation: Mapped[str | None] = mapped_column(String(128))  # not indexed: no query reads it
    reason: Mapped[str | None] = mapped_column(String(500))
    author: Mapped[str | None] = mapped_column(String(100))


class BonusLot(Base):
    """Bonus credited at once, with its own activation and expiry; write-offs drain lots."""

    __tablename__ = "bonus_lots"
    __table_args__ = (Index("ix_bonus_lots_account_id_expires_at", "account_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Money())
    remaining: Mapped[Decimal] = mapped_column(Money())
    activates_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class LotMovement(Base):
    """How much of which lot a posting took (< 0) or gave (> 0): returns and rollbacks
    restore exactly these lots."""

    __tablename__ = "lot_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    posting_id: Mapped[int] = mapped_column(
        ForeignKey("postings.id", ondelete="CASCADE"), index=True
    )
    lot_id: Mapped[int] = mapped_column(ForeignKey("bonus_lots.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
