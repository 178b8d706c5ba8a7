"""A tenant's use of its tariff: what its store, POS and customer limits count (the same
conditions ``processing.tenants.service`` refuses the next object by)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.customers.models import Customer
from processing.tenants.models import Pos, Store, Tenant
from processing.tenants.service import STORE_LIMIT_COUNTS


@dataclass(frozen=True)
class Usage:
    tenant_id: int
    stores: int
    pos: int
    customers: int


def _counted(session: Session, query: object) -> dict[int, int]:
    return {row[0]: row[1] for row in session.execute(query)}  # type: ignore[call-overload]


def usage_of(session: Session, tenants: Iterable[Tenant]) -> dict[int, Usage]:
    """Each tenant's usage, in three queries whatever the number of tenants."""
    ids = [tenant.id for tenant in tenants]
    if not ids:
        return {}
    stores = _counted(
        session,
        select(Store.tenant_id, func.count())
        .where(Store.tenant_id.in_(ids), STORE_LIMIT_COUNTS)
        .group_by(Store.tenant_id),
    )
    pos = _counted(
        session,
        select(Pos.tenant_id, func.count()).where(Pos.tenant_id.in_(ids)).group_by(Pos.tenant_id),
    )
    customers = _counted(
        session,
        select(Customer.tenant_id, func.count())
        .where(Customer.tenant_id.in_(ids))
        .group_by(Customer.tenant_id),
    )
    return {
        tenant_id: Usage(
            tenant_id,
            stores.get(tenant_id, 0),
            pos.get(tenant_id, 0),
            customers.get(tenant_id, 0),
        )
        for tenant_id in ids
    }
