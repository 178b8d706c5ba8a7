"""Programs and their versions; a version applies to all stores or to the listed stores and
store groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processing.db import Base
from processing.tenants.models import Store, StoreGroup
from processing.types import UtcDateTime

version_stores = Table(
    "program_version_stores",
    Base.metadata,
    Column("version_id", ForeignKey("program_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
)

version_store_groups = Table(
    "program_version_store_groups",
    Base.metadata,
    Column("version_id", ForeignKey("program_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("store_groups.id", ondelete="CASCADE"), primary_key=True),
)


class Program(Base):
    __tablename__ = "programs"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # programs.rules.PARSERS
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    # "active", "paused" (kept, not applied) or "archived" (kept for history, not applied).
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())

    versions: Mapped[list[ProgramVersion]] = relationship(
        back_populates="program", order_by="ProgramVersion.effective_from"
    )


class ProgramVersion(Base):
    """The rules valid in ``[effective_from, effective_to)``; offline receipts use the version
    valid at their own time."""

    __tablename__ = "program_versions"
    __table_args__ = (Index("ix_program_versions_program_id_from", "program_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime())
    effective_to: Mapped[datetime | None] = mapped_column(UtcDateTime())
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())

    program: Mapped[Program] = relationship(back_populates="versions")
    stores: Mapped[list[Store]] = relationship(secondary=version_stores)
    store_groups: Mapped[list[StoreGroup]] = relationship(secondary=version_store_groups)


card_template_programs = Table(
    "card_template_programs",
    Base.metadata,
    Column("template_id", ForeignKey("card_templates.id", ondelete="CASCADE"), primary_key=True),
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)  # fmt: skip
"""The programs a card series carries ("5% cards"): for its cards they replace the tenant's
programs of the same kind; a program a series carries applies to no other card."""
