"""The SQL of the receipt hot paths (``processing.receipts.fast``), built with SQLAlchemy Core
from the model tables and compiled once, at import, to psycopg's ``%(name)s`` style: the column
names stay those of the models, and a request pays for no SQLAlchemy compilation or execution.

The parameter names are the keys of the dicts ``fast`` passes. Constants are SQL literals, not
parameters, so that every statement takes exactly the parameters its caller sends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnClause,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Sequence,
    String,
    Table,
    Text,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from processing.cards.models import Card
from processing.customers.models import Customer, PersonalDataAccess
from processing.db import compile_for_psycopg, lock_rows
from processing.ledger.models import Account, BonusLot, LotMovement, Posting
from processing.ledger.service import PostingKind
from processing.levels.models import LevelOverride, PurchaseStat
from processing.promotions.models import ReceiptPromotion
from processing.receipts.models import Receipt, ReceiptLine, SoftCalculation


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


CARDS = _table(Card)
ACCOUNTS = _table(Account)
CUSTOMERS = _table(Customer)
RECEIPTS = _table(Receipt)
RECEIPT_LINES = _table(ReceiptLine)
POSTINGS = _table(Posting)
BONUS_LOTS = _table(BonusLot)
LOT_MOVEMENTS = _table(LotMovement)
PURCHASE_STATS = _table(PurchaseStat)
LEVEL_OVERRIDES = _table(LevelOverride)
SOFT_CALCULATIONS = _table(SoftCalculation)
RECEIPT_PROMOTIONS = _table(ReceiptPromotion)


def _param(name: str, type_: Any = None) -> Any:
    """A parameter named as ``fast`` names it; the type only shapes the SQL (``-x``, a CASE
    condition), values go to psycopg as they are."""
    return bindparam(name, type_=type_)


def _text(value: str) -> ColumnElement[str]:
    return literal_column("'" + value.replace("'", "''") + "'", String)


def _number(value: int) -> ColumnElement[int]:
    return literal_column(str(int(value)), BigInteger)


class _Positional(ColumnClause[Any]):
    """A value of the SELECT that feeds an INSERT, rendered without the ``AS anon_1`` label
    SQLAlchemy gives an unnamed expression: PostgreSQL assigns these values by position, and
    the labels alone would push the commit statement past the 4 KiB up to which psycopg caches
    the conversion of a query (an uncached conversion of it costs about 0.4 ms)."""

    inherit_cache = False  # never executed through SQLAlchemy: nothing to cache

    def __init__(self, value: ColumnElement[Any], name: str) -> None:
        super().__init__(name, type_=value.type)
        self.value = value


@compiles(_Positional)
def _render_positional(element: _Positional, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.value, **kw)


def _insert_select(
    table: Table,
    values: dict[str, Any],
    *froms: FromClause,
    where: tuple[ColumnElement[bool], ...] = (),
    order_by: tuple[ColumnElement[Any], ...] = (),
) -> Any:
    """``INSERT INTO table (names) SELECT values FROM froms WHERE ... ORDER BY ...``: names and
    values side by side, so a column can neither go missing nor shift place."""
    body = (
        select(*(_Positional(value, name) for name, value in values.items()))
        .select_from(*froms)
        .where(*where)
        .order_by(*order_by)
    )
    return postgresql.insert(table).from_select(
        [table.c[name] for name in values], body, include_defaults=False
    )


# --- The card and its account (the account locked on a commit) ---------------------------------

_c, _a, _cu = CARDS.alias("c"), ACCOUNTS.alias("a"), CUSTOMERS.alias("cu")
_card = (
    select(
        _c.c.id,
        _c.c.status,
        _c.c.valid_until,
        _c.c.account_id,
        _c.c.customer_id,
        _a.c.balance,
        _cu.c.processing_consent,
        _c.c.template_id,
        _cu.c.first_name,
        _cu.c.last_name,
    )
    .select_from(
        _c.join(_a, _a.c.id == _c.c.account_id).outerjoin(_cu, _cu.c.id == _c.c.customer_id)
    )
    .where(_c.c.tenant_id == _param("tenant_id"), _c.c.number == _param("number"))
)
CARD = compile_for_psycopg(_card)
CARD_LOCKED = compile_for_psycopg(lock_rows(_card, of=_a))


# --- After the lock: a stored twin, the lots, the level window, the override ----------------------


def _exists_row(source: FromClause) -> ColumnElement[bool]:
    return select(literal_column("1")).select_from(source).exists()


def _exists(table: Table, **equal: str) -> ColumnElement[bool]:
    return (
        select(literal_column("1"))
        .select_from(table)
        .where(*(table.c[name] == _param(key) for name, key in equal.items()))
        .exists()
    )


# One EXISTS per unique index: an OR in one WHERE makes a plan that walks the tenant's receipts.
_one_identity = _exists(RECEIPTS, tenant_id="tenant_id", identity_key="identity_key")
TWIN_CHECKS: dict[str, ColumnElement[bool]] = {
    "none": false(),
    "identity": _one_identity,
    "identity_or_txn": or_(
        _one_identity, _exists(RECEIPTS, pos_id="pos_id", client_txn_id="client_txn_id")
    ),
}


def _state(twin: ColumnElement[bool]) -> Select[Any]:
    card = (
        select(CARDS.c.account_id)
        .where(CARDS.c.tenant_id == _param("tenant_id"), CARDS.c.number == _param("number"))
        .cte("c")
    )
    account_id = select(card.c.account_id).scalar_subquery()
    lots = (
        select(
            BONUS_LOTS.c.id,
            BONUS_LOTS.c.remaining,
            BONUS_LOTS.c.activates_at,
            BONUS_LOTS.c.expires_at,
        )
        .where(BONUS_LOTS.c.account_id == account_id, BONUS_LOTS.c.remaining > _number(0))
        .cte("lots")
    )
    stats = (
        select(PURCHASE_STATS.c.amount, PURCHASE_STATS.c.purchases)
        .where(
            PURCHASE_STATS.c.account_id == account_id,
            PURCHASE_STATS.c.local_date.between(_param("window_start"), _param("window_end")),
        )
        .cte("stats")
    )
    override = (
        select(LEVEL_OVERRIDES.c.level_code)
        .where(LEVEL_OVERRIDES.c.account_id == account_id, LEVEL_OVERRIDES.c.cleared_at.is_(None))
        .order_by(LEVEL_OVERRIDES.c.id.desc())
        .limit(_number(1))
    )

    def lot_array(name: str) -> Any:
        return select(func.array_agg(aggregate_order_by(lots.c[name], lots.c.id))).scalar_subquery()

    def stats_sum(name: str) -> Any:
        return select(func.coalesce(func.sum(stats.c[name]), _number(0))).scalar_subquery()

    return select(
        twin,
        *(lot_array(name) for name in ("id", "remaining", "activates_at", "expires_at")),
        stats_sum("amount"),
        stats_sum("purchases"),
        override.scalar_subquery(),
    )


STATE = {name: compile_for_psycopg(_state(twin)) for name, twin in TWIN_CHECKS.items()}


# --- The commit: one statement --------------------------------------------------------------------

# The receipt takes its posting ids from the sequence, so that everything is one statement
# (foreign keys are checked at its end); the write-off's id is drawn before the accrual's, as
# the general path posts them.
_posting_id = Sequence(f"{POSTINGS.name}_{POSTINGS.c.id.name}_seq").next_value()
_debit_id = select(case((_param("debit", Boolean), _posting_id)).label("id")).cte("debit_id")
_d = _debit_id.alias("d")
_posting_ids = (
    select(
        _d.c.id.label("debit_id"), case((_param("credit", Boolean), _posting_id)).label("credit_id")
    )
    .select_from(_d)
    .cte("posting_ids")
)
_p = _posting_ids.alias("p")

# Every column but the id, a return's original and those a sale leaves at their server default
# (not offline, no claw-back shortfall), in the table's order; the others are parameters of the
# same name.
_receipt_constants: dict[str, Any] = {
    "kind": _text("sale"),
    "status": _text("committed"),
    "debit_posting_id": _p.c.debit_id,
    "credit_posting_id": _p.c.credit_id,
    "notes": literal_column("'[]'", JSON),
}
_receipt_values = {
    name: _receipt_constants[name] if name in _receipt_constants else _param(name)
    for name in (column.name for column in RECEIPTS.c)
    if name not in ("id", "original_id", "offline", "clawback_shortfall")
}
_receipt = (
    _insert_select(RECEIPTS, _receipt_values, _p)
    .on_conflict_do_nothing()
    .returning(RECEIPTS.c.id, RECEIPTS.c.debit_posting_id, RECEIPTS.c.credit_posting_id)
    .cte("r")
)


def _posting(posting_id: Any, kind: PostingKind, amount: Any, balance_param: str) -> Any:
    return _insert_select(
        POSTINGS,
        {
            "id": posting_id,
            "tenant_id": _param("tenant_id"),
            "account_id": _param("account_id"),
            "kind": _text(kind),
            "amount": amount,
            "balance_after": _param(balance_param),
            "created_at": _param("created_at"),
            "operation": _param("operation"),
        },
        _receipt,
        where=(posting_id.is_not(None),),
    )


def _takes(ordinal: str | None = None) -> Any:
    """The plan's takes from lots, ``t(id, take[, n])``."""
    unnest = func.unnest(
        cast(_param("lot_ids"), ARRAY(Integer)), cast(_param("takes"), ARRAY(BigInteger))
    )
    columns = (column("id", Integer), column("take", BigInteger))
    if ordinal is None:
        return unnest.table_valued(*columns).render_derived(name="t")
    return unnest.table_valued(*columns, with_ordinality=ordinal).render_derived(name="t")


_debit = (
    _posting(
        _receipt.c.debit_posting_id,
        PostingKind.WRITE_OFF,
        -_param("bonus_payment", BigInteger),
        "debit_balance",
    )
    .returning(POSTINGS.c.id)
    .cte("debit")
)
# The lots are drained, and the receipt's balance set, only if the receipt row was inserted
# (not when a concurrent twin claimed its identity): EXISTS over the CTE, where the hand-written
# SQL joined it (SQLAlchemy takes an UPDATE's FROM list from the columns it uses).
_taken_lots = _takes()
_lot: Any = BONUS_LOTS.alias("l")
_taken = (
    update(_lot)
    .values(remaining=_lot.c.remaining - _taken_lots.c.take)
    .where(_lot.c.id == _taken_lots.c.id, _exists_row(_debit))
    .cte("taken")
)
_ordered_takes = _takes("n")
_debit_moves = _insert_select(
    LOT_MOVEMENTS,
    {"posting_id": _debit.c.id, "lot_id": _ordered_takes.c.id, "amount": -_ordered_takes.c.take},
    _debit,
    _ordered_takes,
    order_by=(_ordered_takes.c.n,),
).cte("debit_moves")
_credit = (
    _posting(_receipt.c.credit_posting_id, PostingKind.ACCRUAL, _param("accrual"), "credit_balance")
    .returning(POSTINGS.c.id)
    .cte("credit")
)
_new_lot = (
    _insert_select(
        BONUS_LOTS,
        {
            "account_id": _param("account_id"),
            "posting_id": _credit.c.id,
            "amount": _param("accrual"),
            "remaining": _param("lot_remaining"),
            "activates_at": _param("activates_at"),
            "expires_at": _param("expires_at"),
        },
        _credit,
    )
    .returning(BONUS_LOTS.c.id, BONUS_LOTS.c.posting_id)
    .cte("lot")
)
_credit_moves = _insert_select(
    LOT_MOVEMENTS,
    {
        "posting_id": _new_lot.c.posting_id,
        "lot_id": _new_lot.c.id,
        "amount": _param("lot_remaining"),
    },
    _new_lot,
    where=(_param("lot_remaining", BigInteger) > _number(0),),
).cte("credit_moves")
_balance = (
    update(ACCOUNTS)
    .values(balance=_param("balance"))
    .where(
        ACCOUNTS.c.id == _param("account_id"),
        _param("balance_changed", Boolean),
        _exists_row(_receipt),
    )
    .cte("balance")
)
_stats = _insert_select(
    PURCHASE_STATS,
    {
        "account_id": _param("account_id"),
        "local_date": _param("purchase_date"),
        "amount": _param("purchase_amount"),
        "purchases": _number(1),
        "operation": _param("operation"),
    },
    _receipt,
).cte("stats")

# The lines as ``fast`` sends them, in JSON: these columns as they are, the quantity in
# thousandths and the money in kopecks, each typed as its column stores it (strings as text, so
# that an over-long value fails its INSERT as before). A sale line has returned nothing yet: its
# returned_* columns take their server default, 0.
LINE_AS_IS = ("line_no", "goods_id", "barcode", "no_discount", "no_accrual", "seller",
              "explanations")  # fmt: skip
LINE_MONEY = ("price", "amount", "discount", "bonus_payment", "final_amount", "accrual",
              "gift_amount")  # fmt: skip
LINE_THOUSANDTHS = ("quantity", "gift_quantity")
_WIRE_LINE = tuple(  # in the table's order
    c.name for c in RECEIPT_LINES.c if c.name in {*LINE_AS_IS, *LINE_THOUSANDTHS, *LINE_MONEY}
)


def _wire_type(name: str) -> Any:
    kind = RECEIPT_LINES.c[name].type
    return Text() if isinstance(kind, String) else kind


_wire = (
    func.json_to_recordset(cast(_param("lines"), JSON))
    .table_valued(*(column(name, _wire_type(name)) for name in _WIRE_LINE))
    .render_derived(name="u", with_types=True)
)
# ``u.*`` is the recordset's columns in _WIRE_LINE's order, the order the INSERT names them in:
# spelling each out would push the statement past psycopg's 4 KiB (see _Positional).
_lines = (
    postgresql.insert(RECEIPT_LINES)
    .from_select(
        [RECEIPT_LINES.c.receipt_id, *(RECEIPT_LINES.c[name] for name in _WIRE_LINE)],
        select(_Positional(_receipt.c.id, "receipt_id"), literal_column("u.*")).select_from(
            _receipt, _wire
        ),
        include_defaults=False,
    )
    .cte("lines")
)

# The promotion versions the receipt used, with what each gave (``[]``: none); what returns
# take back starts at its server default, 0.
PROMOTION_WIRE = {"version_id": Integer, "discount": BigInteger, "bonus": BigInteger,
                  "stamps": Integer, "points": BigInteger}  # fmt: skip
_used = (
    func.json_to_recordset(cast(_param("promotions"), JSON))
    .table_valued(*(column(name, kind) for name, kind in PROMOTION_WIRE.items()))
    .render_derived(name="v", with_types=True)
)
_promotions = _insert_select(
    RECEIPT_PROMOTIONS,
    {"receipt_id": _receipt.c.id, **{name: _used.c[name] for name in PROMOTION_WIRE}},
    _receipt,
    _used,
).cte("used")

WRITE = compile_for_psycopg(
    select(_receipt.c.id, _receipt.c.debit_posting_id, _receipt.c.credit_posting_id).add_cte(
        _taken, _debit_moves, _new_lot, _credit_moves, _balance, _stats, _lines, _promotions
    )
)


# --- Soft calculations ----------------------------------------------------------------------------

SOFT_ROW = compile_for_psycopg(
    select(
        SOFT_CALCULATIONS.c.pos_id, SOFT_CALCULATIONS.c.input_hash, SOFT_CALCULATIONS.c.result
    ).where(SOFT_CALCULATIONS.c.id == _param("id"))
)
SOFT = compile_for_psycopg(
    insert(SOFT_CALCULATIONS).values({c.name: _param(c.name) for c in SOFT_CALCULATIONS.c})
)


# --- The 152-FZ log of an identification ---------------------------------------------------------

# The read of the customer of the card a number names, if it has one (``access_values``).
_access = _table(PersonalDataAccess)
CARD_READ_LOGGED = compile_for_psycopg(
    _insert_select(
        _access,
        {
            c.name: CARDS.c.customer_id
            if c.name == "customer_id"
            else cast(_param(c.name), JSON)
            if c.name == "fields"
            else _param(c.name)
            for c in _access.c
            if c.name != "id"
        },
        CARDS,
        where=(
            CARDS.c.tenant_id == _param("tenant_id"),
            CARDS.c.number == _param("number"),
            CARDS.c.customer_id.is_not(None),
        ),
    )
)
