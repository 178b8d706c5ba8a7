"""Mass accruals: bonus to every member of a segment at a scheduled time, once per customer.

Created ``scheduled``; when due, a job refreshes a filter segment's members, then works through
the members a batch per transaction (``run_batch``: ``running``, the last customer id as the
checkpoint, counts of credited and skipped customers) until ``done``. Until it starts it may be
``cancelled``. Each member's credit is the event ``mass:<id>`` (``accrue_event``), so a batch run
twice, or two jobs of the same accrual, credit nobody twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.accruals.models import MassAccrual
from processing.accruals.service import accrue_event, has_bonus
from processing.customers.models import Customer
from processing.db import lock_rows
from processing.errors import Conflict, InvalidInput, NotFound
from processing.programs.rules import EventBonus, parse_event_bonus
from processing.promotions.models import Segment, SegmentMember
from processing.promotions.segments import FILTER, lock_usable
from processing.receipts.checks import BonusNotInTariff as ReceiptBonusNotInTariff
from processing.tenants.models import Tenant
from processing.validation import InvalidProgramRules

SCHEDULED, RUNNING, DONE, CANCELLED = "scheduled", "running", "done", "cancelled"
STATUS_TITLES = {
    SCHEDULED: "запланировано",
    RUNNING: "выполняется",
    DONE: "выполнено",
    CANCELLED: "отменено",
}
BATCH = 500
LIST_LIMIT = 200


class MassAccrualNotFound(NotFound):
    code = "MASS_ACCRUAL_NOT_FOUND"
    message = "Массовое начисление не найдено."


class MassAccrualStarted(Conflict):
    code = "MASS_ACCRUAL_STARTED"
    message = "Массовое начисление уже началось или завершено: отменить его нельзя."


class BonusNotInTariff(ReceiptBonusNotInTariff):
    """The receipts' refusal (its code) with the words of a mass accrual."""

    message = "Бонусная программа не входит в тариф: начислить бонусы нельзя."


def mass_event(accrual_id: int) -> str:
    return f"mass:{accrual_id}"


def add_mass_accrual(
    session: Session,
    tenant: Tenant,
    segment: Segment,
    *,
    name: str,
    amount: Decimal,
    run_at: datetime,
    activation_delay_days: int = 0,
    lifetime_days: int | None = None,
    author: str,
    now: datetime,
) -> MassAccrual:
    """Schedule ``amount`` of bonus to every member of ``segment`` at ``run_at`` (now or
    later), with the lot's activation delay and lifetime. Refusals name the field."""
    if not has_bonus(tenant):
        raise BonusNotInTariff(details={"tariff": tenant.tariff})
    if segment.tenant_id != tenant.id:
        raise NotFound("Сегмент покупателей не найден.")
    lock_usable(session, segment)
    if not name.strip():
        raise InvalidInput("Укажите название начисления: его увидят в выписке.",
                           details={"field": "name"})  # fmt: skip
    try:
        bonus = parse_event_bonus(
            {"amount": str(amount), "activation_delay_days": activation_delay_days,
             "lifetime_days": lifetime_days}, "",
        )  # fmt: skip
    except InvalidProgramRules as error:
        # The same checks as a bonus program's welcome and birthday, on top-level fields.
        path = error.details["field"]
        field = path.lstrip(".")
        text = error.text.replace(f"(поле {path})", f"(поле {field})")
        raise InvalidInput(text, details={"field": field}) from error
    accrual = MassAccrual(
        tenant_id=tenant.id, segment_id=segment.id, name=name.strip(), amount=bonus.amount,
        activation_delay_days=bonus.activation_delay_days, lifetime_days=bonus.lifetime_days,
        run_at=max(run_at, now), status=SCHEDULED, author=author, created_at=now, members=0,
        credited=0, skipped=0, last_customer_id=0,
    )  # fmt: skip
    session.add(accrual)
    session.flush()
    return accrual


def get_mass_accrual(session: Session, tenant: Tenant, accrual_id: int) -> MassAccrual:
    accrual = session.get(MassAccrual, accrual_id)
    if accrual is None or accrual.tenant_id != tenant.id:
        raise MassAccrualNotFound(details={"mass_accrual": accrual_id})
    return accrual


def tenant_mass_accruals(session: Session, tenant: Tenant) -> Sequence[MassAccrual]:
    """The tenant's latest mass accruals, newest first."""
    return session.scalars(
        select(MassAccrual)
        .where(MassAccrual.tenant_id == tenant.id)
        .order_by(MassAccrual.id.desc())
        .limit(LIST_LIMIT)
    ).all()


def cancel_mass_accrual(session: Session, accrual: MassAccrual, now: datetime) -> MassAccrual:
    """Cancel a scheduled accrual (cancelling a cancelled one changes nothing); one that has
    started or finished is refused."""
    current = session.scalar(
        lock_rows(select(MassAccrual).where(MassAccrual.id == accrual.id)).execution_options(
            populate_existing=True
        )
    )
    if current is None or current.status == CANCELLED:
        return accrual
    if current.status != SCHEDULED:
        raise MassAccrualStarted(details={"mass_accrual": current.id, "status": current.status})
    current.status, current.cancelled_at = CANCELLED, now
    session.flush()
    return current


def is_due(accrual: MassAccrual, now: datetime) -> bool:
    return accrual.status in (SCHEDULED, RUNNING) and accrual.run_at <= now


def due_mass_accruals(session: Session, now: datetime) -> list[tuple[int, int]]:
    """Every accrual to run or resume at ``now``, of every tenant, with its segment's member
    count (to size the job)."""
    rows = session.execute(
        select(MassAccrual.id, Segment.member_count)
        .join(Segment, Segment.id == MassAccrual.segment_id)
        .where(MassAccrual.status.in_([SCHEDULED, RUNNING]), MassAccrual.run_at <= now)
        .order_by(MassAccrual.run_at, MassAccrual.id)
    ).all()
    return [(accrual_id, members) for accrual_id, members in rows]


@dataclass(frozen=True)
class Start:
    """What a job needs before the first batch: whether to run and which segment to refresh."""

    due: bool
    segment_id: int
    refresh: bool  # a filter segment that has not started: refresh its members first


def prepare(session: Session, accrual_id: int, now: datetime) -> Start | None:
    accrual = session.get(MassAccrual, accrual_id)
    if accrual is None:
        return None
    segment = session.get_one(Segment, accrual.segment_id)
    return Start(
        is_due(accrual, now), segment.id, accrual.status == SCHEDULED and segment.kind == FILTER
    )


def run_batch(session: Session, accrual_id: int, now: datetime, batch: int = BATCH) -> bool:
    """Credit the next ``batch`` members under the accrual's row lock (started here when it is
    due); answers whether members are left."""
    accrual = session.scalar(
        lock_rows(select(MassAccrual).where(MassAccrual.id == accrual_id)).execution_options(
            populate_existing=True
        )
    )
    if accrual is None or not is_due(accrual, now):
        return False
    segment = session.get_one(Segment, accrual.segment_id)
    if accrual.status == SCHEDULED:
        accrual.status, accrual.started_at, accrual.members = RUNNING, now, segment.member_count
    customers = session.scalars(
        select(Customer)
        .join(SegmentMember, SegmentMember.customer_id == Customer.id)
        .where(
            SegmentMember.segment_id == segment.id,
            Customer.id > accrual.last_customer_id,
        )
        .order_by(Customer.id)
        .limit(batch)
    ).all()
    if not customers:
        accrual.status, accrual.finished_at = DONE, now
        session.flush()
        return False
    tenant = session.get_one(Tenant, accrual.tenant_id)
    bonus = EventBonus(accrual.amount, accrual.activation_delay_days, accrual.lifetime_days)
    for customer in customers:
        credited = accrue_event(
            session, tenant, customer, mass_event(accrual.id), bonus, reason=accrual.name,
            now=now,
        )  # fmt: skip
        if credited is not None:
            accrual.credited += 1
        else:
            accrual.skipped += 1
    accrual.last_customer_id = customers[-1].id
    session.flush()
    return True
