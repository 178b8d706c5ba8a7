"""Event accruals (one row per customer and event: the guard that makes every accrual outside a
receipt happen once) and scheduled mass accruals with their progress."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processing.db import Base
from processing.promotions.models import Segment
from processing.types import Money, UtcDateTime


class EventAccrual(Base):
    """Bonus credited to a customer for an event: ``welcome``, ``birthday:<year>`` or
    ``mass:<id>``. The unique key is the once-only guard; the posting is the ledger's."""

    __tablename__ = "event_accruals"
    __table_args__ = (UniqueConstraint("customer_id", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # Set right after the row is claimed, in the same transaction (the claim comes first so that
    # a concurrent run of the same event waits for it and then credits nothing).
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Money())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MassAccrual(Base):
    """Bonus to every member of a segment at ``run_at``: scheduled, then running (a batch of
    members per transaction, ``last_customer_id`` the checkpoint), done, or cancelled before
    it started."""

    __tablename__ = "mass_accruals"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))  # the reason the ledger shows
    amount: Mapped[Decimal] = mapped_column(Money())
    activation_delay_days: Mapped[int] = mapped_column(Integer, default=0)
    lifetime_days: Mapped[int | None] = mapped_column(Integer)
    run_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    author: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    members: Mapped[int] = mapped_column(Integer, default=0)  # the segment's size at the start
    credited: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # not allowed or no active card
    last_customer_id: Mapped[int] = mapped_column(Integer, default=0)  # checkpoint

    segment: Mapped[Segment] = relationship()
