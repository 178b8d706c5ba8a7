"""Coupon series, coupons and their uses on receipts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processing.db import Base, partial_index
from processing.types import UtcDateTime

if TYPE_CHECKING:
    from processing.programs.models import Program


class SeriesStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"  # final: its coupons are no longer issued, taken or used


BIG_ID = BigInteger().with_variant(Integer, "sqlite")  # as receipts.id


class CouponSeries(Base):
    """A batch of coupons sharing a code format, a validity period and usage rules, optionally
    tied to a promotion (a program of kind ``promotion``)."""

    __tablename__ = "coupon_series"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"), index=True)
    code_format: Mapped[str] = mapped_column(String(8))  # codes.FORMATS
    code_length: Mapped[int] = mapped_column(Integer)  # with the prefix and a check digit
    prefix: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime())
    uses_per_coupon: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    per_receipt: Mapped[int | None] = mapped_column(Integer)  # 1, or None: several
    bound: Mapped[bool] = mapped_column(Boolean)  # True: only its customer may use a coupon
    auto: Mapped[bool] = mapped_column(Boolean)  # applied without being presented
    status: Mapped[str] = mapped_column(String(16))  # SeriesStatus
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    author: Mapped[str] = mapped_column(String(100))

    promotion: Mapped[Program | None] = relationship()


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_coupons_series_id_status", "series_id", "status"),
        Index("ix_coupons_customer_id", "customer_id", **partial_index("customer_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    series_id: Mapped[int] = mapped_column(ForeignKey("coupon_series.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    # generated, issued, taken, redeemed, expired, cancelled (lifecycle.CouponStatus)
    status: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    # No Python default: generation inserts rows in bulk with the server's.
    uses: Mapped[int] = mapped_column(Integer, server_default="0")
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    issued_via: Mapped[str | None] = mapped_column(String(16))  # promotion, mailing, admin, import
    taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    taken_via: Mapped[str | None] = mapped_column(String(32))  # the channel
    redeemed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    series: Mapped[CouponSeries] = relationship(lazy="joined", innerjoin=True)


class CouponUse(Base):
    """One use of a coupon on a committed receipt; ``returned_at`` once the receipt's return
    gave it back. A coupon is used at most once per receipt."""

    __tablename__ = "coupon_uses"
    __table_args__ = (UniqueConstraint("coupon_id", "receipt_id"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(BIG_ID, ForeignKey("coupons.id", ondelete="CASCADE"))
    receipt_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("receipts.id", ondelete="CASCADE"), index=True
    )
    used_at: Mapped[datetime] = mapped_column(UtcDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
