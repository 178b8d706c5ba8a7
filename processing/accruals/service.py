"""Crediting bonus for an event outside a receipt, once per customer and event.

``accrue_event`` claims the customer's event row first (``INSERT ... ON CONFLICT DO NOTHING``:
a concurrent run of the same event waits for the first and then credits nothing), then posts a
credit of kind ``event`` as a lot of its own, with the event's activation delay and lifetime.
The customer must be allowed accruals outside receipts (``accrues_outside_receipts``) and hold
an active card; otherwise nothing is written, so a later run may still credit them.

The welcome and birthday settings are read from the tenant's bonus program version in force
for every store (no store or group scope, not carried by a card series).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from processing.accruals.models import EventAccrual
from processing.cards.models import Card
from processing.cards.service import CardStatus, customer_account, effective_status
from processing.customers.models import Customer
from processing.customers.service import accrues_outside_receipts
from processing.db import insert_ignore_returning
from processing.ledger.service import PostingKind, credit
from processing.programs.models import Program, ProgramVersion, card_template_programs
from processing.programs.rules import BonusRules, EventBonus, parse_bonus_rules
from processing.tenants.models import Tenant

BONUS_FEATURE = "bonus"
SYSTEM_AUTHOR = "system"


def has_bonus(tenant: Tenant) -> bool:
    """Whether the tenant's tariff includes bonus (without it nothing is credited)."""
    return BONUS_FEATURE in tenant.features


def event_rules(session: Session, tenant: Tenant, at: datetime) -> BonusRules | None:
    """The rules of the tenant's bonus program version in force at ``at`` for every store: the
    latest started among versions without a store or group scope, of active programs that no
    card series carries. None: no such version, or no bonus in the tariff."""
    if not has_bonus(tenant):
        return None
    carried = exists().where(card_template_programs.c.program_id == Program.id)
    versions = session.scalars(
        select(ProgramVersion)
        .join(Program)
        .where(
            Program.tenant_id == tenant.id,
            Program.kind == "bonus",
            Program.status == "active",
            ~carried,
            ProgramVersion.effective_from <= at,
            ProgramVersion.effective_to.is_(None) | (ProgramVersion.effective_to > at),
        )
        .options(selectinload(ProgramVersion.stores), selectinload(ProgramVersion.store_groups))
        .order_by(ProgramVersion.effective_from.desc(), ProgramVersion.id.desc())
    )
    for version in versions:
        if not version.stores and not version.store_groups:
            return parse_bonus_rules(version.rules)
    return None


def active_account_id(session: Session, customer: Customer, now: datetime) -> int | None:
    """The customer's account when one of its cards is active now (a blocked, closed or
    finished card accrues nothing, at the till or outside it)."""
    account = customer_account(session, customer)
    if account is None:
        return None
    cards = session.scalars(select(Card).where(Card.account_id == account.id))
    if any(effective_status(card, now) == CardStatus.ACTIVE for card in cards):
        return account.id
    return None


def already_credited(session: Session, customer_id: int, event: str) -> bool:
    return (
        session.scalar(
            select(EventAccrual.id).where(
                EventAccrual.customer_id == customer_id, EventAccrual.event == event
            )
        )
        is not None
    )


def accrue_event(
    session: Session,
    tenant: Tenant,
    customer: Customer,
    event: str,
    bonus: EventBonus,
    *,
    reason: str,
    now: datetime,
) -> EventAccrual | None:
    """Credit ``bonus`` to ``customer`` for ``event`` (``welcome``, ``birthday:2026``,
    ``mass:17``). None: credited before, not allowed, or no active card."""
    if not accrues_outside_receipts(tenant, customer):
        return None
    account_id = active_account_id(session, customer, now)
    if account_id is None:
        return None
    claimed = insert_ignore_returning(
        session, EventAccrual,
        {"tenant_id": tenant.id, "customer_id": customer.id, "event": event,
         "account_id": account_id, "amount": bonus.amount, "created_at": now},
    )  # fmt: skip
    if claimed is None:
        return None
    activates_at, expires_at = bonus.lot_dates(now)
    posting = credit(
        session, account_id, bonus.amount, PostingKind.EVENT, now=now,
        activates_at=activates_at, expires_at=expires_at, operation=f"event:{event}",
        reason=reason, author=SYSTEM_AUTHOR,
    )  # fmt: skip
    claimed.posting_id = posting.id
    session.flush()
    return claimed
