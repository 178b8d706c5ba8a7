"""The sync log, for support (CLI and API): the runs of import jobs and, beside them, one
entry per exchange call.

A run (``SyncRun``) is one import of one exchange file: its status (running, done, failed),
progress while running, counts, the first ``MAX_RUN_ERRORS`` errors (element path, Ид,
message), warnings and the stored file's name. An entry (``SyncLogEntry``) records one call
(which document, how many rows); an entry written by a run's job names it (``run_id``).

The filters mean the same for runs and entries where they apply:

- ``source``: the kind of exchange (``commerceml``, ``discount_server``): a run's ``source``,
  an entry's ``exchange``;
- ``exchange``: one exchange session (its id): the runs of that session and the entries those
  runs wrote (entries of calls outside a run, such as the discount server's, have none);
- ``since`` (inclusive) and ``until`` (exclusive): when a run started, when an entry was made;
- ``status``: runs only; ``level`` (info, warning, error): entries only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from processing.errors import NotFound
from sync.models import SyncLogEntry, SyncRun


class SyncRunNotFound(NotFound):
    message = "Загрузка не найдена в журнале обмена."


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
    run_id: int | None = None,
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
        run_id=run_id,
    )
    session.add(entry)
    session.flush()
    return entry


def read_runs(
    session: Session,
    *,
    tenant_id: int | None = None,
    exchange: str | None = None,
    source: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[SyncRun]:
    """Runs, the latest started first (see the module docstring for the filters)."""
    conditions: list[ColumnElement[bool]] = []
    if tenant_id is not None:
        conditions.append(SyncRun.tenant_id == tenant_id)
    if exchange is not None:
        conditions.append(SyncRun.session_id == exchange)
    if source is not None:
        conditions.append(SyncRun.source == source)
    if status is not None:
        conditions.append(SyncRun.status == status)
    if since is not None:
        conditions.append(SyncRun.started_at >= since)
    if until is not None:
        conditions.append(SyncRun.started_at < until)
    return session.scalars(
        select(SyncRun)
        .where(*conditions)
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()


def get_run(session: Session, run_id: int, *, tenant_id: int | None = None) -> SyncRun:
    """One run; NOT_FOUND for an unknown id or, given ``tenant_id``, another tenant's run."""
    run = session.get(SyncRun, run_id)
    if run is None or (tenant_id is not None and run.tenant_id != tenant_id):
        raise SyncRunNotFound(details={"run": run_id})
    return run


def read_entries(
    session: Session,
    *,
    tenant_id: int | None = None,
    exchange: str | None = None,
    source: str | None = None,
    level: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[SyncLogEntry]:
    """Entries, newest first (see the module docstring for the filters)."""
    conditions: list[ColumnElement[bool]] = []
    if tenant_id is not None:
        conditions.append(SyncLogEntry.tenant_id == tenant_id)
    if exchange is not None:
        runs = select(SyncRun.id).where(SyncRun.session_id == exchange)
        if tenant_id is not None:  # ix_sync_runs_identity leads with the tenant
            runs = runs.where(SyncRun.tenant_id == tenant_id)
        conditions.append(SyncLogEntry.run_id.in_(runs))
    if source is not None:
        conditions.append(SyncLogEntry.exchange == source)
    if level is not None:
        conditions.append(SyncLogEntry.level == level)
    if since is not None:
        conditions.append(SyncLogEntry.at >= since)
    if until is not None:
        conditions.append(SyncLogEntry.at < until)
    return session.scalars(
        select(SyncLogEntry)
        .where(*conditions)
        .order_by(SyncLogEntry.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()


def has_entry(session: Session, tenant_id: int, **match: Any) -> bool:
    conditions = [getattr(SyncLogEntry, name) == value for name, value in match.items()]
    return (
        session.scalar(
            select(SyncLogEntry.id).where(SyncLogEntry.tenant_id == tenant_id, *conditions).limit(1)
        )
        is not None
    )
