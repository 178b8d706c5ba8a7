"""Customer, its change history, the tenant's extra questionnaire fields and the 152-FZ log of
access to customers' personal data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import UtcDateTime


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "phone"),
        UniqueConstraint("tenant_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    last_name: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(12))
    email: Mapped[str | None] = mapped_column(String(254))
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(6))  # "male" / "female"
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # 152-FZ: two separate consents, each with when and through what it was given or withdrawn.
    processing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    processing_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    processing_consent_source: Mapped[str | None] = mapped_column(String(32))
    advertising_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    advertising_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    advertising_consent_source: Mapped[str | None] = mapped_column(String(32))
    anonymised_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class CustomerChange(Base):
    """One changed field: old → new, through which source and by whom."""

    __tablename__ = "customer_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(100))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    author: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QuestionnaireField(Base):
    """A tenant-defined extra questionnaire field (stored in ``Customer.extra``)."""

    __tablename__ = "questionnaire_fields"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # string, number, date, boolean, choice
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)


class PersonalDataAccess(Base):
    """152-FZ: one read or change of a customer's personal data: who, through what, when and
    which fields. Only ids and field names, never the values. The row outlives the customer's
    personal data (erasure is itself logged here), so ``customer_id`` is no foreign key."""

    __tablename__ = "personal_data_access"
    __table_args__ = (
        Index("ix_personal_data_access_tenant_id_at", "tenant_id", "at"),
        Index("ix_personal_data_access_customer_id_at", "customer_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    action: Mapped[str] = mapped_column(String(16))  # read, register, update, consent, card, erase
    actor: Mapped[str] = mapped_column(String(150))  # pos:<store>/<pos>, admin-token:<name>, cli
    channel: Mapped[str] = mapped_column(String(8))  # api, cli, pages
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    request_id: Mapped[str | None] = mapped_column(String(64))
