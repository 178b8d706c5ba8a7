"""POS callers by bearer token, cached per process.

Every receipt call names its POS by token. Each process keeps what the hot paths need of the
POS, its store and tenant for CALLER_TTL_S (a ``ProcessCache``: only committed reads): a change of
a tenant, store or POS made by this process applies at once, one made elsewhere (another worker,
the CLI) within CALLER_TTL_S — a revoked token included.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.cache import ProcessCache
from processing.tenants.models import Pos, Store, Tenant
from processing.tenants.service import hash_token, refuse_suspended

CALLER_TTL_S = 10.0


@dataclass(frozen=True)
class PosCaller:
    """What the receipt hot paths need of the calling POS, its store and tenant: plain values
    that a process may keep between requests."""

    tenant_id: int
    store_id: int
    pos_id: int
    store_code: str
    pos_code: str
    timezone: str
    questionnaire_required: tuple[str, ...]
    questionnaire_policy: str
    sums_tolerance: Decimal
    line_sum_tolerance: Decimal
    sold_at_ahead_minutes: int
    offline_window_days: int
    features: frozenset[str]

    @classmethod
    def of(cls, tenant: Tenant, store: Store, pos: Pos) -> PosCaller:
        return cls(
            tenant_id=tenant.id, store_id=store.id, pos_id=pos.id, store_code=store.code,
            pos_code=pos.code, timezone=store.timezone,
            questionnaire_required=tuple(tenant.questionnaire_required),
            questionnaire_policy=tenant.questionnaire_policy,
            sums_tolerance=tenant.sums_tolerance,
            line_sum_tolerance=tenant.line_sum_tolerance,
            sold_at_ahead_minutes=tenant.sold_at_ahead_minutes,
            offline_window_days=tenant.offline_window_days,
            features=frozenset(tenant.features),
        )  # fmt: skip


callers_cache = ProcessCache[str, PosCaller](
    "pos-callers", CALLER_TTL_S, watches=(Tenant, Store, Pos)
)


def _rows(session: Session, *condition: Any) -> tuple[Tenant, Store, Pos] | None:
    row = session.execute(
        select(Tenant, Store, Pos)
        .join(Store, Store.tenant_id == Tenant.id)
        .join(Pos, Pos.store_id == Store.id)
        .where(*condition)
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def caller_by_token(
    session: Session, token: str
) -> tuple[PosCaller, tuple[Tenant, Store, Pos] | None] | None:
    """The POS a token names (None: unknown or revoked), with its rows when they had to be
    read (not cached)."""
    key = hash_token(token)
    cached = callers_cache.get(key)
    if cached is not None:
        return cached, None
    # A store over the tariff's limit, created inactive from a 1C warehouse, serves no POS.
    rows = _rows(session, Pos.token_hash == key, Pos.revoked_at.is_(None), Store.active.is_(True))
    if rows is None:
        return None
    refuse_suspended(rows[0])
    caller = PosCaller.of(*rows)
    callers_cache.stage(session, key, caller)
    return caller, rows


def caller_rows(
    session: Session, caller: PosCaller, rows: tuple[Tenant, Store, Pos] | None = None
) -> tuple[Tenant, Store, Pos]:
    """The caller's rows: those already read, else read now."""
    rows = rows or _rows(session, Pos.id == caller.pos_id)
    if rows is None:
        raise LookupError(f"POS {caller.pos_id} is gone")
    return rows
