"""The fiscal commit's hot path: the common case (an active card named by its number, no soft
result to replay) in a few Core statements instead of the ORM's many.

It writes exactly the rows the general path writes (postings with balance_after, lots, lot
movements, purchase stats, the receipt and its lines), under the same account row lock; any
other case returns None and the general path runs. The tests of the API run through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from processing.cards.models import Card
from processing.cards.service import CardStatus
from processing.customers.models import Customer
from processing.db import insert_ignore_id, lock_rows
from processing.engine.calculate import calculate
from processing.engine.model import Balances, CustomerFacts, Rules
from processing.ledger.models import Account, BonusLot, LotMovement, Posting
from processing.ledger.service import PostingKind
from processing.levels.compute import LevelDecision, decide_level, window_bounds
from processing.levels.models import LevelOverride, PurchaseStat
from processing.programs.rules import LevelRules
from processing.programs.service import rules_at
from processing.receipts.inputs import PosContext, ReceiptInput
from processing.receipts.models import Receipt, ReceiptLine
from processing.receipts.service import (
    LINES,
    Committed,
    check_payable,
    commit_claimed,
    engine_receipt,
    line_values,
    local_date,
    receipt_totals,
    sale_claim,
    stored_twin,
)
from processing.types import money_total

ZERO = Decimal("0.00")
ACCOUNTS = cast(Table, Account.__table__)
LOTS = cast(Table, BonusLot.__table__)
MOVEMENTS = cast(Table, LotMovement.__table__)
POSTINGS = cast(Table, Posting.__table__)
STATS = cast(Table, PurchaseStat.__table__)
RECEIPTS = cast(Table, Receipt.__table__)


@dataclass(frozen=True)
class _Lot:
    id: int
    remaining: Decimal
    activates_at: datetime
    expires_at: datetime | None


def _card_row(session: Session, ctx: PosContext, number: str) -> Any:
    """The card, its account (locked) and what the customer's consent allows, in one query."""
    stmt = cast(
        "Select[Any]",
        select(
            Card.id, Card.status, Card.valid_until, Card.account_id, Card.customer_id,
            Account.balance, Customer.processing_consent,
        )
        .join(Account, Account.id == Card.account_id)
        .outerjoin(Customer, Customer.id == Card.customer_id)
        .where(Card.tenant_id == ctx.tenant.id, Card.number == number),
    )  # fmt: skip
    return session.execute(lock_rows(stmt, of=Account)).one_or_none()


def _level(session: Session, account_id: int, rules: LevelRules, today: date) -> LevelDecision:
    start, end = window_bounds(rules.window, today)
    column = (
        money_total(PurchaseStat.amount)
        if rules.basis == "sum"
        else func.coalesce(func.sum(PurchaseStat.purchases), 0)
    )
    window = (
        select(column)
        .where(
            PurchaseStat.account_id == account_id,
            PurchaseStat.local_date >= start,
            PurchaseStat.local_date <= end,
        )
        .scalar_subquery()
    )
    override = (
        select(LevelOverride.level_code)
        .where(LevelOverride.account_id == account_id, LevelOverride.cleared_at.is_(None))
        .order_by(LevelOverride.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    value, override_code = session.execute(select(window, override)).one()
    return decide_level(rules, Decimal(str(value or 0)), override_code)


def commit_fast(
    session: Session, ctx: PosContext, receipt: ReceiptInput, *, now: datetime
) -> Committed | None:
    """Commit the common case, claiming the identity itself (a twin replays or conflicts here);
    None: not the common case, use the general path."""
    ident = receipt.identification
    if ident is None or ident.card_number is None or receipt.calculation_id:
        return None
    if ctx.tenant.questionnaire_required:
        return None  # the questionnaire needs the whole customer: general path
    values = sale_claim(session, ctx, receipt, now)
    receipt_id = insert_ignore_id(session, RECEIPTS, values)
    if receipt_id is None:
        return stored_twin(session, ctx, values)
    card = _card_row(session, ctx, ident.card_number)
    usable_card = card is not None and card.status == CardStatus.ACTIVE and (
        card.valid_until is None or card.valid_until > now
    )  # fmt: skip
    if not usable_card:
        row = session.get_one(Receipt, receipt_id)
        return commit_claimed(session, ctx, receipt, row, now=now, offline=False)
    return _post_receipt(session, ctx, receipt, card, receipt_id, values, now)


def _post_receipt(
    session: Session,
    ctx: PosContext,
    receipt: ReceiptInput,
    card: Any,
    receipt_id: int,
    values: dict[str, Any],
    now: datetime,
) -> Committed:
    account_id: int = card.account_id
    at: datetime = values["sold_at"]
    rules = rules_at(session, ctx.store, at)
    lots = [
        _Lot(*lot)
        for lot in session.execute(
            select(BonusLot.id, BonusLot.remaining, BonusLot.activates_at, BonusLot.expires_at)
            .where(BonusLot.account_id == account_id, BonusLot.remaining > 0)
            .order_by(BonusLot.expires_at.is_(None), BonusLot.expires_at, BonusLot.id)
        )
    ]
    usable = [
        lot for lot in lots
        if lot.activates_at <= now and (lot.expires_at is None or lot.expires_at > now)
    ]  # fmt: skip
    pending = sum(
        (lot.remaining for lot in lots
         if lot.activates_at > now and (lot.expires_at is None or lot.expires_at > now)),
        ZERO,
    )  # fmt: skip
    today = local_date(ctx, at)
    level = _level(session, account_id, rules.levels, today) if rules.levels else None
    allowance = "full" if card.customer_id and card.processing_consent else (
        ctx.tenant.questionnaire_policy
    )  # fmt: skip
    facts = CustomerFacts(
        card_active=True, allowance=allowance, level=level.level if level else None
    )
    result = calculate(
        engine_receipt(receipt),
        Rules(levels=rules.levels, bonus=rules.bonus),
        Balances(active=sum((lot.remaining for lot in usable), ZERO), pending=pending,
                 total=card.balance),
        facts,
    )  # fmt: skip
    check_payable(ctx, receipt, result)

    operation = f"receipt:{values['transaction_id']}"
    links: dict[str, Any] = {"card_id": card.id, "account_id": account_id,
                             "customer_id": card.customer_id}  # fmt: skip
    balance = card.balance
    if result.bonus_payment > ZERO:
        balance -= result.bonus_payment
        posting_id = _post(session, ctx, account_id, PostingKind.WRITE_OFF,
                           -result.bonus_payment, balance, now, operation)  # fmt: skip
        left = result.bonus_payment
        taken: list[dict[str, Any]] = []
        for lot in usable:
            if left <= ZERO:
                break
            take = min(lot.remaining, left)
            left -= take
            taken.append({"lot_id": lot.id, "take": take})
        session.execute(
            update(LOTS)
            .where(LOTS.c.id == bindparam("lot_id"))
            .values(remaining=LOTS.c.remaining - bindparam("take")),
            taken,
        )
        session.execute(
            insert(MOVEMENTS),
            [{"posting_id": posting_id, "lot_id": t["lot_id"], "amount": -t["take"]}
             for t in taken],
        )  # fmt: skip
        links["debit_posting_id"] = posting_id
    if result.accrual > ZERO and rules.bonus is not None:
        debt = max(-balance, ZERO)
        balance += result.accrual
        posting_id = _post(session, ctx, account_id, PostingKind.ACCRUAL, result.accrual,
                           balance, now, operation)  # fmt: skip
        activates_at, expires_at = rules.bonus.lot_dates(at)
        remaining = result.accrual - min(debt, result.accrual)
        lot_id = session.execute(
            insert(LOTS).returning(LOTS.c.id),
            {"account_id": account_id, "posting_id": posting_id, "amount": result.accrual,
             "remaining": remaining, "activates_at": activates_at, "expires_at": expires_at},
        ).scalar_one()  # fmt: skip
        if remaining > ZERO:
            session.execute(
                insert(MOVEMENTS),
                {"posting_id": posting_id, "lot_id": lot_id, "amount": remaining},
            )
        links["credit_posting_id"] = posting_id
    if balance != card.balance:
        session.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == account_id).values(balance=balance))
    session.execute(
        insert(STATS),
        {"account_id": account_id, "local_date": local_date(ctx, at),
         "amount": result.final_amount, "purchases": 1, "operation": operation},
    )  # fmt: skip
    level_code = level.level.code if level and level.level else None
    totals = {**receipt_totals(result, rules, level_code, []), **links}
    session.execute(update(RECEIPTS).where(RECEIPTS.c.id == receipt_id).values(**totals))
    lines = line_values(receipt_id, receipt, result)
    session.execute(insert(LINES), lines)
    row = Receipt(**{**values, **totals, "id": receipt_id})  # the answer; never re-read
    return Committed(row, [ReceiptLine(**line) for line in lines], replay=False)


def _post(
    session: Session,
    ctx: PosContext,
    account_id: int,
    kind: PostingKind,
    amount: Decimal,
    balance_after: Decimal,
    now: datetime,
    operation: str,
) -> int:
    posting: int = session.execute(
        insert(POSTINGS).returning(POSTINGS.c.id),
        {"tenant_id": ctx.tenant.id, "account_id": account_id, "kind": kind.value,
         "amount": amount, "balance_after": balance_after, "created_at": now,
         "operation": operation, "reason": None, "author": None},
    ).scalar_one()  # fmt: skip
    return posting
