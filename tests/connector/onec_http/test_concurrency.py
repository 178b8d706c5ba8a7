"""Races through the real API on committed data: one receipt committed by ten POS retries at
once, fifty receipts paying with bonus from one account at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.ledger.models import Posting
from processing.ledger.service import balance
from processing.receipts.models import Receipt
from tests.connector.onec_http.world import World, receipt, seed_world

pytestmark = pytest.mark.committed


@pytest.fixture
def committed_world(engine: Engine) -> World:
    with Session(engine) as session:
        world = seed_world(session)
        session.commit()
    return world


def _race(app: Flask, count: int, make: Callable[[int], tuple[str, dict[str, Any]]],
          world: World) -> list[tuple[int, Any]]:  # fmt: skip
    barrier = threading.Barrier(count)
    results: list[tuple[int, Any]] = [(0, None)] * count

    def run(i: int) -> None:
        path, body = make(i)
        client = app.test_client()
        barrier.wait()
        response = client.post(path, json=body, headers=world.auth)
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_ten_concurrent_commits_of_one_receipt_post_once(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    body = receipt("race-1", card_number=committed_world.card, pay_bonus=100)
    results = _race(app, 10, lambda _: ("/api/v1/receipts/commit", body), committed_world)
    assert [status for status, _ in results] == [200] * 10
    assert len({body["transaction_id"] for _, body in results}) == 1
    assert sum(1 for _, body in results if not body["replay"]) == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Receipt)) == 1
        kinds = session.scalars(
            select(Posting.kind).where(Posting.account_id == committed_world.account_id)
        ).all()
        assert sorted(kinds) == ["accrual", "opening_balance", "write_off"]
        total = balance(session, committed_world.account_id, datetime.now(UTC)).total
        assert total == Decimal("910.78")


def test_fifty_parallel_write_offs_never_overdraw_or_deadlock(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    def make(i: int) -> tuple[str, dict[str, Any]]:
        # Each pays 100.00 and accrues 10.78 (active at once): 1000.00 covers nine, then
        # the accruals let more through; never more than the balance.
        return "/api/v1/receipts/commit", receipt(
            f"par-{i}", card_number=committed_world.card, pay_bonus=100
        )

    results = _race(app, 50, make, committed_world)
    codes = [status if status == 200 else body["code"] for status, body in results]
    assert set(codes) <= {200, "NOT_ENOUGH_BONUS"}, codes
    paid = codes.count(200)
    with Session(engine) as session:
        total = balance(session, committed_world.account_id, datetime.now(UTC)).total
        assert total == Decimal("1000.00") - paid * Decimal("100.00") + paid * Decimal("10.78")
        assert total >= 0
        assert session.scalar(select(func.count()).select_from(Receipt)) == paid
        write_offs = session.scalar(
            select(func.count()).select_from(Posting).where(Posting.kind == "write_off")
        )
        assert write_offs == paid
    assert paid >= 10


def test_a_refused_first_receipt_of_a_new_cashier_does_not_break_later_ones(
    app: Flask, committed_world: World
) -> None:
    """The refusal rolls back the cashier row it created: no process cache may keep its id."""
    client = app.test_client()
    unknown = receipt("r-0", cashier="new-cashier", card_number="2775999999992")
    response = client.post("/api/v1/receipts/commit", json=unknown, headers=committed_world.auth)
    assert response.status_code in (400, 404), response.get_json()
    statuses = [
        client.post(
            "/api/v1/receipts/commit",
            json=receipt(f"r-{i}", cashier="new-cashier", card_number=committed_world.card),
            headers=committed_world.auth,
        ).status_code
        for i in range(1, 13)
    ]
    returns = [
        client.post(
            "/api/v1/receipts/return",
            json={"cashier": "new-cashier", "shift": "5", "number": f"ret-{i}",
                  "original_shift": "5", "original_number": f"r-{i}",
                  "original_sold_at": "2026-05-01T12:00:00", "lines": [{"line": 1, "qty": 1}]},
            headers=committed_world.auth,
        ).status_code
        for i in range(1, 4)
    ]  # fmt: skip
    assert statuses == [200] * 12 and returns == [200] * 3
