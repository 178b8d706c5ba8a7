"""What the level rule reads: purchases per account and store-local day, and overrides."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import Money, UtcDateTime


class PurchaseStat(Base):
    """One receipt's effect on cumulative purchases: net sum after discounts (negative for a
    return) and the purchase count change, on the store-local date of the receipt."""

    __tablename__ = "purchase_stats"
    __table_args__ = (Index("ix_purchase_stats_account_id_day", "account_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    purchases: Mapped[int] = mapped_column(Integer)
    operation: Mapped[str | None] = mapped_column(String(128))


class LevelOverride(Base):
    """A manual level; the current one is the latest not cleared. Rows are never deleted, so
    they are the override history."""

    __tablename__ = "level_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    level_code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    author: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cleared_by: Mapped[str | None] = mapped_column(String(100))
