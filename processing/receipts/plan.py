"""The posting plan of a sale: what the commit writes to the ledger, decided once from an
account snapshot and the engine's result (pure: no I/O, no clock).

Two writers persist a plan: the ORM writer (``ledger.service.apply_sale_plan``) and the
single-statement PostgreSQL writer (``receipts/fast.py``). Neither decides anything itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from processing.engine.model import Balances
from processing.ledger.rules import (
    Lot,
    LotState,
    active_total,
    credited_remaining,
    pending_total,
    take_from,
    usable_lots,
)
from processing.programs.rules import BonusRules

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AccountSnapshot:
    """The account as the commit read it under its row lock."""

    account_id: int
    balance: Decimal  # posted total (negative only after a claw-back under allow-negative)
    lots: Sequence[Lot]  # lots with a remainder, any order


@dataclass(frozen=True)
class PlannedPosting:
    kind: str  # "write_off" or "accrual"
    amount: Decimal  # signed
    balance_after: Decimal


@dataclass(frozen=True)
class PlannedLot:
    amount: Decimal
    remaining: Decimal  # less than amount when the accrual repaid a debt
    activates_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class CampaignPoints:
    """A promotion's points besides the accrual (``extra_bonus``)."""

    promotion: str
    amount: Decimal
    activation_delay_days: int
    lifetime_days: int | None


@dataclass(frozen=True)
class PlannedCampaign:
    promotion: str
    posting: PlannedPosting
    lot: PlannedLot


@dataclass(frozen=True)
class SalePlan:
    write_off: PlannedPosting | None
    takes: tuple[tuple[int, Decimal], ...]  # (lot id, taken) for the write-off, in order
    accrual: PlannedPosting | None  # posted after the write-off
    new_lot: PlannedLot | None
    purchase_date: date  # the store-local date the purchase counts on for levels
    purchase_amount: Decimal
    balance: Decimal  # the account's posted total afterwards
    campaigns: tuple[PlannedCampaign, ...] = ()  # posted after the accrual, a lot each

    @property
    def balance_changed(self) -> bool:
        return self.write_off is not None or self.accrual is not None or bool(self.campaigns)


def plan_sale(
    account: AccountSnapshot,
    *,
    bonus_payment: Decimal,
    accrual: Decimal,
    bonus: BonusRules | None,
    sold_at: datetime,
    local_date: date,
    final_amount: Decimal,
    now: datetime,
    campaigns: Sequence[CampaignPoints] = (),
) -> SalePlan:
    """The write-off from usable lots, FIFO by expiry (the engine never pays more than they
    hold: ``take_from`` guards it), then the accrual as a new lot that repays a debt first,
    then each promotion's campaign points as a lot of their own with their own dates (repaying
    a debt first too), and the purchase for the level window."""
    balance = account.balance
    write_off = None
    takes: tuple[tuple[int, Decimal], ...] = ()
    if bonus_payment > ZERO:
        takes = tuple(take_from(usable_lots(account.lots, now), bonus_payment))
        balance -= bonus_payment
        write_off = PlannedPosting("write_off", -bonus_payment, balance)
    credit = None
    new_lot = None
    if accrual > ZERO and bonus is not None:
        activates_at, expires_at = bonus.lot_dates(sold_at)
        new_lot = PlannedLot(
            accrual, credited_remaining(balance, accrual), activates_at, expires_at
        )
        balance += accrual
        credit = PlannedPosting("accrual", accrual, balance)
    planned = []
    for points in campaigns:
        if points.amount <= ZERO:
            continue
        activates_at = sold_at + timedelta(days=points.activation_delay_days)
        expires_at = None
        if points.lifetime_days is not None:
            expires_at = activates_at + timedelta(days=points.lifetime_days)
        lot = PlannedLot(
            points.amount, credited_remaining(balance, points.amount), activates_at, expires_at
        )
        balance += points.amount
        planned.append(PlannedCampaign(
            points.promotion, PlannedPosting("campaign", points.amount, balance), lot
        ))  # fmt: skip
    return SalePlan(
        write_off, takes, credit, new_lot, local_date, final_amount, balance, tuple(planned)
    )


def balances_after(account: AccountSnapshot, plan: SalePlan, now: datetime) -> Balances:
    """The account's bonus once ``plan`` is written: the lots less what the write-off takes,
    with the accrual's and the campaigns' new lots."""
    taken = dict(plan.takes)
    lots = [LotState(lot.id, lot.remaining - taken.get(lot.id, ZERO), lot.activates_at,
                     lot.expires_at) for lot in account.lots]  # fmt: skip
    new = [plan.new_lot] if plan.new_lot is not None else []
    lots += [LotState(0, lot.remaining, lot.activates_at, lot.expires_at)
             for lot in [*new, *(campaign.lot for campaign in plan.campaigns)]]  # fmt: skip
    return Balances(
        active=active_total(lots, now), pending=pending_total(lots, now), total=plan.balance
    )
