"""The receipt hot paths on PostgreSQL: identify, the soft calculation and the fiscal commit of
the common case (an active card named by its number, no questionnaire rules), with the
statements of ``statements`` (Core, compiled once) on the session's own psycopg connection,
inside the request's transaction. The business rules are those of the general path: the engine
computes, ``plan.plan_sale`` decides what a sale posts, and this module only reads the snapshot
and writes the plan.

A commit costs two round trips before the request's COMMIT: one pipeline locks the card's
account and then reads a stored twin of the receipt, the soft result its ``calculation_id``
names, the account's lots and its level window (after the lock, so with what the previous holder
committed); one statement writes the plan — the receipt, its lines, the promotion versions it
used, postings, lots, lot movements, purchase stats and the balance — and nothing at all when a
concurrent twin claimed the identity first (it then replays or conflicts). Identify reads in one
round trip, which also logs the read of the customer's name (152-FZ). The rows are exactly those
of the general path (property tests compare them); any other case returns None and the general
path runs.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from processing.cards.service import CardStatus
from processing.catalog.lookup import catalog_in_use
from processing.customers.access import MASKED_NAME_FIELDS, Accessor, Action, access_values
from processing.customers.service import loyalty_allowance, masked_name, missing_fields
from processing.db import pg_connection
from processing.engine.calculate import calculate
from processing.engine.model import Balances, CustomerFacts, PromotionFacts, Result, Rules
from processing.gifts.stock import gift_stock_counted
from processing.ledger.rules import LotState, active_total, pending_total
from processing.levels.compute import LevelDecision, decide_level, window_bounds
from processing.money import from_kopecks, to_kopecks
from processing.programs.rules import LevelRules
from processing.programs.service import ActiveRules
from processing.receipts.certificates import certificates_possible
from processing.receipts.checks import check_payable
from processing.receipts.claims import (
    Committed,
    local_date,
    sale_claim,
    stored_twin,
    wall_clock,
)
from processing.receipts.inputs import (
    AnsweredLine,
    AnsweredReceipt,
    Identification,
    IdentifyOutcome,
    PosContext,
    ReceiptInput,
)
from processing.receipts.plan import AccountSnapshot, balances_after, plan_sale
from processing.receipts.rows import (
    Calculation,
    StoredSoftResult,
    engine_receipt,
    expired_at_birth,
    identify_outcome,
    line_values,
    promotions_used,
    receipt_rules,
    receipt_totals,
    replayable,
    soft_result,
)
from processing.receipts.statements import (
    CARD,
    CARD_LOCKED,
    CARD_READ_LOGGED,
    LINE_AS_IS,
    LINE_MONEY,
    LINE_THOUSANDTHS,
    SOFT,
    SOFT_ROW,
    STATE,
    WRITE,
)
from processing.types import to_thousandths

ZERO = Decimal("0.00")
_CLAIM_COLUMNS = ("transaction_id", "tenant_id", "store_id", "pos_id", "cashier_id",
                  "identity_key", "client_txn_id", "body_hash", "shift", "number", "sold_at",
                  "local_date", "created_at")  # fmt: skip
_RESULT_MONEY = ("amount", "discount", "bonus_payment", "final_amount", "accrual")


@dataclass(frozen=True)
class _Card:
    """An active card with its account, and what the engine needs of them."""

    id: int
    account_id: int
    customer_id: int | None
    template_id: int | None
    balance: Decimal
    allowance: str
    lots: tuple[LotState, ...]
    level: LevelDecision | None
    missing: list[str] | None  # questionnaire fields owed (None: no customer)
    first_name: str | None
    last_name: str | None

    def balances(self, now: datetime) -> Balances:
        return Balances(
            active=active_total(self.lots, now),
            pending=pending_total(self.lots, now),
            total=self.balance,
        )

    def facts(self, accrual_refusal: str | None) -> CustomerFacts:
        level = self.level.level if self.level else None
        return CustomerFacts(
            card_active=True, allowance=self.allowance, level=level,
            accrual_refusal=accrual_refusal,
        )  # fmt: skip


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _read(
    conn: psycopg.Connection[Any],
    ctx: PosContext,
    number: str,
    levels: LevelRules | None,
    today: date,
    now: datetime,
    *,
    claim: dict[str, Any] | None,
    calculation_id: str | None = None,
    access: dict[str, Any] | None = None,
) -> tuple[_Card | None, bool, StoredSoftResult | None]:
    """The card if it is active and valid (None: let the general path decide), whether the
    receipt of ``claim`` is already stored, and the soft result ``calculation_id`` names. With
    ``claim`` the account is locked first; with ``access`` (``access_values``) the read of the
    card's customer, if it has one, is logged in the same round trip."""
    params: dict[str, Any] = {"tenant_id": ctx.caller.tenant_id, "pos_id": ctx.caller.pos_id,
                              "number": number, "window_start": None,
                              "window_end": None}  # fmt: skip
    twin_check = "none"
    if claim is not None:
        params.update(identity_key=claim["identity_key"], client_txn_id=claim["client_txn_id"])
        twin_check = "identity_or_txn" if claim["client_txn_id"] else "identity"
    if levels is not None:
        params["window_start"], params["window_end"] = window_bounds(levels.window, today)
    with conn.pipeline():
        # Every statement here is a lookup by index. Plans are prepared once per connection:
        # planned while a new database's tables are still small, they would scan whole tables
        # for the connection's lifetime as the tables grow.
        conn.execute("SET LOCAL enable_seqscan = off")
        if claim is None:
            # A soft calculation writes only its recomputable result: no WAL flush to wait for.
            conn.execute("SET LOCAL synchronous_commit = off")
        card_cursor = conn.execute(CARD_LOCKED if claim is not None else CARD, params)
        # After the lock: a statement of its own sees what the previous holder committed.
        state_cursor = conn.execute(STATE[twin_check], params)
        soft_cursor = conn.execute(SOFT_ROW, {"id": calculation_id}) if calculation_id else None
        if access is not None:
            conn.execute(CARD_READ_LOGGED, {**params, **access})
    soft_row = soft_cursor.fetchone() if soft_cursor is not None else None
    soft = StoredSoftResult(*soft_row) if soft_row is not None else None
    row = card_cursor.fetchone()
    state = state_cursor.fetchone()
    if state is None:
        raise LookupError("the state query returns one row")
    twin, lot_ids, remainders, activations, expiries, amount, purchases, override = state
    if row is None:
        return None, bool(twin), soft
    (card_id, status, valid_until, account_id, customer_id, balance, consent, template_id,
     first_name, last_name) = row  # fmt: skip
    valid_until = _aware(valid_until)
    if status != CardStatus.ACTIVE or (valid_until is not None and valid_until <= now):
        return None, bool(twin), soft
    level = None
    if levels is not None:
        value = from_kopecks(int(amount)) if levels.basis == "sum" else Decimal(int(purchases))
        level = decide_level(levels, value, override)
    lots = tuple(
        LotState(lot_id, from_kopecks(remaining), activates_at.astimezone(UTC), _aware(expires_at))
        for lot_id, remaining, activates_at, expires_at in zip(
            lot_ids or (), remainders or (), activations or (), expiries or (), strict=True
        )
    )
    # The fast case has no required questionnaire fields: only the consent can be missing.
    missing = missing_fields((), None, bool(consent)) if customer_id else None
    allowance = loyalty_allowance(ctx.caller.questionnaire_policy, missing)
    card = _Card(card_id, account_id, customer_id, template_id, from_kopecks(balance), allowance,
                 lots, level, missing, first_name, last_name)  # fmt: skip
    return card, bool(twin), soft


def _fast_case(session: Session, ctx: PosContext, receipt: ReceiptInput) -> bool:
    ident = receipt.identification
    return not (
        ident is None
        or ident.card_number is None
        or receipt.coupons  # chosen under their locks by the general path
        or ctx.caller.questionnaire_required  # the questionnaire needs the whole customer
        or catalog_in_use(session, ctx.caller.tenant_id)  # the catalog's goods facts
        or certificates_possible(session, ctx, receipt)  # sold or taken under their locks
    )


def _needs_database(session: Session, ctx: PosContext, rules: ActiveRules, *, commit: bool) -> bool:
    """Whether the promotions need what only the general path reads: customer facts, usage
    counters, campaign lots, coupons, or the gift stock the tenant counts (a commit asks that
    afresh)."""
    book = rules.promotions
    return book is not None and (
        book.needs_database or gift_stock_counted(session, ctx.caller.tenant_id, book, fresh=commit)
    )


def _compute(
    ctx: PosContext,
    card: _Card,
    receipt: ReceiptInput,
    rules: ActiveRules,
    at: datetime,
    now: datetime,
) -> Result:
    found = None
    if rules.promotions is not None:  # only receipt and clock conditions here
        found = PromotionFacts(
            local_time=wall_clock(ctx.caller.timezone, at), payments=receipt.payments
        )
    return calculate(
        engine_receipt(receipt),
        Rules(levels=rules.levels, bonus=rules.bonus, promotions=rules.promotions),
        card.balances(now),
        card.facts(expired_at_birth(rules, at, now)),
        found,
    )


def _card_rules(
    session: Session, ctx: PosContext, card: _Card, rules: ActiveRules, at: datetime
) -> bool:
    """Whether the tenant's rules, read before the card, are the card's own (a series with
    programs of its own takes the general path)."""
    return card.template_id is None or receipt_rules(session, ctx, card.template_id, at) == rules


def calculate_fast(
    session: Session, ctx: PosContext, receipt: ReceiptInput, *, now: datetime
) -> Calculation | None:
    """The soft calculation of the common case; None: use the general path."""
    conn = pg_connection(session)
    if conn is None or not _fast_case(session, ctx, receipt):
        return None
    number = str(receipt.identification.card_number)  # type: ignore[union-attr]
    at = receipt.sold_at or now
    rules = receipt_rules(session, ctx, None, at)
    if _needs_database(session, ctx, rules, commit=False):
        return None  # customer facts, limits, campaign points, gift stock: the general path
    card, _, _ = _read(conn, ctx, number, rules.levels, local_date(ctx, at), now, claim=None)
    if card is None or not _card_rules(session, ctx, card, rules, at):
        return None
    result = _compute(ctx, card, receipt, rules, at, now)
    calculation = Calculation(
        result, str(uuid.uuid4()), number, card.level, rules, balances=card.balances(now)
    )
    stored = soft_result(ctx, receipt, calculation, now)
    conn.execute(SOFT, {**stored, "result": json.dumps(stored["result"])})
    return calculation


def identify_fast(
    session: Session,
    ctx: PosContext,
    ident: Identification,
    *,
    now: datetime,
    expiring_days: int,
    reader: Accessor,
) -> tuple[IdentifyOutcome | None, bool]:
    """Identify an active card named by its number in one read round trip, which also logs
    ``reader``'s read of the card's customer; the outcome is None where the general path
    answers (a phone, another card status, questionnaire rules), and the flag says whether the
    read is logged already."""
    conn = pg_connection(session)
    if conn is None or ident.card_number is None or ctx.caller.questionnaire_required:
        return None, False
    rules = receipt_rules(session, ctx, None, now)
    if rules.promotions is not None and (
        rules.promotions.hints_on_identify or rules.promotions.coupon_promotions
    ):
        return None, False  # the promotion facts and the customer's coupons: the general path
    number = str(ident.card_number)
    access = access_values(
        reader, tenant_id=ctx.caller.tenant_id, action=Action.READ, fields=MASKED_NAME_FIELDS,
        now=now,
    )  # fmt: skip
    access["fields"] = json.dumps(access["fields"])
    card, _, _ = _read(
        conn, ctx, number, rules.levels, local_date(ctx, now), now, claim=None, access=access
    )
    if card is None or not _card_rules(session, ctx, card, rules, now):
        return None, True
    outcome = identify_outcome(
        ctx, rules, card.facts(None), card.balances(now), card.lots, card.level, now=now,
        expiring_days=expiring_days, card_number=number, card_status=CardStatus.ACTIVE,
        customer_id=card.customer_id,
        customer_name=masked_name(card.first_name, card.last_name) if card.customer_id else None,
        missing=card.missing,
    )  # fmt: skip
    return outcome, True


def commit_fast(
    session: Session, ctx: PosContext, receipt: ReceiptInput, *, now: datetime
) -> Committed | None:
    """Commit the common case; a stored twin replays or conflicts here. None: use the general
    path (nothing has been written)."""
    conn = pg_connection(session)
    if conn is None or not _fast_case(session, ctx, receipt):
        return None
    number = str(receipt.identification.card_number)  # type: ignore[union-attr]
    values = sale_claim(session, ctx, receipt, now)
    at: datetime = values["sold_at"]
    rules = receipt_rules(session, ctx, None, at)
    if _needs_database(session, ctx, rules, commit=True):
        return None  # customer facts, limits, campaign points, gift stock: the general path
    card, twin, soft = _read(
        conn, ctx, number, rules.levels, values["local_date"], now, claim=values,
        calculation_id=receipt.calculation_id,
    )  # fmt: skip
    if twin:
        return stored_twin(session, ctx, values)
    if card is None or not _card_rules(session, ctx, card, rules, at):
        return None
    stored = replayable(soft, ctx, receipt, card.lots, now)
    if stored is not None:
        result, level_code = stored
    else:
        result = _compute(ctx, card, receipt, rules, at, now)
        level_code = card.level.level.code if card.level and card.level.level else None
    check_payable(ctx, receipt, result)
    return _write(conn, session, ctx, receipt, card, values, result, rules, level_code, now)


def _write(
    conn: psycopg.Connection[Any],
    session: Session,
    ctx: PosContext,
    receipt: ReceiptInput,
    card: _Card,
    values: dict[str, Any],
    result: Result,
    rules: ActiveRules,
    level_code: str | None,
    now: datetime,
) -> Committed:
    at: datetime = values["sold_at"]
    snapshot = AccountSnapshot(card.account_id, card.balance, card.lots)
    plan = plan_sale(
        snapshot,
        bonus_payment=result.write_off, accrual=result.accrual, bonus=rules.bonus,
        sold_at=at, local_date=values["local_date"], final_amount=result.final_amount, now=now,
    )  # fmt: skip
    totals = receipt_totals(result, rules, level_code, [])
    lines = line_values(0, receipt, result)
    operation = f"receipt:{values['transaction_id']}"
    wire_lines = [
        {**{name: line[name] for name in LINE_AS_IS},
         **{name: to_thousandths(line[name]) for name in LINE_THOUSANDTHS},
         **{name: to_kopecks(line[name]) for name in LINE_MONEY}}
        for line in lines
    ]  # fmt: skip
    params = {
        **{name: values[name] for name in _CLAIM_COLUMNS},
        **{name: totals[name] for name in ("level_code", "levels_version_id", "bonus_version_id")},
        **{name: to_kopecks(getattr(result, name)) for name in _RESULT_MONEY},
        "card_id": card.id,
        "account_id": card.account_id,
        "customer_id": card.customer_id,
        "debit": plan.write_off is not None,
        "credit": plan.accrual is not None,
        "debit_balance": to_kopecks(plan.write_off.balance_after if plan.write_off else ZERO),
        "credit_balance": to_kopecks(plan.accrual.balance_after if plan.accrual else ZERO),
        "operation": operation,
        "lot_ids": [lot_id for lot_id, _ in plan.takes],
        "takes": [to_kopecks(taken) for _, taken in plan.takes],
        "lot_remaining": to_kopecks(plan.new_lot.remaining if plan.new_lot else ZERO),
        "activates_at": plan.new_lot.activates_at if plan.new_lot else None,
        "expires_at": plan.new_lot.expires_at if plan.new_lot else None,
        "balance": to_kopecks(plan.balance),
        "balance_changed": plan.balance_changed,
        "purchase_date": plan.purchase_date,
        "purchase_amount": to_kopecks(plan.purchase_amount),
        "lines": json.dumps(wire_lines),
    }
    params["promotions"] = json.dumps([
        {**row, "discount": to_kopecks(row["discount"]), "bonus": to_kopecks(row["bonus"]),
         "points": to_kopecks(row["points"])}
        for row in promotions_used(result)
    ])  # fmt: skip
    written = conn.execute(WRITE, params).fetchone()
    if written is None:  # a concurrent twin claimed the identity first
        return stored_twin(session, ctx, values)
    answer = AnsweredReceipt(
        transaction_id=values["transaction_id"], kind="sale", status="committed",
        shift=values["shift"], number=values["number"], sold_at=at, level_code=level_code,
        amount=result.amount, discount=result.discount, bonus_payment=result.bonus_payment,
        final_amount=result.final_amount, accrual=result.accrual, clawback_shortfall=ZERO,
        notes=[],
    )  # fmt: skip
    answer_lines = [
        AnsweredLine(
            line_no=line["line_no"], quantity=line["quantity"], price=line["price"],
            amount=line["amount"],
            discount=line["discount"], bonus_payment=line["bonus_payment"],
            final_amount=line["final_amount"], accrual=line["accrual"],
            explanations=line["explanations"], gift_quantity=line["gift_quantity"],
            gift_amount=line["gift_amount"],
        )
        for line in lines
    ]  # fmt: skip
    return Committed(
        answer, answer_lines, replay=False, balances=balances_after(snapshot, plan, now)
    )
