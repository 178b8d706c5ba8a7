"""The hot-path SQL built from the model tables: what it writes, which parameters it takes and
the properties the hand-written SQL had. That it behaves the same is proven by the connector's
fast-path tests, which compare its rows with the general path's on PostgreSQL."""

from __future__ import annotations

import re

import pytest
from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH
from sqlalchemy import Table

from processing.customers.access import Accessor, Action, Channel, access_values
from processing.receipts import statements
from processing.receipts.statements import (
    BONUS_LOTS,
    LOT_MOVEMENTS,
    POSTINGS,
    PURCHASE_STATS,
    RECEIPT_LINES,
    RECEIPTS,
    SOFT_CALCULATIONS,
)
from tests.factories import T0

PARAM = re.compile(r"%\((\w+)\)s")
INSERT = re.compile(r"INSERT INTO (\w+) \(([^)]*)\)")

# What fast._write passes, key by key.
WRITE_PARAMS = {
    # the claim
    "transaction_id", "tenant_id", "store_id", "pos_id", "cashier_id", "identity_key",
    "client_txn_id", "body_hash", "shift", "number", "sold_at", "local_date", "created_at",
    # the totals and the result
    "level_code", "levels_version_id", "bonus_version_id", "amount", "discount", "bonus_payment",
    "final_amount", "accrual",
    # the card and the plan
    "card_id", "account_id", "customer_id", "debit", "credit", "debit_balance", "credit_balance",
    "operation", "lot_ids", "takes", "lot_remaining", "activates_at", "expires_at", "balance",
    "balance_changed", "purchase_date", "purchase_amount", "lines", "promotions",
}  # fmt: skip
READ_PARAMS = {"tenant_id", "number", "window_start", "window_end"}


def _params(sql: str) -> set[str]:
    return set(PARAM.findall(sql))


def _columns(table: Table, *left_out: str) -> list[str]:
    return [column.name for column in table.c if column.name not in left_out]


def _inserts(sql: str) -> list[tuple[str, list[str]]]:
    return [(table, names.split(", ")) for table, names in INSERT.findall(sql)]


RETURNED = [c.name for c in RECEIPT_LINES.c if c.name.startswith("returned_")]


def test_the_commit_writes_every_column_of_the_models_but_the_unused_ones() -> None:
    assert _inserts(statements.WRITE) == [
        # a sale is not offline and has no claw-back shortfall: their server defaults
        ("receipts", _columns(RECEIPTS, "id", "original_id", "offline", "clawback_shortfall")),
        ("postings", _columns(POSTINGS, "reason", "author")),  # the write-off
        ("lot_movements", _columns(LOT_MOVEMENTS, "id")),
        ("postings", _columns(POSTINGS, "reason", "author")),  # the accrual
        ("bonus_lots", _columns(BONUS_LOTS, "id")),
        ("lot_movements", _columns(LOT_MOVEMENTS, "id")),
        ("purchase_stats", _columns(PURCHASE_STATS, "id")),
        # a sale line has returned nothing: the returned sums' server default, 0
        ("receipt_lines", _columns(RECEIPT_LINES, "id", "original_line_id", *RETURNED)),
        (
            "receipt_promotions",
            ["receipt_id", "version_id", "discount", "bonus", "stamps", "points"],
        ),  # what returns take back starts at 0
    ]
    assert _inserts(statements.SOFT) == [("soft_calculations", _columns(SOFT_CALCULATIONS))]


def test_the_logged_read_writes_the_row_every_writer_of_the_log_writes() -> None:
    """The hot path's 152-FZ row: the columns of ``access_values`` and the card's customer."""
    accessor = Accessor("pos:s/p", Channel.API, "r")
    values = access_values(accessor, tenant_id=1, action=Action.READ, fields=(), now=T0)
    [(table, names)] = _inserts(statements.CARD_READ_LOGGED)
    assert table == "personal_data_access"
    assert sorted(names) == sorted([*values, "customer_id"])
    assert "cards.customer_id IS NOT NULL" in statements.CARD_READ_LOGGED


def test_the_lines_are_read_from_json_typed_as_their_columns_store_them() -> None:
    recordset = re.search(r"json_to_recordset\(CAST\(%\(lines\)s AS JSON\)\) AS u\(([^)]*)\)",
                          statements.WRITE)  # fmt: skip
    assert recordset is not None
    assert dict(item.split(" ") for item in recordset.group(1).split(", ")) == {
        "line_no": "INTEGER", "goods_id": "TEXT", "barcode": "TEXT", "quantity": "BIGINT",
        "price": "BIGINT", "amount": "BIGINT", "discount": "BIGINT", "bonus_payment": "BIGINT",
        "final_amount": "BIGINT", "accrual": "BIGINT", "no_discount": "BOOLEAN",
        "no_accrual": "BOOLEAN", "seller": "TEXT", "explanations": "JSON",
        "gift_quantity": "BIGINT", "gift_amount": "BIGINT",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (statements.CARD, {"tenant_id", "number"}),
        (statements.CARD_LOCKED, {"tenant_id", "number"}),
        (statements.STATE["none"], READ_PARAMS),
        (statements.STATE["identity"], READ_PARAMS | {"identity_key"}),
        (statements.STATE["identity_or_txn"], READ_PARAMS | {"identity_key", "pos_id",
                                                            "client_txn_id"}),
        (statements.WRITE, WRITE_PARAMS),
        (statements.SOFT_ROW, {"id"}),
        (statements.SOFT, {"id", "tenant_id", "pos_id", "input_hash", "result", "created_at"}),
        (statements.CARD_READ_LOGGED, {"tenant_id", "number", "at", "action", "actor",
                                       "channel", "fields", "request_id"}),
    ],
)  # fmt: skip
def test_each_statement_takes_exactly_the_parameters_its_caller_sends(
    sql: str, expected: set[str]
) -> None:
    assert _params(sql) == expected
    # One line, and no other "%" than the placeholders (psycopg would read it as one).
    assert "\n" not in sql
    assert "%" not in PARAM.sub("", sql)


def test_the_commit_stays_within_the_psycopg_query_cache() -> None:
    # Longer queries are converted anew on every execution (about 0.4 ms for this one).
    assert len(statements.WRITE.encode()) <= MAX_CACHED_STATEMENT_LENGTH
    assert " AS anon_" not in statements.WRITE


def test_the_write_off_draws_its_posting_id_before_the_accrual() -> None:
    write = statements.WRITE
    debit = write.index(
        "WITH debit_id AS (SELECT CASE WHEN %(debit)s THEN nextval('postings_id_seq')"
    )
    credit = write.index(
        "CASE WHEN %(credit)s THEN nextval('postings_id_seq') END AS credit_id FROM debit_id"
    )
    assert debit < credit
    assert (
        "SELECT r.debit_posting_id, %(tenant_id)s, %(account_id)s, 'write_off', -%(bonus_payment)s"
        in write
    )
    assert (
        "SELECT r.credit_posting_id, %(tenant_id)s, %(account_id)s, 'accrual', %(accrual)s" in write
    )
    # Lot movements in the plan's order.
    assert "WITH ORDINALITY AS t(id, take, n) ORDER BY t.n)" in write  # fmt: skip


def test_a_twin_writes_nothing() -> None:
    write = statements.WRITE
    assert write.count("ON CONFLICT DO NOTHING") == 1
    assert "FROM posting_ids AS p ON CONFLICT DO NOTHING RETURNING receipts.id," in write
    # Everything else hangs on the receipt row the INSERT returned (none for a twin).
    for statement in ("debit", "credit", "stats", "lines"):
        body = re.search(rf"\b{statement} AS \((.*?)\)(, \w+ AS \(| SELECT [^()]* FROM r$)", write)
        assert body is not None and " FROM r" in body.group(1), statement
    assert "WHERE l.id = t.id AND (EXISTS (SELECT 1 FROM debit))" in write
    assert "AND %(balance_changed)s AND (EXISTS (SELECT 1 FROM r))" in write
    assert write.endswith(" SELECT r.id, r.debit_posting_id, r.credit_posting_id FROM r")


def test_the_locked_read_locks_only_the_account() -> None:
    assert statements.CARD_LOCKED == statements.CARD + " FOR UPDATE OF a"
    assert "FROM cards AS c JOIN accounts AS a ON a.id = c.account_id" in statements.CARD


def test_one_exists_per_unique_index_of_receipts() -> None:
    # An OR inside one WHERE makes a plan that walks the tenant's receipts.
    identity = (
        "EXISTS (SELECT 1 FROM receipts WHERE receipts.tenant_id = %(tenant_id)s"
        " AND receipts.identity_key = %(identity_key)s)"
    )
    txn = (
        "EXISTS (SELECT 1 FROM receipts WHERE receipts.pos_id = %(pos_id)s"
        " AND receipts.client_txn_id = %(client_txn_id)s)"
    )
    assert "EXISTS" not in statements.STATE["none"]
    assert statements.STATE["identity"].count("EXISTS") == 1
    assert identity in statements.STATE["identity"]
    assert f"({identity}) OR ({txn})" in statements.STATE["identity_or_txn"]
    assert statements.STATE["identity_or_txn"].count("EXISTS") == 2
