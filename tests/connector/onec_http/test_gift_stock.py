"""A store's gift stock through the management API and the POS API: gifts given only as far as
the stock goes (then the cashier is told, or a substitute discount is given), issued per
receipt, customer and promotion, given back by the return that completes the line or a
rollback, never below zero under concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from processing.gifts.models import GiftMovement, GiftStock
from processing.programs.service import add_program, add_version
from processing.tenants.models import Tenant
from tests.admin.conftest import admin_headers, call
from tests.connector.onec_http.world import World, race, receipt

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
D = Decimal
BEAR = {"receipt": {"goods": {"goods": ["g-100"]}},
        "reward": {"kind": "gift", "gift": {"goods": ["bear"]}, "quantity": 2}}  # fmt: skip
LINES = [
    {"line": 1, "goods": "g-100", "qty": 3, "price": 100, "sum": 300},
    {"line": 2, "goods": "BEAR", "qty": 2, "price": 50, "sum": 100},
]


def _promotion(session: Session, world: World, rules: dict[str, Any]) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    add_version(session, add_program(session, tenant, "promotion", "bear", "Мишка в подарок"),
                rules, SINCE)  # fmt: skip
    session.flush()


def _post(client: FlaskClient, world: World, path: str, body: dict[str, Any]) -> Any:
    response = client.post(f"/api/v1/{path}", json=body, headers=world.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _sale(number: str, **extra: Any) -> dict[str, Any]:
    return receipt(number, lines=LINES, **extra)


def _stock(client: FlaskClient, admin: dict[str, str]) -> dict[str, int]:
    status, answer = call(client, admin, "GET", "stores/s1/gift-stock")
    assert status == 200, answer
    return {row["goods"]: row["quantity"] for row in answer["stock"]}


def _gift_qty(answer: dict[str, Any]) -> Decimal:
    return D(str(answer["lines"][1]["gift_qty"]))


def test_gifts_as_far_as_the_stock_goes_issued_and_returned(
    client: FlaskClient, session: Session, world: World
) -> None:
    _promotion(session, world, BEAR)
    admin = admin_headers(session, world)
    # a goods item the store does not count: gifts without limit
    assert _gift_qty(_post(client, world, "receipts/calculate", _sale("0"))) == 2
    status, answer = call(client, admin, "POST", "stores/s1/gift-stock/receive",
                          {"goods": "Bear", "quantity": 1, "document": "ПН-1"})  # fmt: skip
    assert (status, answer["stock"]) == (200, [{"goods": "bear", "quantity": 1}])
    calculated = _post(client, world, "receipts/calculate", _sale("1", card_number=world.card))
    assert _gift_qty(calculated) == 1
    assert calculated["hints"][0] == (
        "Подарки по акции «Мишка в подарок» закончились в магазине: не выдано 1 шт."
    )
    sale = _post(client, world, "receipts/commit", _sale("1", card_number=world.card))
    assert _gift_qty(sale) == 1 and sale["totals"]["discount"] == D("50.00")
    assert _stock(client, admin) == {"bear": 0}
    empty = _post(client, world, "receipts/calculate", _sale("2"))
    assert _gift_qty(empty) == 0
    assert [(p["code"], p["applied"], p["reason"]) for p in empty["promotions"]] == [
        ("bear", False, "Подарки по акции закончились в магазине.")
    ]
    status, moves = call(client, admin, "GET", "stores/s1/gift-stock/movements?goods=BEAR")
    assert status == 200
    assert [(m["kind"], m["quantity"], m["balance_after"], m["transaction_id"], m["line"],
             m["customer_id"], m["promotion"]) for m in moves["movements"]] == [
        ("issued", -1, 0, sale["transaction_id"], 2, world.customer_id, "bear"),
        ("received", 1, 1, None, None, None, None),
    ]  # fmt: skip
    original = {"cashier": "c-01", "shift": "5", "original_transaction_id": sale["transaction_id"]}
    _post(client, world, "receipts/return",
          {**original, "number": "r1", "lines": [{"line": 2, "qty": 1}]})  # fmt: skip
    assert _stock(client, admin) == {"bear": 0}  # the line is not returned in full yet
    _post(client, world, "receipts/return",
          {**original, "number": "r2", "lines": [{"line": 2, "qty": 1}]})  # fmt: skip
    assert _stock(client, admin) == {"bear": 1}
    again = _post(client, world, "receipts/commit", _sale("3"))
    assert _gift_qty(again) == 1 and _stock(client, admin) == {"bear": 0}
    _post(client, world, f"transactions/{again['transaction_id']}/rollback", {})
    assert _stock(client, admin) == {"bear": 1}
    kinds = [m.kind for m in session.scalars(select(GiftMovement).order_by(GiftMovement.id))]
    assert kinds == ["received", "issued", "returned", "issued", "returned"]


def test_a_substitute_discount_when_the_gifts_run_out(
    client: FlaskClient, session: Session, world: World
) -> None:
    _promotion(session, world, {**BEAR, "reward": {**BEAR["reward"], "substitute_percent": "10"}})
    admin = admin_headers(session, world)
    call(client, admin, "POST", "stores/s1/gift-stock/receive", {"goods": "bear", "quantity": 1})
    answer = _post(client, world, "receipts/calculate", _sale("1"))
    # one bear given (50.00), the other's share of 10% off the 300.00 trigger line: 15.00
    assert _gift_qty(answer) == 1
    assert (answer["lines"][0]["discount"], answer["lines"][1]["discount"]) == (
        D("15.00"), D("50.00"),
    )  # fmt: skip
    assert "вместо 1 шт. — скидка 5% на товары акции" in answer["hints"][0]
    call(client, admin, "POST", "stores/s1/gift-stock/write-off",
         {"goods": "bear", "quantity": 1, "reason": "Брак"})  # fmt: skip
    none_left = _post(client, world, "receipts/calculate", _sale("2"))
    assert _gift_qty(none_left) == 0 and none_left["lines"][0]["discount"] == D("30.00")


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("write-off", {"goods": "bear", "quantity": 2, "reason": "Брак"}, 422, "GIFT_STOCK_SHORT"),
        ("write-off", {"goods": "doll", "quantity": 1, "reason": "Брак"}, 422, "GIFT_STOCK_SHORT"),
        ("write-off", {"goods": "bear", "quantity": 1, "reason": " "}, 400, "VALIDATION_ERROR"),
        ("receive", {"goods": "bear", "quantity": 0}, 400, "VALIDATION_ERROR"),
        ("receive", {"goods": "bear", "quantity": 1.5}, 400, "VALIDATION_ERROR"),
        ("receive", {"goods": "bear", "quantity": "1"}, 400, "VALIDATION_ERROR"),
        ("receive", {"goods": "", "quantity": 1}, 400, "VALIDATION_ERROR"),
        ("receive", {"goods": "bear", "quantity": 1, "colour": "red"}, 400, "VALIDATION_ERROR"),
    ],
)
def test_refusals_leave_the_stock_as_it_was(
    client: FlaskClient, session: Session, world: World, path: str, body: dict[str, Any],
    status: int, code: str,
) -> None:  # fmt: skip
    admin = admin_headers(session, world)
    call(client, admin, "POST", "stores/s1/gift-stock/receive", {"goods": "bear", "quantity": 1})
    answer_status, answer = call(client, admin, "POST", f"stores/s1/gift-stock/{path}", body)
    assert (answer_status, answer["code"]) == (status, code), answer
    assert _stock(client, admin) == {"bear": 1}
    assert call(client, admin, "GET", "stores/s9/gift-stock")[1]["code"] == "STORE_NOT_FOUND"


@pytest.mark.committed
def test_gift_stock_never_goes_negative_under_concurrency(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    world = committed_world
    with Session(engine) as session:
        _promotion(session, world, {**BEAR, "reward": {**BEAR["reward"], "quantity": 1}})
        admin = admin_headers(session, world)
        session.commit()
    client = app.test_client()
    call(client, admin, "POST", "stores/s1/gift-stock/receive", {"goods": "bear", "quantity": 5})
    results = race(app, 12, lambda i: ("/api/v1/receipts/commit", _sale(f"c{i}")), world)
    assert all(status == 200 for status, _ in results), results
    given = sorted(_gift_qty(answer) for _, answer in results)
    assert given == [0] * 7 + [1] * 5
    with Session(engine) as session:
        assert session.scalars(select(GiftStock.quantity)).one() == 0
        issued = session.scalars(
            select(GiftMovement.quantity).where(GiftMovement.kind == "issued")
        ).all()
        assert sorted(issued) == [-1] * 5


@pytest.mark.committed
def test_first_deliveries_at_once_are_all_recorded(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    with Session(engine) as session:
        admin = admin_headers(session, committed_world)
        session.commit()
    barrier = threading.Barrier(6)
    statuses: list[int] = [0] * 6

    def deliver(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        body = {"goods": "new-gift", "quantity": 5, "document": f"D{i}"}
        response = client.post("/api/v1/admin/stores/s1/gift-stock/receive", headers=admin,
                               json=body)  # fmt: skip
        statuses[i] = response.status_code

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 6
    with Session(engine) as session:
        assert session.scalars(select(GiftStock.quantity)).one() == 30
        assert len(session.scalars(select(GiftMovement.id)).all()) == 6
