"""Segments: named sets of a tenant's customers that promotion conditions name
(``customer.segments``) and mass accruals go to.

A segment is either a static list (members added and removed by customer id) or a saved filter
(``segment_filters``) whose members are materialised into ``segment_members`` by a refresh, a
batch of customers per transaction: the receipt path reads membership with one indexed query
either way. A refresh is idempotent (inserts the missing members, deletes those gone) and keeps
the member count and the time it finished.

Codes are compared without regard to case when segments are found or created; a promotion must
name a segment by its exact code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from processing.customers.models import Customer
from processing.customers.service import (
    InvalidCustomerField,
    clean_extra_value,
    clean_standard_value,
    extra_definitions,
)
from processing.db import insert_ignore
from processing.errors import Conflict, InvalidInput, NotFound
from processing.promotions.models import Segment, SegmentMember
from processing.promotions.segment_filters import (
    InvalidSegmentFilter,
    SegmentFilter,
    filter_conditions,
    parse_segment_filter,
)
from processing.tenants.models import Tenant
from processing.tenants.service import check_code
from processing.validation import InvalidProgramRules, bad_field

MAX_MEMBERS_PER_CALL = 10_000
REFRESH_BATCH = 5_000
STATIC = "static"
FILTER = "filter"


class SegmentNotFound(NotFound):
    code = "SEGMENT_NOT_FOUND"
    message = "Сегмент покупателей не найден."


class SegmentIsFilter(Conflict):
    code = "SEGMENT_IS_FILTER"
    message = (
        "Состав сегмента-фильтра вычисляется по его условиям: покупателей в него не добавляют "
        "и не удаляют вручную. Измените условия или создайте статический сегмент."
    )


class SegmentIsStatic(Conflict):
    code = "SEGMENT_IS_STATIC"
    message = (
        "Сегмент — список покупателей без условий: его состав меняют добавлением и удалением "
        "покупателей, пересчитывать нечего."
    )


def _same_code(code: str) -> ColumnElement[bool]:
    return func.lower(Segment.code) == code.strip().lower()


def check_field_values(
    session: Session,
    tenant_id: int,
    fields: Sequence[tuple[str, str | bool]],
    path: str,
    *,
    standard: Sequence[str] = (),
) -> None:
    """Refuse (``INVALID_PROGRAM_RULES`` naming ``path.<field>``) a field the tenant's
    questionnaire does not have (``standard`` names the customer's own fields allowed too) or
    a value it would never store in that form: a condition that can never hold."""
    definitions = extra_definitions(session, tenant_id) if fields else {}
    for code, value in fields:
        field = f"{path}.{code}"
        definition = definitions.get(code)
        if code not in standard and definition is None:
            known = ", ".join([*standard, *sorted(definitions)]) or "нет"
            raise bad_field(field, f"Нет такого поля анкеты: {code[:100]}. Поля: {known}")
        try:
            cleaned = (
                clean_standard_value(code, value)
                if definition is None
                else clean_extra_value(definition, value)
            )
        except InvalidCustomerField as error:
            raise bad_field(field, error.text) from error
        if cleaned != value:
            raise bad_field(field, f"Значение хранится как «{cleaned}»: укажите так")


def _checked_filter(session: Session, tenant_id: int, data: Any) -> SegmentFilter:
    """The parsed filter, its extra fields checked against the tenant's questionnaire."""
    found = parse_segment_filter(data)
    try:
        check_field_values(session, tenant_id, found.fields, "filter.fields")
    except InvalidProgramRules as error:
        raise InvalidSegmentFilter(error.text, details=error.details) from error
    return found


def add_segment(
    session: Session, tenant: Tenant, code: str, name: str, filter_data: Any = None
) -> Segment:
    """A static segment, or a filter segment when ``filter_data`` is given (its members come
    with the first refresh)."""
    code = check_code("code", code)
    if filter_data is not None:
        _checked_filter(session, tenant.id, filter_data)
    existing = session.scalar(
        select(Segment.code).where(Segment.tenant_id == tenant.id, _same_code(code))
    )
    if existing is not None:
        raise Conflict(
            "Сегмент с таким кодом уже есть (коды сравниваются без учёта регистра).",
            details={"segment": existing},
        )
    segment = Segment(
        tenant_id=tenant.id, code=code, name=name.strip() or code,
        kind=STATIC if filter_data is None else FILTER, filter=filter_data, member_count=0,
    )  # fmt: skip
    session.add(segment)
    session.flush()
    return segment


def change_segment(
    session: Session, segment: Segment, *, name: str | None = None, filter_data: Any = None
) -> Segment:
    """Rename a segment and, for a filter segment, replace its filter (the members follow with
    the next refresh)."""
    if filter_data is not None:
        if segment.kind != FILTER:
            raise SegmentIsStatic(details={"segment": segment.code})
        _checked_filter(session, segment.tenant_id, filter_data)
        segment.filter = filter_data
    if name is not None and name.strip():
        segment.name = name.strip()
    session.flush()
    return segment


def get_segment(session: Session, tenant: Tenant, code: str) -> Segment:
    segment = session.scalar(
        select(Segment)
        .where(Segment.tenant_id == tenant.id, _same_code(code))
        .order_by((Segment.code == code).desc())
        .limit(1)
    )
    if segment is None:
        raise SegmentNotFound(details={"segment": code})
    return segment


def tenant_segments(session: Session, tenant: Tenant) -> Sequence[Segment]:
    """The tenant's segments by code."""
    return session.scalars(
        select(Segment).where(Segment.tenant_id == tenant.id).order_by(Segment.code)
    ).all()


def _count_members(session: Session, segment: Segment) -> int:
    count = session.scalar(select(func.count()).where(SegmentMember.segment_id == segment.id))
    segment.member_count = int(count or 0)
    return segment.member_count


def change_members(
    session: Session, segment: Segment, add: Sequence[int], remove: Sequence[int]
) -> int:
    """Add and remove customers of a static segment (by id; all of them the segment's
    tenant's, or nothing is changed); answers the member count."""
    if segment.kind == FILTER:
        raise SegmentIsFilter(details={"segment": segment.code})
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
    return _count_members(session, segment)


def refresh_batch(
    session: Session, segment: Segment, after_id: int, now: datetime, batch: int = REFRESH_BATCH
) -> int | None:
    """Bring the members among the next ``batch`` customers of the tenant (ids above
    ``after_id``) in line with the filter at ``now``: the missing ones are inserted, those that
    no longer match deleted. Answers the last customer id of the batch (the checkpoint), None
    when no customer is left."""
    ids = session.scalars(
        select(Customer.id)
        .where(Customer.tenant_id == segment.tenant_id, Customer.id > after_id)
        .order_by(Customer.id)
        .limit(batch)
    ).all()
    if not ids:
        return None
    last = ids[-1]
    conditions = filter_conditions(parse_segment_filter(segment.filter), segment.tenant_id, now)
    matching = set(
        session.scalars(
            select(Customer.id).where(*conditions, Customer.id > after_id, Customer.id <= last)
        )
    )
    current = set(
        session.scalars(
            select(SegmentMember.customer_id).where(
                SegmentMember.segment_id == segment.id,
                SegmentMember.customer_id > after_id,
                SegmentMember.customer_id <= last,
            )
        )
    )
    missing = [{"segment_id": segment.id, "customer_id": i} for i in sorted(matching - current)]
    insert_ignore(session, SegmentMember, missing, ["segment_id", "customer_id"])
    gone = sorted(current - matching)
    if gone:
        session.execute(
            delete(SegmentMember).where(
                SegmentMember.segment_id == segment.id, SegmentMember.customer_id.in_(gone)
            )
        )
    session.flush()
    return last


def finish_refresh(session: Session, segment: Segment, now: datetime) -> int:
    """Record a finished refresh: the member count and when; answers the count."""
    segment.refreshed_at = now
    count = _count_members(session, segment)
    session.flush()
    return count


def refresh_segment(session: Session, segment: Segment, now: datetime) -> int:
    """A whole refresh in the caller's transaction (small tenants, the CLI); a job runs
    ``refresh_batch`` a transaction at a time instead."""
    if segment.kind != FILTER:
        raise SegmentIsStatic(details={"segment": segment.code})
    after: int | None = 0
    while after is not None:
        after = refresh_batch(session, segment, after, now)
    return finish_refresh(session, segment, now)


def filter_segment_ids(session: Session) -> list[int]:
    """Every filter segment of every tenant (the daily refresh)."""
    return list(
        session.scalars(select(Segment.id).where(Segment.kind == FILTER).order_by(Segment.id))
    )


def customer_segments(session: Session, customer_id: int) -> frozenset[str]:
    """The codes of the segments a customer belongs to."""
    return frozenset(
        session.scalars(
            select(Segment.code)
            .join(SegmentMember, SegmentMember.segment_id == Segment.id)
            .where(SegmentMember.customer_id == customer_id)
        )
    )


def check_segment_codes(
    session: Session, tenant_id: int, codes: Iterable[str], field: str = "rules.customer.segments"
) -> None:
    """Refuse (``INVALID_PROGRAM_RULES`` naming ``field``) codes that name no segment of the
    tenant exactly: promotions compare codes as written."""
    wanted = sorted(set(codes))
    if not wanted:
        return
    lowered = [code.lower() for code in wanted]
    stored = {
        code.lower(): code
        for code in session.scalars(
            select(Segment.code).where(
                Segment.tenant_id == tenant_id, func.lower(Segment.code).in_(lowered)
            )
        )
    }
    for code in wanted:
        exact = stored.get(code.lower())
        if exact is None:
            raise bad_field(field, f"Нет такого сегмента покупателей: {code}")
        if exact != code:
            raise bad_field(field, f"Сегмент называется «{exact}», а не «{code}»")
