"""Card templates, cards and their status history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processing.db import Base, partial_index
from processing.types import UtcDateTime

if TYPE_CHECKING:
    from processing.programs.models import Program


class CardTemplate(Base):
    """A series of cards: numbers ``prefix + serial + check digit`` within a serial range."""

    __tablename__ = "card_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    card_type: Mapped[str] = mapped_column(String(64))  # shown on the card, e.g. "5%"
    prefix: Mapped[str] = mapped_column(String(18))
    number_length: Mapped[int] = mapped_column(Integer)
    check_digit: Mapped[str] = mapped_column(String(8))  # luhn, ean13, none
    range_start: Mapped[int] = mapped_column(BigInteger)
    range_end: Mapped[int] = mapped_column(BigInteger)
    next_serial: Mapped[int] = mapped_column(BigInteger)
    validity_days: Mapped[int | None] = mapped_column(Integer)

    programs: Mapped[list[Program]] = relationship(secondary="card_template_programs")


class Card(Base):
    __tablename__ = "cards"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        # One virtual card per customer.
        Index(
            "uq_cards_virtual_customer_id",
            "customer_id",
            unique=True,
            **partial_index("is_virtual"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(32))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("card_templates.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    is_virtual: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class CardStatusChange(Base):
    __tablename__ = "card_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    old_status: Mapped[str | None] = mapped_column(String(16))
    new_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    author: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
