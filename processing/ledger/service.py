"""Ledger operations. Every balance change locks the account row first (FOR UPDATE; SQLite
holds the database write lock), so concurrent write-offs on one account are serialised and can
never overdraw. Operations that lock several accounts lock them in id order (no deadlocks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.db import lock_rows
from processing.errors import InvalidInput, NotFound, Refused
from processing.ledger.models import Account, BonusLot, LotMovement, Posting
from processing.ledger.rules import (
    LotState,
    active_total,
    credited_remaining,
    pending_total,
    take_from,
    usable_lots,
)
from processing.money import is_whole_kopecks, money_text

ZERO = Decimal("0.00")


class PostingKind(StrEnum):
    ACCRUAL = "accrual"
    CAMPAIGN = "campaign"  # a promotion's points besides the accrual, a lot of their own
    EVENT = "event"  # outside a receipt: welcome, birthday, mass accrual (processing.accruals)
    WRITE_OFF = "write_off"
    RETURN_CLAWBACK = "return_clawback"
    RETURN_CREDIT = "return_credit"
    EXPIRY = "expiry"
    CORRECTION = "correction"
    OPENING = "opening_balance"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    REVERSAL = "reversal"  # a rolled-back transaction's postings, undone lot by lot


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"
    message = "Бонусный счёт не найден."


class NotEnoughBonus(Refused):
    code = "NOT_ENOUGH_BONUS"
    message = "Недостаточно активных бонусов для списания."


class InvalidBonusAmount(InvalidInput):
    code = "INVALID_BONUS_AMOUNT"
    message = "Сумма бонусов должна быть больше нуля и указана с точностью до копейки."


class AccountInDebt(Refused):
    code = "ACCOUNT_IN_DEBT"
    message = "На счёте отрицательный баланс бонусов: перенос невозможен."


@dataclass(frozen=True)
class Balance:
    total: Decimal  # sum of postings (may be < 0 only after a claw-back under allow-negative)
    active: Decimal  # payable now
    pending: Decimal  # accrued, not yet active


@dataclass(frozen=True)
class ExpiringBonus:
    account_id: int
    lot_id: int
    amount: Decimal
    expires_at: datetime


def _require_positive(amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or amount <= ZERO or not is_whole_kopecks(amount):
        raise InvalidBonusAmount(details={"amount": str(amount)})


def open_account(session: Session, tenant_id: int, customer_id: int | None = None) -> Account:
    account = Account(tenant_id=tenant_id, customer_id=customer_id, balance=ZERO)
    session.add(account)
    session.flush()
    return account


def lock_account(session: Session, account_id: int) -> Account:
    """Lock the account row and refresh it: the balance read afterwards is current."""
    account = session.scalar(
        lock_rows(select(Account).where(Account.id == account_id)).execution_options(
            populate_existing=True
        )
    )
    if account is None:
        raise AccountNotFound(details={"account": account_id})
    return account


def _post(
    session: Session,
    account: Account,
    kind: PostingKind,
    amount: Decimal,
    now: datetime,
    operation: str | None,
    reason: str | None,
    author: str | None,
) -> Posting:
    account.balance = account.balance + amount
    posting = Posting(
        tenant_id=account.tenant_id,
        account_id=account.id,
        kind=kind.value,
        amount=amount,
        balance_after=account.balance,
        created_at=now,
        operation=operation,
        reason=reason,
        author=author,
    )
    session.add(posting)
    session.flush()
    return posting


def credit(
    session: Session,
    account_id: int,
    amount: Decimal,
    kind: PostingKind,
    *,
    now: datetime,
    activates_at: datetime | None = None,
    expires_at: datetime | None = None,
    operation: str | None = None,
    reason: str | None = None,
    author: str | None = None,
) -> Posting:
    """Credit ``amount`` as a new lot. A debt (negative balance) is repaid first."""
    _require_positive(amount)
    account = lock_account(session, account_id)
    return post_credit(
        session, account, amount, credited_remaining(account.balance, amount), kind, now=now,
        activates_at=activates_at or now, expires_at=expires_at, operation=operation,
        reason=reason, author=author,
    )  # fmt: skip


def post_credit(
    session: Session,
    account: Account,
    amount: Decimal,
    remaining: Decimal,
    kind: PostingKind,
    *,
    now: datetime,
    activates_at: datetime,
    expires_at: datetime | None,
    operation: str | None,
    reason: str | None = None,
    author: str | None = None,
) -> Posting:
    """Write a credit already decided (``remaining``: what its lot keeps after repaying a debt)
    on a locked account: the posting, its lot and the lot's movement."""
    posting = _post(session, account, kind, amount, now, operation, reason, author)
    lot = BonusLot(
        account_id=account.id,
        posting_id=posting.id,
        amount=amount,
        remaining=remaining,
        activates_at=activates_at,
        expires_at=expires_at,
    )
    session.add(lot)
    session.flush()
    if lot.remaining > ZERO:
        session.add(LotMovement(posting_id=posting.id, lot_id=lot.id, amount=lot.remaining))
    return posting


def lots_with_remainder(session: Session, account_id: int) -> Sequence[BonusLot]:
    """The account's lots with something left (current values), any order."""
    return session.scalars(
        select(BonusLot)
        .where(BonusLot.account_id == account_id, BonusLot.remaining > 0)
        .execution_options(populate_existing=True)
    ).all()


def post_write_off(
    session: Session,
    account: Account,
    lots: Sequence[BonusLot],
    takes: Sequence[tuple[int, Decimal]],
    kind: PostingKind,
    *,
    now: datetime,
    operation: str | None,
    reason: str | None = None,
    author: str | None = None,
) -> Posting:
    """Write a write-off already decided (``takes``: lot id and amount, in order) on a locked
    account: the posting and a movement per lot touched."""
    amount = sum((taken for _, taken in takes), ZERO)
    posting = _post(session, account, kind, -amount, now, operation, reason, author)
    _take(session, posting, lots, takes)
    session.flush()
    return posting


def _take(
    session: Session,
    posting: Posting,
    lots: Sequence[BonusLot],
    takes: Sequence[tuple[int, Decimal]],
) -> None:
    by_id = {lot.id: lot for lot in lots}
    for lot_id, taken in takes:
        by_id[lot_id].remaining = by_id[lot_id].remaining - taken
        session.add(LotMovement(posting_id=posting.id, lot_id=lot_id, amount=-taken))


def _drain(session: Session, posting: Posting, lots: Sequence[BonusLot], amount: Decimal) -> None:
    """Take ``amount`` from ``lots`` in their order, a movement per lot touched."""
    _take(session, posting, lots, take_from(lots, amount))


def debit(
    session: Session,
    account_id: int,
    amount: Decimal,
    kind: PostingKind,
    *,
    now: datetime,
    operation: str | None = None,
    reason: str | None = None,
    author: str | None = None,
) -> Posting:
    """Take ``amount`` from active lots, soonest-expiring first; never below zero."""
    _require_positive(amount)
    account = lock_account(session, account_id)
    lots = usable_lots(lots_with_remainder(session, account.id), now)
    available = sum((lot.remaining for lot in lots), ZERO)
    if available < amount:
        raise NotEnoughBonus(
            details={"available": money_text(available), "requested": money_text(amount)}
        )
    return post_write_off(
        session, account, lots, take_from(lots, amount), kind, now=now, operation=operation,
        reason=reason, author=author,
    )  # fmt: skip


def correct(
    session: Session,
    account_id: int,
    amount: Decimal,
    *,
    reason: str,
    author: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> Posting:
    """A manual correction (signed), always with a reason and an author."""
    if not reason.strip() or not author.strip():
        raise InvalidInput("Для ручной корректировки укажите причину и автора.")
    if amount < ZERO:
        return debit(
            session, account_id, -amount, PostingKind.CORRECTION,
            now=now, reason=reason, author=author, operation="manual",
        )  # fmt: skip
    return credit(
        session, account_id, amount, PostingKind.CORRECTION,
        now=now, expires_at=expires_at, reason=reason, author=author, operation="manual",
    )  # fmt: skip


def balance(session: Session, account_id: int, now: datetime) -> Balance:
    """Posted total, active and pending bonus of an account (one query; the rules decide)."""
    rows = session.execute(
        select(
            Account.balance,
            BonusLot.id,
            BonusLot.remaining,
            BonusLot.activates_at,
            BonusLot.expires_at,
        )
        .select_from(Account)
        .outerjoin(BonusLot, (BonusLot.account_id == Account.id) & (BonusLot.remaining > 0))
        .where(Account.id == account_id)
    ).all()
    if not rows:
        raise AccountNotFound(details={"account": account_id})
    lots = [LotState(lot_id, remaining, activates, expires)
            for _, lot_id, remaining, activates, expires in rows if lot_id is not None]  # fmt: skip
    return Balance(
        total=rows[0][0], active=active_total(lots, now), pending=pending_total(lots, now)
    )


def expiring(
    session: Session,
    tenant_id: int,
    now: datetime,
    within: timedelta,
    account_id: int | None = None,
) -> list[ExpiringBonus]:
    """Bonus that will expire in ``(now, now + within]``, lot by lot (for reminders), for the
    whole tenant or one account."""
    stmt = (
        select(BonusLot.account_id, BonusLot.id, BonusLot.remaining, BonusLot.expires_at)
        .join(Account, Account.id == BonusLot.account_id)
        .where(
            Account.tenant_id == tenant_id,
            BonusLot.remaining > 0,
            BonusLot.expires_at > now,
            BonusLot.expires_at <= now + within,
        )
        .order_by(BonusLot.expires_at, BonusLot.id)
    )
    if account_id is not None:
        stmt = stmt.where(BonusLot.account_id == account_id)
    rows = session.execute(stmt)
    return [ExpiringBonus(a, lot, amount, at) for a, lot, amount, at in rows if at is not None]


def expire_due(session: Session, now: datetime, batch: int = 500) -> int:
    """Expire what is due at ``now`` for up to ``batch`` accounts; returns how many accounts
    were touched (0 means done). Re-running finds nothing: expired lots are left at zero."""
    account_ids = session.scalars(
        select(BonusLot.account_id)
        .where(BonusLot.remaining > 0, BonusLot.expires_at <= now)
        .group_by(BonusLot.account_id)
        .order_by(BonusLot.account_id)
        .limit(batch)
    ).all()
    for account_id in account_ids:
        account = lock_account(session, account_id)
        lots = session.scalars(
            select(BonusLot)
            .where(
                BonusLot.account_id == account_id,
                BonusLot.remaining > 0,
                BonusLot.expires_at <= now,
            )
            .order_by(BonusLot.id)
            .execution_options(populate_existing=True)
        ).all()
        amount = sum((lot.remaining for lot in lots), ZERO)
        if amount <= ZERO:
            continue
        posting = _post(
            session, account, PostingKind.EXPIRY, -amount, now, f"expiry:{now.date()}", None, None
        )
        _drain(session, posting, lots, amount)
    session.flush()
    return len(account_ids)


def transfer_all(
    session: Session,
    source_id: int,
    target_id: int,
    *,
    now: datetime,
    reason: str,
    author: str,
) -> None:
    """Move every lot with a remainder (keeping activation and expiry) to another account."""
    first, second = sorted((source_id, target_id))
    lock_account(session, first)
    lock_account(session, second)
    source = lock_account(session, source_id)
    if source.balance < ZERO:
        raise AccountInDebt(details={"balance": str(source.balance)})
    lots = session.scalars(
        select(BonusLot)
        .where(BonusLot.account_id == source_id, BonusLot.remaining > 0)
        .order_by(BonusLot.id)
        .execution_options(populate_existing=True)
    ).all()
    amount = sum((lot.remaining for lot in lots), ZERO)
    if amount == ZERO:
        return
    moved = [(lot, lot.remaining) for lot in lots]
    operation = f"transfer:{source_id}->{target_id}"
    out = _post(session, source, PostingKind.TRANSFER_OUT, -amount, now, operation, reason, author)
    _drain(session, out, lots, amount)
    for lot, part in moved:
        credit(
            session, target_id, part, PostingKind.TRANSFER_IN,
            now=now, activates_at=lot.activates_at, expires_at=lot.expires_at,
            operation=operation, reason=reason, author=author,
        )  # fmt: skip


@dataclass(frozen=True)
class ClawBack:
    posting: Posting | None
    taken: Decimal  # what the account actually lost
    shortfall: Decimal  # what could not be taken back (cap-at-zero policy)


def claw_back(
    session: Session,
    account_id: int,
    amount: Decimal,
    *,
    allow_negative: bool,
    now: datetime,
    operation: str,
    prefer_posting_id: int | None = None,
) -> ClawBack:
    """Take back accrued bonus (a return): first from the lot the accrual created, then from
    any lot with a remainder, pending ones included. What is missing either drives the
    balance below zero (``allow_negative``) or is reported as the shortfall."""
    _require_positive(amount)
    account = lock_account(session, account_id)
    lots = session.scalars(
        select(BonusLot)
        .where(BonusLot.account_id == account_id, BonusLot.remaining > 0)
        .order_by(
            BonusLot.posting_id != (prefer_posting_id or 0),
            BonusLot.expires_at.is_(None),
            BonusLot.expires_at,
            BonusLot.id,
        )
        .execution_options(populate_existing=True)
    ).all()
    available = sum((lot.remaining for lot in lots), ZERO)
    take = min(amount, available)
    charged = amount if allow_negative else take
    if charged == ZERO:
        return ClawBack(None, ZERO, amount)
    posting = _post(
        session, account, PostingKind.RETURN_CLAWBACK, -charged, now, operation, None, None
    )
    _drain(session, posting, lots, take)
    session.flush()
    return ClawBack(posting, charged, amount - charged)


class ReversalRefused(Refused):
    code = "BONUS_ALREADY_SPENT"
    message = "Отмена невозможна: начисленные бонусы уже использованы."


def reverse(session: Session, posting_id: int, *, now: datetime, operation: str) -> Posting:
    """Undo a posting exactly: the lots it drained get their amounts back, the lot it created
    gives back what it got. Refused when that lot has been spent in the meantime."""
    original = session.get_one(Posting, posting_id)
    account = lock_account(session, original.account_id)
    movements = session.scalars(
        select(LotMovement).where(LotMovement.posting_id == posting_id).order_by(LotMovement.id)
    ).all()
    lots = {
        lot.id: lot
        for lot in session.scalars(
            select(BonusLot)
            .where(BonusLot.id.in_([m.lot_id for m in movements]))
            .execution_options(populate_existing=True)
        )
    }
    if any(lots[m.lot_id].remaining < m.amount for m in movements if m.amount > ZERO):
        raise ReversalRefused(details={"posting": posting_id})
    posting = _post(
        session, account, PostingKind.REVERSAL, -original.amount, now, operation, None, None
    )
    for movement in movements:
        lot = lots[movement.lot_id]
        lot.remaining = lot.remaining - movement.amount
        session.add(LotMovement(posting_id=posting.id, lot_id=lot.id, amount=-movement.amount))
    session.flush()
    return posting
