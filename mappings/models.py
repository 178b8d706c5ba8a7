"""External identities seen from 1C and POS software, recorded on first sight."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import UtcDateTime


class ExternalId(Base):
    """An id a shop sent us (card, goods, document, ...); binding it to our own objects is a
    later step. ``source`` says through which exchange it came."""

    __tablename__ = "external_ids"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
