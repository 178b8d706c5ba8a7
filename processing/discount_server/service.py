"""Storing what shops post and computing the discount server's answers.

Each ``replace_*`` call replaces everything stored for one document (tenant, type, id) in the
caller's transaction: re-posting a document resends it, an empty table clears it. The answers
follow shared/protocols/retail-discount-server.md; every id is accepted on first sight, and an
unknown card simply has no rows (zeros, never an error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from processing.coupons.errors import CouponCustomerRequired, CouponWrongCustomer
from processing.coupons.lifecycle import registry_state
from processing.discount_server.models import BonusRow, CouponRow, SaleRow
from processing.tenants.models import Store, Tenant
from processing.types import money_total

ZERO = Decimal("0.00")
ACTIVE_COUPON = "Активна"


@dataclass(frozen=True)
class SaleIn:
    period: datetime
    card_id: str | None
    goods_id: str | None
    characteristic_id: str | None
    amount: Decimal | None
    quantity: Decimal | None


@dataclass(frozen=True)
class BonusIn:
    period: datetime
    movement: int
    program_id: str | None
    card_id: str | None
    accrued: Decimal | None
    to_write_off: Decimal | None


@dataclass(frozen=True)
class CouponIn:
    period: datetime
    discount_id: str | None
    coupon_code: str | None
    state: str | None
    store_id: str | None
    valid_until: datetime | None


RowIn = SaleIn | BonusIn | CouponIn
RowModel = type[SaleRow] | type[BonusRow] | type[CouponRow]


def replace_rows(
    session: Session,
    model: RowModel,
    tenant_id: int,
    document_type: str,
    document_id: str,
    rows: Sequence[RowIn],
) -> int:
    """Replace everything stored for one document with ``rows`` (field names are columns)."""
    _clear(session, model, tenant_id, document_type, document_id)
    session.add_all(
        model(
            tenant_id=tenant_id, document_type=document_type, document_id=document_id,
            **asdict(row),
        )
        for row in rows
    )  # fmt: skip
    session.flush()
    return len(rows)


def _clear(
    session: Session,
    model: RowModel,
    tenant_id: int,
    document_type: str,
    document_id: str,
) -> None:
    session.execute(
        delete(model).where(
            model.tenant_id == tenant_id,
            model.document_type == document_type,
            model.document_id == document_id,
        )
    )


def _sales_of(
    tenant_id: int, card_id: str, excluded_document: str | None
) -> list[ColumnElement[bool]]:
    conditions = [SaleRow.tenant_id == tenant_id, SaleRow.card_id == card_id]
    if excluded_document:
        conditions.append(SaleRow.document_id != excluded_document)
    return conditions


def _quantity_total(value: Decimal | None) -> Decimal:
    """``SUM`` of a quantity column is read back through the column's type; no rows: 0."""
    return Decimal("0.000") if value is None else value


def accumulation(
    session: Session,
    tenant_id: int,
    card_id: str,
    start: datetime | None,
    end: datetime | None,
    excluded_document: str | None,
) -> tuple[Decimal, Decimal]:
    """Sum and quantity of the card's sales rows with start ≤ Период ≤ end."""
    conditions = _sales_of(tenant_id, card_id, excluded_document)
    if start is not None:
        conditions.append(SaleRow.period >= start)
    if end is not None:
        conditions.append(SaleRow.period <= end)
    amount, quantity = session.execute(
        select(money_total(SaleRow.amount), func.sum(SaleRow.quantity)).where(*conditions)
    ).one()
    return amount, _quantity_total(quantity)


def last_purchase(
    session: Session,
    tenant_id: int,
    card_id: str,
    before: datetime | None,
    excluded_document: str | None,
) -> tuple[datetime, Decimal, Decimal] | None:
    """Date, sum and quantity of the card's latest sale document with a positive sum."""
    conditions = _sales_of(tenant_id, card_id, excluded_document)
    if before is not None:
        conditions.append(SaleRow.period < before)
    total = money_total(SaleRow.amount)
    row = session.execute(
        select(func.max(SaleRow.period), total, func.sum(SaleRow.quantity))
        .where(*conditions)
        .group_by(SaleRow.document_type, SaleRow.document_id)
        .having(func.coalesce(func.sum(SaleRow.amount), 0) > 0)
        .order_by(func.max(SaleRow.period).desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    return row[0], row[1], _quantity_total(row[2])


def _signed(value: InstrumentedAttribute[Decimal | None]) -> ColumnElement[Decimal]:
    """A register resource with its movement's sign: приход adds, расход subtracts."""
    return case((BonusRow.movement == 1, -value), else_=value)


def _bonus_remainders(
    session: Session, tenant_id: int, card_id: str, condition: ColumnElement[bool]
) -> Decimal:
    accrued, written = session.execute(
        select(
            money_total(_signed(BonusRow.accrued)),
            money_total(_signed(BonusRow.to_write_off)),
        ).where(BonusRow.tenant_id == tenant_id, BonusRow.card_id == card_id, condition)
    ).one()
    return max(ZERO, max(ZERO, accrued) - max(ZERO, written))


def bonus_balance(session: Session, tenant_id: int, card_id: str, at: datetime) -> Decimal:
    """The balance at ``at`` as 1C's БонусныеБаллы register gives it: rows before that moment."""
    return _bonus_remainders(session, tenant_id, card_id, BonusRow.period < at)


@dataclass(frozen=True)
class BalanceStep:
    label: str
    balance: Decimal
    change: Decimal
    current: bool


def bonus_schedule(
    session: Session, tenant_id: int, card_id: str, at: datetime
) -> list[BalanceStep]:
    """The current balance ("Сейчас") and the balance from each later dated row on."""
    current = bonus_balance(session, tenant_id, card_id, at)
    steps = [BalanceStep("Сейчас", current, ZERO, True)]
    future = session.scalars(
        select(BonusRow.period)
        .where(BonusRow.tenant_id == tenant_id, BonusRow.card_id == card_id, BonusRow.period >= at)
        .group_by(BonusRow.period)
        .order_by(BonusRow.period)
    ).all()
    previous = current
    for moment in future:
        value = _bonus_remainders(session, tenant_id, card_id, BonusRow.period <= moment)
        label = f"с {moment:%d.%m.%Y}"
        if moment.time() != datetime.min.time():
            label += f" {moment:%H:%M}"
        steps.append(BalanceStep(label, value, value - previous, False))
        previous = value
    return steps


def active_coupons(session: Session, tenant_id: int, code: str, at: datetime) -> list[CouponRow]:
    """Per discount, the coupon's latest state at ``at`` (a shop's wall clock), kept when
    Активна and still valid — none when the coupon registry holds the code and it cannot be
    used then (the registry is the authority where the two meet, docs/coupons.md)."""
    held = registry_state(session, tenant_id, code, _as_utc(session, tenant_id, at))
    if (
        held is not None
        and held.refusal is not None
        and not isinstance(held.refusal, CouponCustomerRequired | CouponWrongCustomer)
    ):
        return []
    rows = session.scalars(
        select(CouponRow)
        .where(
            CouponRow.tenant_id == tenant_id, CouponRow.coupon_code == code, CouponRow.period <= at
        )
        .order_by(CouponRow.discount_id, CouponRow.period.desc(), CouponRow.id.desc())
    ).all()
    latest: dict[str | None, CouponRow] = {}
    for row in rows:
        latest.setdefault(row.discount_id, row)
    return [
        row
        for row in latest.values()
        if row.state == ACTIVE_COUPON and (row.valid_until is None or row.valid_until >= at)
    ]


def _zone(session: Session, tenant_id: int) -> ZoneInfo:
    """The shops' clock: the tenant's first store's zone (Moscow by default)."""
    zone = session.scalar(
        select(Store.timezone).where(Store.tenant_id == tenant_id).order_by(Store.id).limit(1)
    )
    return ZoneInfo(zone or "Europe/Moscow")


def tenant_now(session: Session, tenant: Tenant) -> datetime:
    """'Now' as a shop's wall clock."""
    return datetime.now(UTC).astimezone(_zone(session, tenant.id)).replace(tzinfo=None)


def _as_utc(session: Session, tenant_id: int, at: datetime) -> datetime:
    if at.tzinfo is not None:
        return at.astimezone(UTC)
    return at.replace(tzinfo=_zone(session, tenant_id)).astimezone(UTC)
