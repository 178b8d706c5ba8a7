"""Recording external ids on first sight."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mappings.models import ExternalId
from processing.db import insert_ignore

BATCH = 500


def remember(
    session: Session, tenant_id: int, ids: Mapping[str, Iterable[str | None]], source: str
) -> int:
    """Record every (kind, id) not seen before; returns how many were new."""
    now = datetime.now(UTC)
    rows = [
        {"tenant_id": tenant_id, "kind": kind, "external_id": value, "source": source,
         "first_seen_at": now}
        for kind, values in ids.items()
        for value in sorted({v for v in values if v})
    ]  # fmt: skip
    return sum(
        insert_ignore(
            session, ExternalId, rows[i : i + BATCH], ["tenant_id", "source", "kind", "external_id"]
        )
        for i in range(0, len(rows), BATCH)
    )


def bound(session: Session, tenant_id: int, source: str, kind: str, external_id: str) -> int | None:
    """The id of our object an external id was bound to (None: never bound)."""
    return session.scalar(
        select(ExternalId.internal_id).where(
            ExternalId.tenant_id == tenant_id, ExternalId.source == source,
            ExternalId.kind == kind, ExternalId.external_id == external_id,
        )
    )  # fmt: skip


def bind(
    session: Session, tenant_id: int, source: str, kind: str, external_id: str, internal_id: int
) -> None:
    """Bind an external id (of that source and kind) to our object ``internal_id``."""
    remember(session, tenant_id, {kind: [external_id]}, source)
    session.execute(
        update(ExternalId)
        .where(
            ExternalId.tenant_id == tenant_id, ExternalId.source == source,
            ExternalId.kind == kind, ExternalId.external_id == external_id,
        )
        .values(internal_id=internal_id)
    )  # fmt: skip
