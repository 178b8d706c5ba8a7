"""Where the tenant's certificates are: count, nominal and remainder by location (accounting,
each store, each POS, customers, written off) and status; and the certificates held at one POS
(the cashier's end-of-shift tape)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from processing.certificates.models import (
    LOCATION_OF_STATUS,
    Certificate,
    CertificateStatus,
)
from processing.money import from_kopecks
from processing.tenants.models import Pos, Store


@dataclass(frozen=True)
class StockRow:
    location: str  # models.LOCATION_OF_STATUS
    store: str | None
    pos: str | None
    status: str
    count: int
    nominal: Decimal
    balance: Decimal


def stock_report(session: Session, tenant_id: int) -> list[StockRow]:
    """One row per location and status that holds certificates, accounting first, then stores
    and POS by code."""
    store, pos = aliased(Store), aliased(Pos)
    rows = session.execute(
        select(
            Certificate.status,
            store.code,
            pos.code,
            func.count(),
            func.coalesce(func.sum(Certificate.nominal), 0),
            func.coalesce(func.sum(Certificate.balance), 0),
        )
        .outerjoin(store, store.id == Certificate.store_id)
        .outerjoin(pos, pos.id == Certificate.pos_id)
        .where(Certificate.tenant_id == tenant_id)
        .group_by(Certificate.status, store.code, pos.code)
    ).all()
    order = list(CertificateStatus)
    found = [
        StockRow(
            LOCATION_OF_STATUS[CertificateStatus(status)], store_code, pos_code, status, count,
            from_kopecks(int(nominal or 0)), from_kopecks(int(balance or 0)),
        )
        for status, store_code, pos_code, count, nominal, balance in rows
    ]  # fmt: skip
    return sorted(
        found, key=lambda r: (order.index(CertificateStatus(r.status)), r.store or "", r.pos or "")
    )


def certificates_at_pos(session: Session, tenant_id: int, pos_id: int) -> Sequence[Certificate]:
    """The certificates held at the POS (status at_pos), by code."""
    return session.scalars(
        select(Certificate)
        .where(
            Certificate.tenant_id == tenant_id,
            Certificate.pos_id == pos_id,
            Certificate.status == CertificateStatus.AT_POS,
        )
        .order_by(Certificate.code)
    ).all()
