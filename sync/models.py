"""Tables owned by the background machinery."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import UtcDateTime


class JobRun(Base):
    """One row per job identity that has run: the guard against running a job twice.

    RQ job ids do not stop a second run (a re-enqueue or a retry after a lost ack), so a job
    claims its identity here, in its own transaction, before doing anything.
    """

    __tablename__ = "job_runs"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class SyncLogEntry(Base):
    """What an exchange with 1C did: which document, how many rows, what went wrong."""

    __tablename__ = "sync_log"
    __table_args__ = (Index("ix_sync_log_tenant_id_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    exchange: Mapped[str] = mapped_column(String(32))  # discount_server, commerceml, ...
    operation: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(8))  # info, warning, error
    document_type: Mapped[str | None] = mapped_column(String(100))
    document_id: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
