"""Recording purchases for levels, overrides, and the level of an account today."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.errors import InvalidInput
from processing.levels.compute import LevelDecision, decide_level, window_bounds
from processing.levels.models import LevelOverride, PurchaseStat
from processing.programs.rules import LevelRules
from processing.types import money_total


def record_purchase(
    session: Session,
    account_id: int,
    local_date: date,
    amount: Decimal,
    purchases: int,
    operation: str | None = None,
) -> None:
    """Add a receipt's net sum (negative for returns) and count change to the level basis."""
    session.add(
        PurchaseStat(
            account_id=account_id,
            local_date=local_date,
            amount=amount,
            purchases=purchases,
            operation=operation,
        )
    )
    session.flush()


def window_value(session: Session, account_id: int, rules: LevelRules, today: date) -> Decimal:
    """The window's net sum or purchase count (whatever is recorded: the receipt being
    calculated is recorded only when it is committed, so it is never counted)."""
    start, end = window_bounds(rules.window, today)
    column = (
        money_total(PurchaseStat.amount)
        if rules.basis == "sum"
        else func.coalesce(func.sum(PurchaseStat.purchases), 0)
    )
    total = session.scalar(
        select(column).where(
            PurchaseStat.account_id == account_id,
            PurchaseStat.local_date >= start,
            PurchaseStat.local_date <= end,
        )
    )
    return Decimal(str(total or 0))


def current_override(session: Session, account_id: int) -> LevelOverride | None:
    return session.scalar(
        select(LevelOverride)
        .where(LevelOverride.account_id == account_id, LevelOverride.cleared_at.is_(None))
        .order_by(LevelOverride.id.desc())
        .limit(1)
    )


def set_override(
    session: Session,
    account_id: int,
    level_code: str,
    *,
    rules: LevelRules,
    reason: str,
    author: str,
    now: datetime,
) -> LevelOverride:
    if rules.by_code(level_code) is None:
        raise InvalidInput(f"Уровня «{level_code}» нет в программе.", details={"level": level_code})
    if not reason.strip() or not author.strip():
        raise InvalidInput("Для ручного уровня укажите причину и автора.")
    clear_override(session, account_id, author=author, now=now)
    override = LevelOverride(
        account_id=account_id, level_code=level_code, reason=reason, author=author, set_at=now
    )
    session.add(override)
    session.flush()
    return override


def clear_override(session: Session, account_id: int, *, author: str, now: datetime) -> None:
    for override in session.scalars(
        select(LevelOverride).where(
            LevelOverride.account_id == account_id, LevelOverride.cleared_at.is_(None)
        )
    ):
        override.cleared_at = now
        override.cleared_by = author
    session.flush()


def override_history(session: Session, account_id: int) -> list[LevelOverride]:
    return list(
        session.scalars(
            select(LevelOverride)
            .where(LevelOverride.account_id == account_id)
            .order_by(LevelOverride.id)
        )
    )


def account_level(
    session: Session, account_id: int, rules: LevelRules, today: date
) -> LevelDecision:
    override = current_override(session, account_id)
    return decide_level(
        rules,
        window_value(session, account_id, rules, today),
        override.level_code if override else None,
    )
