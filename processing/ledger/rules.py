"""The ledger's rules as pure functions (no I/O): which lots are usable or pending, the order in
which they are spent, how an amount is taken from them, and how a credit repays a debt first.

The ORM ledger (``service.py``) and the receipt hot path (``receipts/fast.py``) both decide with
these functions; neither restates them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

ZERO = Decimal("0.00")


class Lot(Protocol):
    """What the rules read of a lot (a ``BonusLot`` row or a plain snapshot)."""

    @property
    def id(self) -> int: ...
    @property
    def remaining(self) -> Decimal: ...
    @property
    def activates_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class LotState:
    """A lot as read by the hot path."""

    id: int
    remaining: Decimal
    activates_at: datetime
    expires_at: datetime | None


class LotsRunShort(AssertionError):
    """The lots hold less than an amount already checked to be available: a bug, never input."""


def unexpired(lot: Lot, now: datetime) -> bool:
    return lot.expires_at is None or lot.expires_at > now


def usable(lot: Lot, now: datetime) -> bool:
    """Active (payable) now: activated, not expired, something left."""
    return lot.remaining > ZERO and lot.activates_at <= now and unexpired(lot, now)


def pending(lot: Lot, now: datetime) -> bool:
    """Accrued, not active yet."""
    return lot.remaining > ZERO and lot.activates_at > now and unexpired(lot, now)


def spending_order(lot: Lot) -> tuple[bool, datetime | None, int]:
    """FIFO by expiry: the soonest-expiring first, lots that never expire last."""
    return (lot.expires_at is None, lot.expires_at, lot.id)


L = TypeVar("L", bound=Lot)


def usable_lots(lots: Iterable[L], now: datetime) -> list[L]:
    """The usable lots in the order they are spent."""
    return sorted((lot for lot in lots if usable(lot, now)), key=spending_order)


def active_total(lots: Iterable[Lot], now: datetime) -> Decimal:
    return sum((lot.remaining for lot in lots if usable(lot, now)), ZERO)


def pending_total(lots: Iterable[Lot], now: datetime) -> Decimal:
    return sum((lot.remaining for lot in lots if pending(lot, now)), ZERO)


def expiring_total(lots: Iterable[Lot], now: datetime, within: timedelta) -> Decimal:
    """What will expire in ``(now, now + within]`` (for the cashier's reminder)."""
    return sum(
        (lot.remaining for lot in lots
         if lot.remaining > ZERO and lot.expires_at is not None
         and now < lot.expires_at <= now + within),
        ZERO,
    )  # fmt: skip


def take_from(lots: Sequence[Lot], amount: Decimal) -> list[tuple[int, Decimal]]:
    """Take ``amount`` from ``lots`` in their order: (lot id, taken) per lot touched. The lots
    must hold enough (the caller checked the available amount)."""
    takes = []
    left = amount
    for lot in lots:
        if left <= ZERO:
            break
        taken = min(lot.remaining, left)
        if taken > ZERO:
            takes.append((lot.id, taken))
            left -= taken
    if left > ZERO:
        raise LotsRunShort(f"lots hold {amount - left} of {amount}")
    return takes


def credited_remaining(balance: Decimal, amount: Decimal) -> Decimal:
    """What a new lot of ``amount`` keeps when credited to an account with ``balance``: a debt
    (negative balance, after a claw-back under allow-negative) is repaid first."""
    debt = max(-balance, ZERO)
    return amount - min(debt, amount)
