"""Tenants with their tariff limits, legal entities, stores and store groups, POS, cashiers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processing.db import Base
from processing.types import Money, UtcDateTime


class Tenant(Base):
    """A retail company (a SaaS customer). Limits of ``None`` mean unlimited."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    tariff: Mapped[str] = mapped_column(String(32), server_default="network")
    # Where the tenant's people work: the admin pages show dates in this zone.
    timezone: Mapped[str] = mapped_column(String(64), server_default="Europe/Moscow")
    # The licensor suspended the service: POS and 1C calls are refused until it is resumed.
    suspended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    max_stores: Mapped[int | None] = mapped_column(Integer)
    max_pos: Mapped[int | None] = mapped_column(Integer)
    max_customers: Mapped[int | None] = mapped_column(Integer)
    features: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # What an unfilled questionnaire allows: "nothing", "accrual_only" or "full".
    questionnaire_policy: Mapped[str] = mapped_column(String(16), server_default="full")
    # Customer fields (standard names or extra field codes) a filled questionnaire must have.
    questionnaire_required: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # Add-ons bought on top of the base tariff (e.g. "informer"), and their monthly quotas.
    addons: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    quotas: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, server_default="{}")
    # Processing policies (see docs/pos-api.md).
    sums_tolerance: Mapped[Decimal] = mapped_column(Money(), server_default="1")
    # A line's sum may differ from round(qty × price) − its POS discount by this much.
    line_sum_tolerance: Mapped[Decimal] = mapped_column(Money(), server_default="1")
    # How far ahead of the server's clock a receipt's time may be, and how old it may be.
    sold_at_ahead_minutes: Mapped[int] = mapped_column(Integer, server_default="10")
    offline_window_days: Mapped[int] = mapped_column(Integer, server_default="30")
    return_policy: Mapped[str] = mapped_column(String(16), server_default="cap_at_zero")
    rollback_window_hours: Mapped[int] = mapped_column(Integer, server_default="24")
    phone_write_off: Mapped[bool] = mapped_column(Boolean, server_default=false())
    phone_level_discount: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # How promotions combine: groups with their mode and order (None: the default group,
    # processing/promotions/rules.py).
    promotion_groups: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())

    stores: Mapped[list[Store]] = relationship(back_populates="tenant")


class LegalEntity(Base):
    """Организация: the legal entity that owns stores, for reports and settlements."""

    __tablename__ = "legal_entities"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    inn: Mapped[str | None] = mapped_column(String(12))
    kpp: Mapped[str | None] = mapped_column(String(9))


store_group_members = Table(
    "store_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("store_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class StoreGroup(Base):
    __tablename__ = "store_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))

    stores: Mapped[list[Store]] = relationship(
        secondary=store_group_members, back_populates="groups"
    )


class Store(Base):
    __tablename__ = "stores"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "onec_guid"),
        UniqueConstraint("tenant_id", "warehouse_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    legal_entity_id: Mapped[int | None] = mapped_column(
        ForeignKey("legal_entities.id", ondelete="SET NULL")
    )
    code: Mapped[str] = mapped_column(String(64))
    onec_guid: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(255))
    # IANA zone: 1C sends zone-less local dates, converted to UTC with this zone.
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    # An inactive store (over the tariff's store limit when 1C sent it) serves no POS.
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # The 1C warehouse (CommerceML Склад Ид) this store mirrors; a hand-made store may be linked.
    warehouse_id: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())

    tenant: Mapped[Tenant] = relationship(back_populates="stores")
    terminals: Mapped[list[Pos]] = relationship(back_populates="store")
    groups: Mapped[list[StoreGroup]] = relationship(
        secondary=store_group_members, back_populates="stores"
    )


class Pos(Base):
    """A cash register (POS terminal) with its bearer token, stored as a SHA-256 hash."""

    __tablename__ = "pos_terminals"
    __table_args__ = (UniqueConstraint("store_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # its token stops working

    store: Mapped[Store] = relationship(back_populates="terminals")


class Cashier(Base):
    """A cashier as the POS names it; receipts reference the cashier."""

    __tablename__ = "cashiers"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))


class AdminToken(Base):
    """A tenant administrator's API token (support tools, sync log); stored hashed."""

    __tablename__ = "admin_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class TariffPreset(Base):
    """A tariff as sold (data, seeded by a migration): a base tariff or an add-on. A tenant gets
    a copy of its limits and features, which can then be edited for that tenant alone."""

    __tablename__ = "tariff_presets"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))  # "base" or "addon"
    max_stores: Mapped[int | None] = mapped_column(Integer)
    max_pos: Mapped[int | None] = mapped_column(Integer)
    max_customers: Mapped[int | None] = mapped_column(Integer)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    quotas: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class ServiceCredential(Base):
    """The login and password hash with which the tenant's 1C calls one of our services
    (``processing.tenants.credentials.SERVICES``: the discount server, the exchange)."""

    __tablename__ = "service_credentials"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
