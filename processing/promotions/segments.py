"""Segments: named lists of a tenant's customers that promotion conditions name
(``customer.segments``). Members are added and removed by customer id."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from processing.customers.models import Customer
from processing.db import insert_ignore
from processing.errors import Conflict, InvalidInput, NotFound
from processing.promotions.models import Segment, SegmentMember
from processing.tenants.models import Tenant
from processing.tenants.service import check_code

MAX_MEMBERS_PER_CALL = 10_000


class SegmentNotFound(NotFound):
    code = "SEGMENT_NOT_FOUND"
    message = "Сегмент покупателей не найден."


def add_segment(session: Session, tenant: Tenant, code: str, name: str) -> Segment:
    code = check_code("code", code)
    exists = select(Segment.id).where(Segment.tenant_id == tenant.id, Segment.code == code)
    if session.scalar(exists) is not None:
        raise Conflict("Сегмент с таким кодом уже есть.", details={"segment": code})
    segment = Segment(tenant_id=tenant.id, code=code, name=name.strip() or code)
    session.add(segment)
    session.flush()
    return segment


def get_segment(session: Session, tenant: Tenant, code: str) -> Segment:
    segment = session.scalar(
        select(Segment).where(Segment.tenant_id == tenant.id, Segment.code == code)
    )
    if segment is None:
        raise SegmentNotFound(details={"segment": code})
    return segment


def tenant_segments(session: Session, tenant: Tenant) -> list[tuple[Segment, int]]:
    """The tenant's segments by code, each with its member count."""
    rows = session.execute(
        select(Segment, func.count(SegmentMember.customer_id))
        .outerjoin(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(Segment.tenant_id == tenant.id)
        .group_by(Segment.id)
        .order_by(Segment.code)
    ).all()
    return [(segment, int(count)) for segment, count in rows]


def change_members(
    session: Session, segment: Segment, add: Sequence[int], remove: Sequence[int]
) -> int:
    """Add and remove customers (by id; all of them the segment's tenant's, or nothing is
    changed); answers the member count."""
    if len(add) + len(remove) > MAX_MEMBERS_PER_CALL:
        raise InvalidInput(
            f"Не больше {MAX_MEMBERS_PER_CALL} покупателей за один запрос.",
            details={"limit": MAX_MEMBERS_PER_CALL},
        )
    wanted = set(add)
    if wanted:
        known = set(
            session.scalars(
                select(Customer.id).where(
                    Customer.tenant_id == segment.tenant_id, Customer.id.in_(wanted)
                )
            )
        )
        missing = sorted(wanted - known)
        if missing:
            raise InvalidInput(
                "Покупатели не найдены: " + ", ".join(map(str, missing[:20])) + ".",
                details={"customers": missing[:100]},
            )
        insert_ignore(session, SegmentMember,
                      [{"segment_id": segment.id, "customer_id": i} for i in sorted(wanted)],
                      ["segment_id", "customer_id"])  # fmt: skip
    if remove:
        session.execute(
            delete(SegmentMember).where(
                SegmentMember.segment_id == segment.id, SegmentMember.customer_id.in_(remove)
            )
        )
    session.flush()
    count = session.scalar(select(func.count()).where(SegmentMember.segment_id == segment.id))
    return int(count or 0)


def customer_segments(session: Session, customer_id: int) -> frozenset[str]:
    """The codes of the segments a customer belongs to."""
    return frozenset(
        session.scalars(
            select(Segment.code)
            .join(SegmentMember, SegmentMember.segment_id == Segment.id)
            .where(SegmentMember.customer_id == customer_id)
        )
    )
