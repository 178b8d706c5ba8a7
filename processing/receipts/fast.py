"""The receipt hot paths on PostgreSQL: the fiscal commit and the soft calculation of the common
case (an active card named by its number, no questionnaire rules, no soft result to replay) in
hand-written SQL on the session's own psycopg connection, inside the request's transaction.

A commit costs two round trips before the request's COMMIT: one pipeline locks the card's
account and then reads a stored twin of the receipt, the account's lots and its level window
(after the lock, so with what the previous holder committed); the engine computes; one statement
writes the receipt, its lines, postings, lots, lot movements, purchase stats and the balance —
and nothing at all when a concurrent twin claimed the identity first (it then replays or
conflicts). The rows are exactly those of the general path (a test compares them); any other
case returns None and the general path runs.
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
from processing.customers.service import masked_name, missing_fields
from processing.db import pg_connection
from processing.engine.calculate import calculate
from processing.engine.model import Balances, CustomerFacts, Result, Rules
from processing.ledger.rules import LotState, active_total, pending_total
from processing.levels.compute import LevelDecision, decide_level, window_bounds
from processing.money import from_kopecks, to_kopecks
from processing.programs.rules import LevelRules
from processing.programs.service import ActiveRules
from processing.receipts.checks import check_payable
from processing.receipts.claims import Committed, local_date, sale_claim, stored_twin
from processing.receipts.inputs import (
    AnsweredLine,
    AnsweredReceipt,
    Identification,
    IdentifyOutcome,
    PosContext,
    ReceiptInput,
)
from processing.receipts.plan import AccountSnapshot, plan_sale
from processing.receipts.rows import (
    Calculation,
    StoredSoftResult,
    engine_receipt,
    expired_at_birth,
    identify_outcome,
    line_values,
    receipt_rules,
    receipt_totals,
    replayable,
    soft_result,
)
from processing.types import to_thousandths

ZERO = Decimal("0.00")
_CLAIM_COLUMNS = ("transaction_id", "tenant_id", "store_id", "pos_id", "cashier_id",
                  "identity_key", "client_txn_id", "body_hash", "shift", "number", "sold_at",
                  "local_date", "created_at")  # fmt: skip
_RESULT_MONEY = ("amount", "discount", "bonus_payment", "final_amount", "accrual")
_LINE_AS_IS = ("line_no", "goods_id", "barcode", "no_discount", "seller", "explanations")
_LINE_MONEY = ("price", "amount", "discount", "bonus_payment", "final_amount", "accrual")


def _sql(text: str) -> str:
    """One line: psycopg caches the parsing of statements up to 4 KiB only."""
    return " ".join(text.split())


_CARD = _sql("""SELECT c.id, c.status, c.valid_until, c.account_id, c.customer_id, a.balance,
       cu.processing_consent, c.template_id, cu.first_name, cu.last_name
FROM cards c
JOIN accounts a ON a.id = c.account_id
LEFT JOIN customers cu ON cu.id = c.customer_id
WHERE c.tenant_id = %(tenant_id)s AND c.number = %(number)s""")
_CARD_LOCKED = _CARD + " FOR UPDATE OF a"
_ONE_IDENTITY = """EXISTS (SELECT 1 FROM receipts
    WHERE tenant_id = %(tenant_id)s AND identity_key = %(identity_key)s)"""
# One EXISTS per unique index: an OR in one WHERE makes a plan that walks the tenant's receipts.
_TWIN_CHECKS = {
    "none": "false",
    "identity": _ONE_IDENTITY,
    "identity_or_txn": _ONE_IDENTITY  # noqa: S608 - constants only, values are parameters
    + """ OR EXISTS (SELECT 1 FROM receipts
        WHERE pos_id = %(pos_id)s AND client_txn_id = %(client_txn_id)s)""",
}
_STATE = {
    name: _sql(f"""
WITH c AS (SELECT account_id FROM cards WHERE tenant_id = %(tenant_id)s AND number = %(number)s),
lots AS (SELECT id, remaining, activates_at, expires_at FROM bonus_lots
         WHERE account_id = (SELECT account_id FROM c) AND remaining > 0),
stats AS (SELECT amount, purchases FROM purchase_stats
          WHERE account_id = (SELECT account_id FROM c)
            AND local_date BETWEEN %(window_start)s AND %(window_end)s)
SELECT {twin},
  (SELECT array_agg(id ORDER BY id) FROM lots),
  (SELECT array_agg(remaining ORDER BY id) FROM lots),
  (SELECT array_agg(activates_at ORDER BY id) FROM lots),
  (SELECT array_agg(expires_at ORDER BY id) FROM lots),
  (SELECT coalesce(sum(amount), 0) FROM stats), (SELECT coalesce(sum(purchases), 0) FROM stats),
  (SELECT level_code FROM level_overrides
   WHERE account_id = (SELECT account_id FROM c) AND cleared_at IS NULL
   ORDER BY id DESC LIMIT 1)""")  # noqa: S608 - constants only, values are parameters
    for name, twin in _TWIN_CHECKS.items()
}

# The receipt takes its posting ids from the sequence, so that everything is one statement
# (foreign keys are checked at its end); the write-off's id is drawn before the accrual's, as
# the general path posts them.
_WRITE = _sql("""WITH debit_id AS (
  SELECT CASE WHEN %(debit)s THEN nextval('postings_id_seq') END AS id
), posting_ids AS (
  SELECT d.id AS debit_id, CASE WHEN %(credit)s THEN nextval('postings_id_seq') END AS credit_id
  FROM debit_id d
), r AS (
  INSERT INTO receipts (transaction_id, tenant_id, store_id, pos_id, cashier_id, kind,
    identity_key, client_txn_id, body_hash, shift, number, sold_at, local_date, card_id,
    account_id, customer_id, status, offline, level_code, levels_version_id, bonus_version_id,
    amount, discount, bonus_payment, final_amount, accrual, debit_posting_id, credit_posting_id,
    clawback_shortfall, notes, created_at)
  SELECT %(transaction_id)s, %(tenant_id)s, %(store_id)s, %(pos_id)s, %(cashier_id)s, 'sale',
    %(identity_key)s, %(client_txn_id)s, %(body_hash)s, %(shift)s, %(number)s, %(sold_at)s,
    %(local_date)s, %(card_id)s, %(account_id)s, %(customer_id)s, 'committed', false,
    %(level_code)s, %(levels_version_id)s, %(bonus_version_id)s, %(amount)s, %(discount)s,
    %(bonus_payment)s, %(final_amount)s, %(accrual)s, p.debit_id, p.credit_id, 0, '[]',
    %(created_at)s
  FROM posting_ids p
  ON CONFLICT DO NOTHING
  RETURNING id, debit_posting_id, credit_posting_id
), debit AS (
  INSERT INTO postings (id, tenant_id, account_id, kind, amount, balance_after, created_at,
                        operation)
  SELECT debit_posting_id, %(tenant_id)s, %(account_id)s, 'write_off', -%(bonus_payment)s,
         %(debit_balance)s, %(created_at)s, %(operation)s
  FROM r WHERE debit_posting_id IS NOT NULL
  RETURNING id
), taken AS (
  UPDATE bonus_lots l SET remaining = l.remaining - t.take
  FROM debit, unnest(%(lot_ids)s::int[], %(takes)s::bigint[]) AS t(id, take)
  WHERE l.id = t.id
), debit_moves AS (
  INSERT INTO lot_movements (posting_id, lot_id, amount)
  SELECT debit.id, t.id, -t.take
  FROM debit, unnest(%(lot_ids)s::int[], %(takes)s::bigint[]) WITH ORDINALITY AS t(id, take, n)
  ORDER BY t.n
), credit AS (
  INSERT INTO postings (id, tenant_id, account_id, kind, amount, balance_after, created_at,
                        operation)
  SELECT credit_posting_id, %(tenant_id)s, %(account_id)s, 'accrual', %(accrual)s,
         %(credit_balance)s, %(created_at)s, %(operation)s
  FROM r WHERE credit_posting_id IS NOT NULL
  RETURNING id
), lot AS (
  INSERT INTO bonus_lots (account_id, posting_id, amount, remaining, activates_at, expires_at)
  SELECT %(account_id)s, credit.id, %(accrual)s, %(lot_remaining)s, %(activates_at)s,
         %(expires_at)s
  FROM credit
  RETURNING id, posting_id
), credit_moves AS (
  INSERT INTO lot_movements (posting_id, lot_id, amount)
  SELECT lot.posting_id, lot.id, %(lot_remaining)s FROM lot WHERE %(lot_remaining)s > 0
), balance AS (
  UPDATE accounts SET balance = %(balance)s
  FROM r WHERE accounts.id = %(account_id)s AND %(balance_changed)s
), stats AS (
  INSERT INTO purchase_stats (account_id, local_date, amount, purchases, operation)
  SELECT %(account_id)s, %(purchase_date)s, %(purchase_amount)s, 1, %(operation)s FROM r
), lines AS (
  INSERT INTO receipt_lines (receipt_id, line_no, goods_id, barcode, quantity, price, amount,
    discount, bonus_payment, final_amount, accrual, no_discount, seller, explanations,
    returned_quantity, returned_amount, returned_accrual, returned_payment, returned_final)
  SELECT r.id, u.line_no, u.goods_id, u.barcode, u.quantity, u.price, u.amount, u.discount,
         u.bonus_payment, u.final_amount, u.accrual, u.no_discount, u.seller, u.explanations,
         0, 0, 0, 0, 0
  FROM r, json_to_recordset(%(lines)s::json) AS u(line_no int, goods_id text, barcode text,
    quantity bigint, price bigint, amount bigint, discount bigint, bonus_payment bigint,
    final_amount bigint, accrual bigint, no_discount boolean, seller text, explanations json)
)
SELECT id, debit_posting_id, credit_posting_id FROM r""")

_SOFT_ROW = "SELECT pos_id, input_hash, result FROM soft_calculations WHERE id = %(id)s"
_SOFT = _sql("""
INSERT INTO soft_calculations (id, tenant_id, pos_id, input_hash, result, created_at)
VALUES (%(id)s, %(tenant_id)s, %(pos_id)s, %(input_hash)s, %(result)s, %(created_at)s)""")


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
    consent: bool  # to processing of personal data
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
) -> tuple[_Card | None, bool, StoredSoftResult | None]:
    """The card if it is active and valid (None: let the general path decide), whether the
    receipt of ``claim`` is already stored, and the soft result ``calculation_id`` names. With
    ``claim`` the account is locked first."""
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
        card_cursor = conn.execute(_CARD_LOCKED if claim is not None else _CARD, params)
        # After the lock: a statement of its own sees what the previous holder committed.
        state_cursor = conn.execute(_STATE[twin_check], params)
        soft_cursor = conn.execute(_SOFT_ROW, {"id": calculation_id}) if calculation_id else None
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
    allowance = "full" if customer_id and consent else ctx.caller.questionnaire_policy
    card = _Card(card_id, account_id, customer_id, template_id, from_kopecks(balance), allowance,
                 lots, level, bool(consent), first_name, last_name)  # fmt: skip
    return card, bool(twin), soft


def _fast_case(ctx: PosContext, receipt: ReceiptInput) -> bool:
    ident = receipt.identification
    return not (
        ident is None
        or ident.card_number is None
        or ctx.caller.questionnaire_required  # the questionnaire needs the whole customer
    )


def _compute(
    card: _Card, receipt: ReceiptInput, rules: ActiveRules, at: datetime, now: datetime
) -> Result:
    return calculate(
        engine_receipt(receipt),
        Rules(levels=rules.levels, bonus=rules.bonus),
        card.balances(now),
        card.facts(expired_at_birth(rules, at, now)),
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
    if conn is None or not _fast_case(ctx, receipt):
        return None
    number = str(receipt.identification.card_number)  # type: ignore[union-attr]
    at = receipt.sold_at or now
    rules = receipt_rules(session, ctx, None, at)
    card, _, _ = _read(conn, ctx, number, rules.levels, local_date(ctx, at), now, claim=None)
    if card is None or not _card_rules(session, ctx, card, rules, at):
        return None
    result = _compute(card, receipt, rules, at, now)
    calculation = Calculation(result, str(uuid.uuid4()), number, card.level, rules)
    stored = soft_result(ctx, receipt, calculation, now)
    conn.execute(_SOFT, {**stored, "result": json.dumps(stored["result"])})
    return calculation


def identify_fast(
    session: Session,
    ctx: PosContext,
    ident: Identification,
    *,
    now: datetime,
    expiring_days: int,
) -> IdentifyOutcome | None:
    """Identify an active card named by its number in one read round trip; None: use the
    general path (a phone, another card status, questionnaire rules)."""
    conn = pg_connection(session)
    if conn is None or ident.card_number is None or ctx.caller.questionnaire_required:
        return None
    rules = receipt_rules(session, ctx, None, now)
    number = str(ident.card_number)
    card, _, _ = _read(conn, ctx, number, rules.levels, local_date(ctx, now), now, claim=None)
    if card is None or not _card_rules(session, ctx, card, rules, now):
        return None
    known = card.customer_id is not None
    return identify_outcome(
        ctx, rules, card.facts(None), card.balances(now), card.lots, card.level, now=now,
        expiring_days=expiring_days, card_number=number, card_status=CardStatus.ACTIVE,
        customer_id=card.customer_id,
        customer_name=masked_name(card.first_name, card.last_name) if known else None,
        missing=missing_fields(ctx.caller.questionnaire_required, None, card.consent)
        if known else None,
    )  # fmt: skip


def commit_fast(
    session: Session, ctx: PosContext, receipt: ReceiptInput, *, now: datetime
) -> Committed | None:
    """Commit the common case; a stored twin replays or conflicts here. None: use the general
    path (nothing has been written)."""
    conn = pg_connection(session)
    if conn is None or not _fast_case(ctx, receipt):
        return None
    number = str(receipt.identification.card_number)  # type: ignore[union-attr]
    values = sale_claim(session, ctx, receipt, now)
    at: datetime = values["sold_at"]
    rules = receipt_rules(session, ctx, None, at)
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
        result = _compute(card, receipt, rules, at, now)
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
    plan = plan_sale(
        AccountSnapshot(card.account_id, card.balance, card.lots),
        bonus_payment=result.bonus_payment, accrual=result.accrual, bonus=rules.bonus,
        sold_at=at, local_date=values["local_date"], final_amount=result.final_amount, now=now,
    )  # fmt: skip
    totals = receipt_totals(result, rules, level_code, [])
    lines = line_values(0, receipt, result)
    operation = f"receipt:{values['transaction_id']}"
    wire_lines = [
        {**{name: line[name] for name in _LINE_AS_IS}, "quantity": to_thousandths(line["quantity"]),
         **{name: to_kopecks(line[name]) for name in _LINE_MONEY}}
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
    written = conn.execute(_WRITE, params).fetchone()
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
            explanations=line["explanations"],
        )
        for line in lines
    ]  # fmt: skip
    return Committed(answer, answer_lines, replay=False)
