"""Segments: named sets of a tenant's customers that promotion conditions name
(``customer.segments``) and mass accruals go to.

A segment is either a static list (members added and removed by customer id) or a saved filter
(``segment_filters``) whose members are materialised into ``segment_members`` by a refresh, a
batch of customers per transaction: the receipt path reads membership with one indexed query
either way. A refresh is idempotent (inserts the missing members, deletes those gone) and keeps
the member count and the time it finished.

Codes are compared without regard to case when segments are found or created; a promotion must
name a segment by its exact code.

A segment is ``active``, ``paused`` (the refreshes leave it alone: its members stay as they are
and promotions go on using them) or ``archived`` for good (not refreshed, its members not
changed, no new promotion version may name it; refused while a current or future version of an
active or paused promotion names it). The promotion tables are named by string, as
``segment_filters`` names the receipt tables: ``processing.programs`` imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    String,
    column,
    delete,
    func,
    or_,
    select,
    table,
)
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
from processing.types import UtcDateTime
from processing.validation import InvalidProgramRules, bad_field

MAX_MEMBERS_PER_CALL = 10_000
REFRESH_BATCH = 5_000
STATIC = "static"
FILTER = "filter"
ACTIVE = "active"
PAUSED = "paused"
ARCHIVED = "archived"
SEGMENT_STATUSES = (ACTIVE, PAUSED, ARCHIVED)
STATUS_TITLES = {ACTIVE: "действует", PAUSED: "приостановлен", ARCHIVED: "в архиве"}

_PROGRAMS = table(
    "programs",
    column("id", Integer),
    column("tenant_id", Integer),
    column("kind", String),
    column("code", String),
    column("status", String),
)
# Mass accruals name their segment (``processing.accruals`` imports this module): one not
# finished keeps the segment out of the archive.
_MASS_ACCRUALS = table(
    "mass_accruals",
    column("id", Integer),
    column("segment_id", Integer),
    column("status", String),
)
UNFINISHED_ACCRUALS = ("scheduled", "running")
_VERSIONS = table(
    "program_versions",
    column("program_id", Integer),
    column("effective_to", UtcDateTime()),
    column("rules", JSON),
)


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


class ArchivedSegment(InvalidInput):
    code = "SEGMENT_ARCHIVED"
    message = "Сегмент в архиве: его нельзя возобновить или приостановить, создайте новый."


class SegmentNotActive(Conflict):
    code = "SEGMENT_NOT_ACTIVE"
    message = "Сегмент приостановлен или в архиве: его состав сейчас не меняется."


class SegmentInUse(Conflict):
    code = "SEGMENT_IN_USE"
    message = (
        "Сегмент назван в условиях действующих или приостановленных акций: в архив его "
        "переводят, когда ни одна их текущая или будущая версия его не называет."
    )


PAUSED_TEXT = (
    "Сегмент приостановлен: его состав не пересчитывается. Возобновите его (статус active), "
    "чтобы пересчитать."
)
ARCHIVED_TEXT = "Сегмент в архиве: его состав больше не меняется."


def _not_active(segment: Segment) -> SegmentNotActive:
    return SegmentNotActive(
        PAUSED_TEXT if segment.status == PAUSED else ARCHIVED_TEXT,
        details={"segment": segment.code, "status": segment.status},
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
        check_usable(segment)
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
    check_usable(segment)
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
    when no customer is left (or the segment is paused or archived: its members stay)."""
    if segment.status != ACTIVE:
        return None
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
    """Record a finished refresh: the member count and when (a segment paused or archived
    meanwhile was not refreshed: only its count is taken); answers the count."""
    if segment.status == ACTIVE:
        segment.refreshed_at = now
    count = _count_members(session, segment)
    session.flush()
    return count


def refresh_segment(session: Session, segment: Segment, now: datetime) -> int:
    """A whole refresh in the caller's transaction (small tenants, the CLI); a job runs
    ``refresh_batch`` a transaction at a time instead."""
    check_refreshable(segment)
    after: int | None = 0
    while after is not None:
        after = refresh_batch(session, segment, after, now)
    return finish_refresh(session, segment, now)


def filter_segment_ids(session: Session) -> list[int]:
    """Every active filter segment of every tenant (the daily refresh)."""
    return list(
        session.scalars(
            select(Segment.id)
            .where(Segment.kind == FILTER, Segment.status == ACTIVE)
            .order_by(Segment.id)
        )
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
    tenant exactly, or an archived one: promotions compare codes as written. The segments named
    stay share-locked to the end of the transaction, so one archived meanwhile
    (``set_segment_status``) either waits for this version or is seen archived here."""
    wanted = sorted(set(codes))
    if not wanted:
        return
    lowered = [code.lower() for code in wanted]
    stored = {
        code.lower(): (code, status)
        for code, status in session.execute(
            select(Segment.code, Segment.status)
            .where(Segment.tenant_id == tenant_id, func.lower(Segment.code).in_(lowered))
            .with_for_update(read=True)
        )
    }
    for code in wanted:
        exact, status = stored.get(code.lower(), (None, None))
        if exact is None:
            raise bad_field(field, f"Нет такого сегмента покупателей: {code}")
        if exact != code:
            raise bad_field(field, f"Сегмент называется «{exact}», а не «{code}»")
        if status == ARCHIVED:
            raise bad_field(field, f"Сегмент «{code}» в архиве: выберите действующий сегмент")


def lock_usable(session: Session, segment: Segment) -> None:
    """``check_usable`` on the segment's locked row: an archiving at the same moment waits, and
    then sees what this use adds (a mass accrual)."""
    session.refresh(segment, ["status"], with_for_update=True)
    check_usable(segment)


def check_usable(segment: Segment) -> None:
    """Refuse (``SEGMENT_NOT_ACTIVE``) a change or a new use of an archived segment (its
    filter, its members, a mass accrual)."""
    if segment.status == ARCHIVED:
        raise _not_active(segment)


def check_refreshable(segment: Segment) -> None:
    """Refuse a refresh asked of a static segment (``SEGMENT_IS_STATIC``) or of a paused or
    archived one (``SEGMENT_NOT_ACTIVE``)."""
    if segment.kind != FILTER:
        raise SegmentIsStatic(details={"segment": segment.code})
    if segment.status != ACTIVE:
        raise _not_active(segment)


def _named_segments(rules: Any) -> set[str]:
    """The segment codes (lowered) a stored promotion version's rules name."""
    customer = rules.get("customer") if isinstance(rules, dict) else None
    named = customer.get("segments") if isinstance(customer, dict) else None
    if not isinstance(named, list):
        return set()
    return {code.lower() for code in named if isinstance(code, str)}


def segment_promotions(session: Session, segment: Segment, now: datetime) -> list[str]:
    """The codes of the tenant's active or paused promotions whose current or future version
    (not ended at ``now``) names the segment."""
    rows = session.execute(
        select(_PROGRAMS.c.code, _VERSIONS.c.rules)
        .join(_VERSIONS, _VERSIONS.c.program_id == _PROGRAMS.c.id)
        .where(
            _PROGRAMS.c.tenant_id == segment.tenant_id,
            _PROGRAMS.c.kind == "promotion",
            _PROGRAMS.c.status.in_((ACTIVE, PAUSED)),
            or_(_VERSIONS.c.effective_to.is_(None), _VERSIONS.c.effective_to > now),
        )
    )
    wanted = segment.code.lower()
    return sorted({code for code, rules in rows if wanted in _named_segments(rules)})


def set_segment_status(session: Session, segment: Segment, status: str, now: datetime) -> Segment:
    """Pause (not refreshed, its members kept and still used by promotions), resume or archive
    a segment for good (not refreshed, its members not changed, no new promotion version names
    it). Archiving is refused while a current or future version of an active or paused
    promotion names the segment; the row is locked, so a version added meanwhile is seen."""
    if status not in SEGMENT_STATUSES:
        titles = ", ".join(f"{s} ({t})" for s, t in STATUS_TITLES.items())
        raise InvalidInput(f"Состояние сегмента: {titles}.", details={"field": "status"})
    session.refresh(segment, ["status"], with_for_update=True)
    if segment.status == ARCHIVED and status != ARCHIVED:
        raise ArchivedSegment(details={"segment": segment.code})
    if status == ARCHIVED and segment.status != ARCHIVED:
        users = segment_promotions(session, segment, now)
        if users:
            shown = ", ".join(users[:20]) + (" и другие" if len(users) > 20 else "")
            raise SegmentInUse(
                f"Сегмент «{segment.code}» назван в условиях акций: {shown}. В архив его "
                "переводят, когда ни одна действующая или приостановленная акция не называет "
                "его в текущей или будущей версии: добавьте им версию без этого сегмента или "
                "переведите их в архив.",
                details={"segment": segment.code, "promotions": users[:100]},
            )
        accruals = session.scalars(
            select(_MASS_ACCRUALS.c.id).where(
                _MASS_ACCRUALS.c.segment_id == segment.id,
                _MASS_ACCRUALS.c.status.in_(UNFINISHED_ACCRUALS),
            )
        ).all()
        if accruals:
            raise SegmentInUse(
                f"Сегменту «{segment.code}» запланировано массовое начисление бонусов: в архив "
                "его переводят, когда начисление проведено или отменено.",
                details={"segment": segment.code, "mass_accruals": list(accruals)},
            )
    segment.status = status
    session.flush()
    return segment
