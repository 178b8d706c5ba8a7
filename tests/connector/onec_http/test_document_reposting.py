"""1C documents re-posted (``/transactions/<id>/replace``) and unposted (``/unpost``) through
the HTTP API: the ledger ends as if only the document's last version had been committed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.ledger.service import balance, correct, lots_with_remainder
from processing.levels.models import PurchaseStat
from processing.receipts.models import Receipt, ReceiptReplacement
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, race, receipt

D = Decimal
BIG_LINE = [{"line": 1, "goods": "g-900", "qty": 1, "price": 5000, "sum": 5000}]


def _post(client: FlaskClient, world: World, path: str, body: Any) -> tuple[int, Any]:
    response = client.post(f"/api/v1/{path}", json=body, headers=world.auth)
    return response.status_code, response.get_json()


def _document(world: World, number: str, pay: int | str = 0, **overrides: Any) -> dict[str, Any]:
    """A 1C document's receipt: the document's id is the client ``transaction_id``."""
    return receipt(
        number, card_number=world.card, pay_bonus=pay, transaction_id=f"doc-{number}", **overrides
    )


def _commit(client: FlaskClient, world: World, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = _post(client, world, "receipts/commit", body)
    assert status == 200, answer
    return answer  # type: ignore[no-any-return]


def _replace(client: FlaskClient, world: World, txn: str, body: dict[str, Any]) -> tuple[int, Any]:
    return _post(client, world, f"transactions/{txn}/replace", body)


def _unpost(client: FlaskClient, world: World, txn: str) -> tuple[int, Any]:
    return _post(client, world, f"transactions/{txn}/unpost", {})


def _ledger(session: Session, world: World) -> tuple[Any, ...]:
    """What the account shows: balances, the lots left, purchase stats, receipts in force."""
    now = datetime.now(UTC)
    current = balance(session, world.account_id, now)
    lots = sorted(
        (lot.remaining, lot.expires_at) for lot in lots_with_remainder(session, world.account_id)
    )
    purchases = session.execute(
        select(func.coalesce(func.sum(PurchaseStat.amount), 0), func.sum(PurchaseStat.purchases))
        .where(PurchaseStat.account_id == world.account_id)
    ).one()  # fmt: skip
    in_force = session.scalar(
        select(func.count()).select_from(Receipt).where(
            Receipt.account_id == world.account_id, Receipt.status == "committed"
        )
    )  # fmt: skip
    return current.total, current.active, current.pending, lots, tuple(purchases), in_force


def _stored(session: Session, txn: str) -> Receipt:
    session.expire_all()
    return session.scalars(select(Receipt).where(Receipt.transaction_id == txn)).one()


def _comparable(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: answer[key] for key in ("kind", "status", "level", "lines", "totals", "notes")}


@pytest.mark.parametrize(
    ("old_pay", "new_pay", "new_lines"),
    [(100, 0, None), (0, 100, None), (100, 50, BIG_LINE), (0, 0, BIG_LINE)],
)
def test_a_replaced_document_leaves_the_ledger_of_its_new_version_alone(
    client: FlaskClient,
    world: World,
    other: World,
    session: Session,
    old_pay: int,
    new_pay: int,
    new_lines: list[dict[str, Any]] | None,
) -> None:
    first = _commit(client, world, _document(world, "1", old_pay))
    changed = {"lines": new_lines} if new_lines else {}
    status, replaced = _replace(
        client, world, first["transaction_id"], _document(world, "1", new_pay, **changed)
    )
    assert status == 200, replaced
    assert replaced["transaction_id"] != first["transaction_id"]
    assert (replaced["status"], replaced["replay"]) == ("committed", False)
    assert (replaced["shift"], replaced["number"]) == (first["shift"], first["number"])
    # The same document committed alone, on a twin account of another tenant.
    alone = _commit(client, other, _document(other, "1", new_pay, **changed))
    assert _comparable(replaced) == _comparable(alone)
    assert _ledger(session, world) == _ledger(session, other)
    old = _stored(session, first["transaction_id"])
    new = _stored(session, replaced["transaction_id"])
    assert (old.status, old.client_txn_id) == ("replaced", None)
    assert session.get_one(ReceiptReplacement, old.id).replaced_by_id == new.id
    assert (new.client_txn_id, new.shift, new.number) == ("doc-1", "5", "1")


def test_replace_works_after_the_rollback_window_while_rollback_is_refused(
    client: FlaskClient, world: World, session: Session
) -> None:
    first = _commit(client, world, _document(world, "2", 100))
    _stored(session, first["transaction_id"]).created_at = datetime.now(UTC) - timedelta(days=9)
    session.flush()
    status, error = _post(client, world, f"transactions/{first['transaction_id']}/rollback", {})
    assert (status, error["code"]) == (422, "ROLLBACK_NOT_ALLOWED")
    status, replaced = _replace(client, world, first["transaction_id"], _document(world, "2"))
    assert status == 200, replaced
    assert balance(session, world.account_id, datetime.now(UTC)).total == D("1013.78")


def test_a_repeated_replace_answers_the_same_and_posts_nothing(
    client: FlaskClient, world: World, session: Session
) -> None:
    first = _commit(client, world, _document(world, "3", 100))
    body = _document(world, "3", 50)
    status, replaced = _replace(client, world, first["transaction_id"], body)
    assert status == 200, replaced
    after = _ledger(session, world)
    status, again = _replace(client, world, first["transaction_id"], body)
    assert status == 200, again
    assert again == {**replaced, "replay": True}
    assert _ledger(session, world) == after
    status, error = _replace(client, world, first["transaction_id"], _document(world, "3", 20))
    assert (status, error["code"]) == (409, "RECEIPT_CONFLICT")
    assert error["details"] == {"transaction_id": replaced["transaction_id"]}
    assert _ledger(session, world) == after
    # The new version is the document's receipt now: its commit repeated replays it.
    status, commit = _post(client, world, "receipts/commit", body)
    assert (status, commit["transaction_id"], commit["replay"]) == (
        200, replaced["transaction_id"], True,
    )  # fmt: skip


def test_a_refused_new_version_leaves_the_old_receipt_in_force(
    client: FlaskClient, world: World, session: Session
) -> None:
    body = _document(world, "4", 100)
    first = _commit(client, world, body)
    before = _ledger(session, world)
    too_much = _document(world, "4", 2000, lines=BIG_LINE)  # the cap allows 2,500.00
    status, error = _replace(client, world, first["transaction_id"], too_much)
    assert (status, error["code"]) == (422, "NOT_ENOUGH_BONUS")
    assert _ledger(session, world) == before
    old = _stored(session, first["transaction_id"])
    assert (old.status, old.client_txn_id) == ("committed", "doc-4")
    assert session.get(ReceiptReplacement, old.id) is None
    status, again = _post(client, world, "receipts/commit", body)
    assert (status, again["transaction_id"], again["replay"]) == (
        200, first["transaction_id"], True,
    )  # fmt: skip


def test_replace_after_a_partial_return_is_refused(
    client: FlaskClient, world: World, session: Session
) -> None:
    first = _commit(client, world, _document(world, "5", 100))
    status, returned = _post(
        client, world, "receipts/return",
        {"cashier": "c-01", "number": "r-5", "original_transaction_id": first["transaction_id"],
         "lines": [{"line": 1, "qty": 1}]},
    )  # fmt: skip
    assert status == 200, returned
    before = _ledger(session, world)
    status, error = _replace(client, world, first["transaction_id"], _document(world, "5"))
    assert (status, error["code"]) == (422, "REPLACE_NOT_ALLOWED")
    assert error["message"].startswith("По документу уже был возврат")
    assert _ledger(session, world) == before
    status, error = _unpost(client, world, first["transaction_id"])
    assert (status, error["code"]) == (422, "REPLACE_NOT_ALLOWED")
    # A return itself is no document to replace or unpost.
    status, error = _replace(client, world, returned["transaction_id"], _document(world, "5"))
    assert (status, error["code"]) == (422, "REPLACE_NOT_ALLOWED")
    status, error = _unpost(client, world, returned["transaction_id"])
    assert (status, error["code"]) == (422, "REPLACE_NOT_ALLOWED")
    assert _ledger(session, world) == before


def test_replace_after_the_accrual_was_spent_is_refused_and_changes_nothing(
    client: FlaskClient, world: World, session: Session
) -> None:
    first = _commit(client, world, _document(world, "6"))  # accrues 13.78, active at once
    _commit(client, world, _document(world, "7", 500, lines=BIG_LINE))
    correct(session, world.account_id, -balance(session, world.account_id, datetime.now(UTC))
            .total, reason="test", author="t", now=datetime.now(UTC))  # fmt: skip
    session.flush()
    before = _ledger(session, world)
    status, error = _replace(client, world, first["transaction_id"], _document(world, "6"))
    assert (status, error["code"]) == (422, "REPLACE_NOT_ALLOWED")
    assert error["message"].startswith("Начисленные по документу бонусы уже потрачены")
    assert error["details"] == {"transaction_id": first["transaction_id"]}
    assert _ledger(session, world) == before
    assert _stored(session, first["transaction_id"]).status == "committed"
    status, error = _unpost(client, world, first["transaction_id"])
    assert (status, error["code"]) == (422, "REPLACE_NOT_ALLOWED")


def test_unpost_after_the_window_is_idempotent_and_frees_the_document(
    client: FlaskClient, world: World, session: Session
) -> None:
    body = _document(world, "8", 100)
    first = _commit(client, world, body)
    _stored(session, first["transaction_id"]).created_at = datetime.now(UTC) - timedelta(days=30)
    session.flush()
    status, answer = _unpost(client, world, first["transaction_id"])
    assert (status, answer) == (200, {"transaction_id": first["transaction_id"],
                                      "status": "rolled_back"})  # fmt: skip
    assert balance(session, world.account_id, datetime.now(UTC)).total == D("1000.00")
    assert _unpost(client, world, first["transaction_id"]) == (200, answer)
    assert balance(session, world.account_id, datetime.now(UTC)).total == D("1000.00")
    # An unposted document cannot be replaced: posted again, it is committed afresh.
    status, error = _replace(client, world, first["transaction_id"], body)
    assert (status, error["code"]) == (422, "REPLACE_NOT_ALLOWED")
    again = _commit(client, world, body)
    assert (again["replay"], again["status"]) == (False, "committed")
    assert again["transaction_id"] != first["transaction_id"]
    assert balance(session, world.account_id, datetime.now(UTC)).total == D("910.78")


def test_a_replaced_receipt_is_changed_through_its_new_version(
    client: FlaskClient, world: World, session: Session
) -> None:
    first = _commit(client, world, _document(world, "9", 100))
    status, replaced = _replace(client, world, first["transaction_id"], _document(world, "9"))
    assert status == 200, replaced
    for path in ("unpost", "rollback"):
        status, error = _post(client, world, f"transactions/{first['transaction_id']}/{path}", {})
        assert status == 422, error
        assert error["details"] == {"replaced_by": replaced["transaction_id"]}
    status, error = _post(
        client, world, "receipts/return",
        {"cashier": "c-01", "number": "r-9a", "original_transaction_id": first["transaction_id"]},
    )  # fmt: skip
    assert (status, error["code"]) == (404, "RECEIPT_NOT_FOUND")
    # The new version is returned by its own transaction, or by the document's identity.
    status, partial = _post(
        client, world, "receipts/return",
        {"cashier": "c-01", "number": "r-9b", "original_shift": "5", "original_number": "9",
         "original_sold_at": "2026-05-01T12:00:00", "lines": [{"line": 1, "qty": 1}]},
    )  # fmt: skip
    assert status == 200, partial
    status, rest = _post(
        client, world, "receipts/return",
        {"cashier": "c-01", "number": "r-9c",
         "original_transaction_id": replaced["transaction_id"]},
    )  # fmt: skip
    assert status == 200, rest
    assert balance(session, world.account_id, datetime.now(UTC)).total == D("1000.00")


def test_a_visit_cannot_be_replaced_but_can_be_unposted(
    client: FlaskClient, world: World, session: Session
) -> None:
    status, visit = _post(
        client, world, "visits", {"cashier": "c-01", "number": "v-1", "card_number": world.card}
    )
    assert status == 200, visit
    status, error = _replace(client, world, visit["transaction_id"], _document(world, "v-1"))
    assert (status, error["code"]) == (422, "REPLACE_NOT_ALLOWED")
    status, answer = _unpost(client, world, visit["transaction_id"])
    assert (status, answer["status"]) == (200, "rolled_back")


def test_another_tenants_receipt_is_not_found(
    client: FlaskClient, world: World, other: World, session: Session
) -> None:
    first = _commit(client, world, _document(world, "10", 100))
    status, error = _replace(client, other, first["transaction_id"], _document(other, "10"))
    assert (status, error["code"]) == (404, "RECEIPT_NOT_FOUND")
    status, error = _unpost(client, other, first["transaction_id"])
    assert (status, error["code"]) == (404, "RECEIPT_NOT_FOUND")
    assert _stored(session, first["transaction_id"]).status == "committed"


@pytest.mark.committed
def test_the_same_replace_sent_twice_at_once_posts_once(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    world = committed_world
    first = _commit(app.test_client(), world, _document(world, "race-1", 100))
    body = _document(world, "race-1", 50)
    path = f"/api/v1/transactions/{first['transaction_id']}/replace"
    results = race(app, 2, lambda _: (path, body), world)
    assert [status for status, _ in results] == [200, 200], results
    assert sorted(answer["replay"] for _, answer in results) == [False, True]
    assert len({answer["transaction_id"] for _, answer in results}) == 1
    with Session(engine) as session:
        accrual = D(str(results[0][1]["totals"]["accrual"]))
        assert _ledger(session, world)[0] == D("1000.00") - 50 + accrual
        assert session.scalar(select(func.count()).select_from(ReceiptReplacement)) == 1


@pytest.mark.committed
def test_a_replace_and_a_return_of_one_sale_at_once_never_both_succeed(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    world = committed_world
    first = _commit(app.test_client(), world, _document(world, "race-2", 100))

    def make(i: int) -> tuple[str, dict[str, Any]]:
        if i == 0:
            return "/api/v1/receipts/return", {
                "cashier": "c-01", "number": "r-race-2",
                "original_transaction_id": first["transaction_id"],
            }  # fmt: skip
        return f"/api/v1/transactions/{first['transaction_id']}/replace", _document(world, "race-2")

    results = race(app, 2, make, world)
    assert sorted(status for status, _ in results) in ([200, 404], [200, 422]), results
    with Session(engine) as session:
        total = _ledger(session, world)[0]
    # Returned in full: as before the sale; replaced: the new version's accrual alone.
    assert total in (D("1000.00"), D("1013.78")), total


def test_an_old_document_can_be_reposted_but_not_moved_further_back(
    client: FlaskClient, world: World, session: Session
) -> None:
    """Accounting documents are re-posted months later: the new version may keep the old
    receipt's date beyond the offline window, not go earlier than it."""
    first = _commit(client, world, _document(world, "old-1", sold_at="2026-05-01T12:00:00"))
    session.get_one(Tenant, world.tenant_id).offline_window_days = 30
    session.flush()
    status, error = _post(
        client, world, "receipts/commit", _document(world, "old-2", sold_at="2026-05-01T12:00:00")
    )
    assert (status, error["code"]) == (400, "SOLD_AT_TOO_OLD")  # a new receipt: the window holds
    edited = _document(world, "old-1", sold_at="2026-05-01T12:00:00", lines=BIG_LINE)
    status, replaced = _replace(client, world, first["transaction_id"], edited)
    assert status == 200, replaced
    earlier = _document(world, "old-1", sold_at="2026-04-30T12:00:00")
    status, error = _replace(client, world, replaced["transaction_id"], earlier)
    assert (status, error["code"]) == (400, "SOLD_AT_TOO_OLD")
    assert _stored(session, replaced["transaction_id"]).status == "committed"


def test_a_receipt_rolled_back_at_the_pos_then_unposted_can_be_posted_again(
    client: FlaskClient, world: World, session: Session
) -> None:
    """The cashier annulled the receipt (rollback), then the document was unposted: posting it
    again registers it anew, it is not answered as the cancelled receipt."""
    first = _commit(client, world, _document(world, "rb-1"))
    status, _ = _post(client, world, f"transactions/{first['transaction_id']}/rollback", {})
    assert status == 200
    for _ in range(2):  # idempotent: the identity is given up once
        status, answer = _unpost(client, world, first["transaction_id"])
        assert (status, answer["status"]) == (200, "rolled_back")
    again = _commit(client, world, _document(world, "rb-1"))
    assert again["transaction_id"] != first["transaction_id"]
    assert (again["status"], again["replay"]) == ("committed", False)
    stored = _stored(session, first["transaction_id"])
    assert stored.identity_key.count("~") == 1 and stored.client_txn_id is None
