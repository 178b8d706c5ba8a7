"""Which promotion versions a committed receipt used and what each gave (the trail for
explanations, returns and per-customer limits), each promotion's usage counter, and customer
segments with their members. Tables are named by string so the promotions package imports
neither receipts nor programs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import Money, UtcDateTime


class ReceiptPromotion(Base):
    __tablename__ = "receipt_promotions"

    receipt_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("receipts.id", ondelete="CASCADE"),
        primary_key=True,
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("program_versions.id"), primary_key=True, index=True
    )
    discount: Mapped[Decimal] = mapped_column(Money())
    bonus: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))  # campaign points
    # What returns of the receipt took back so far (the last return takes what is left).
    returned_discount: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal(0), server_default="0"
    )
    returned_bonus: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0), server_default="0")
    # A stamps promotion: the change of the card's stamps (negative when units were redeemed).
    stamps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    returned_stamps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A bonus conversion: the points spent for its discount.
    points: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0), server_default="0")
    returned_points: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal(0), server_default="0"
    )


class PromotionUsage(Base):
    """How often a promotion (program) has applied in all and what it gave: the counter its
    total and budget limits are checked against, under this row's lock, on every commit."""

    __tablename__ = "promotion_usage"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    uses: Mapped[int] = mapped_column(BigInteger, default=0)
    spent: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))  # discount and points


class Segment(Base):
    """A named set of a tenant's customers that promotions can be limited to and mass accruals
    go to: a static list (members added and removed by id) or a saved filter over customer
    fields and purchases, whose members a job materialises (``refreshed_at``); paused or
    archived by ``status``."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8), default="static", server_default="static")
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # kind "filter": its conditions
    member_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # filter: last refresh
    # "active"; "paused" (not refreshed, its members kept, promotions still use it) or
    # "archived" (for good: not refreshed, its members not changed, named by no new promotion).
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")


class SegmentMember(Base):
    __tablename__ = "segment_members"

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
