"""Which promotion versions a committed receipt used and what each gave: the trail for
explanations, returns (a partial return takes back what the returned units earned) and usage
limits. Tables named by string so the promotions package needs no receipt import."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import Money


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
