"""Rows posted by 1C:Retail shops, per document.

Dates are naive: the shop's wall-clock time as 1C sent it (the caller names no store, so there
is no zone to convert with).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import Money, Quantity

GUID = 64  # 1C GUIDs are 36 characters; some configurations send codes instead


class SaleRow(Base):
    __tablename__ = "ds_sales"
    __table_args__ = (
        Index("ix_ds_sales_document", "tenant_id", "document_type", "document_id"),
        Index("ix_ds_sales_card", "tenant_id", "card_id", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    document_type: Mapped[str] = mapped_column(String(100))
    document_id: Mapped[str] = mapped_column(String(GUID))
    period: Mapped[datetime] = mapped_column(DateTime())
    card_id: Mapped[str | None] = mapped_column(String(GUID))
    goods_id: Mapped[str | None] = mapped_column(String(GUID))
    characteristic_id: Mapped[str | None] = mapped_column(String(GUID))
    amount: Mapped[Decimal | None] = mapped_column(Money())
    quantity: Mapped[Decimal | None] = mapped_column(Quantity())


class BonusRow(Base):
    __tablename__ = "ds_bonuses"
    __table_args__ = (
        Index("ix_ds_bonuses_document", "tenant_id", "document_type", "document_id"),
        Index("ix_ds_bonuses_card", "tenant_id", "card_id", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    document_type: Mapped[str] = mapped_column(String(100))
    document_id: Mapped[str] = mapped_column(String(GUID))
    period: Mapped[datetime] = mapped_column(DateTime())
    movement: Mapped[int] = mapped_column(Integer)  # 0: приход, 1: расход
    program_id: Mapped[str | None] = mapped_column(String(GUID))
    card_id: Mapped[str | None] = mapped_column(String(GUID))
    accrued: Mapped[Decimal | None] = mapped_column(Money())  # Начислено
    to_write_off: Mapped[Decimal | None] = mapped_column(Money())  # КСписанию


class CouponRow(Base):
    __tablename__ = "ds_coupons"
    __table_args__ = (
        Index("ix_ds_coupons_document", "tenant_id", "document_type", "document_id"),
        Index("ix_ds_coupons_code", "tenant_id", "coupon_code", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    document_type: Mapped[str] = mapped_column(String(100))
    document_id: Mapped[str] = mapped_column(String(GUID))
    period: Mapped[datetime] = mapped_column(DateTime())
    discount_id: Mapped[str | None] = mapped_column(String(GUID))
    coupon_code: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str | None] = mapped_column(String(50))
    store_id: Mapped[str | None] = mapped_column(String(GUID))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime())
