"""External identities seen from 1C and POS software, recorded on first sight."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import UtcDateTime


class ExternalId(Base):
    """An id a shop sent us (card, goods, organisation, document, ...), per tenant and source
    (the exchange it came through: one 1C id may name different things in two exchanges).
    ``internal_id`` is the id of our own object it maps to, once it is bound to one (a legal
    entity for an organisation); ids only recorded on first sight have none."""

    __tablename__ = "external_ids"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "kind", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))
    internal_id: Mapped[int | None] = mapped_column(BigInteger)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
