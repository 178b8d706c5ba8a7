"""The sync log: one entry per exchange call, readable by support (CLI and API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.models import SyncLogEntry


def write_entry(
    session: Session,
    tenant_id: int,
    *,
    exchange: str,
    operation: str,
    message: str,
    level: str = "info",
    document_type: str | None = None,
    document_id: str | None = None,
    counts: Mapping[str, int] | None = None,
    now: datetime | None = None,
) -> SyncLogEntry:
    entry = SyncLogEntry(
        tenant_id=tenant_id,
        at=now or datetime.now(UTC),
        exchange=exchange,
        operation=operation,
        level=level,
        document_type=document_type,
        document_id=document_id,
        message=message,
        counts=dict(counts or {}),
    )
    session.add(entry)
    session.flush()
    return entry


def read_entries(
    session: Session,
    *,
    tenant_id: int | None = None,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[SyncLogEntry]:
    stmt = select(SyncLogEntry).order_by(SyncLogEntry.id.desc()).limit(limit).offset(offset)
    if tenant_id is not None:
        stmt = stmt.where(SyncLogEntry.tenant_id == tenant_id)
    if since is not None:
        stmt = stmt.where(SyncLogEntry.at >= since)
    return session.scalars(stmt).all()


def has_entry(session: Session, tenant_id: int, **match: Any) -> bool:
    conditions = [getattr(SyncLogEntry, name) == value for name, value in match.items()]
    return (
        session.scalar(
            select(SyncLogEntry.id).where(SyncLogEntry.tenant_id == tenant_id, *conditions).limit(1)
        )
        is not None
    )
