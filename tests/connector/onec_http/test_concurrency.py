"""Races through the real API on committed data: one receipt committed by ten POS retries at
once, fifty receipts paying with bonus from one account at once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.cards.models import Card, CardStatusChange
from processing.customers.service import register_customer
from processing.ledger.models import Account, BonusLot, Posting
from processing.ledger.service import balance
from processing.levels.models import PurchaseStat
from processing.receipts.models import Receipt
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, race, receipt

pytestmark = pytest.mark.committed


def test_ten_concurrent_commits_of_one_receipt_post_once(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    body = receipt("race-1", card_number=committed_world.card, pay_bonus=100)
    results = race(app, 10, lambda _: ("/api/v1/receipts/commit", body), committed_world)
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

    results = race(app, 50, make, committed_world)
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


def _sale(app: Flask, world: World, number: str) -> str:
    response = app.test_client().post(
        "/api/v1/receipts/commit",
        json=receipt(number, card_number=world.card, pay_bonus=100),
        headers=world.auth,
    )
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["transaction_id"])


def _return_body(number: str, transaction_id: str, qty: int = 2) -> dict[str, Any]:
    return {
        "cashier": "c-01", "shift": "9", "number": number,
        "original_transaction_id": transaction_id, "lines": [{"line": 1, "qty": qty}],
    }  # fmt: skip


def _ledger_holds(engine: Engine, world: World) -> None:
    """Balance = Σ postings = Σ lot remainders, and no purchase total went negative."""
    with Session(engine) as session:
        postings = session.scalar(
            select(func.coalesce(func.sum(Posting.amount), 0)).where(
                Posting.account_id == world.account_id
            )
        )
        lots = session.scalar(
            select(func.coalesce(func.sum(BonusLot.remaining), 0)).where(
                BonusLot.account_id == world.account_id
            )
        )
        stats = session.scalar(
            select(func.coalesce(func.sum(PurchaseStat.amount), 0)).where(
                PurchaseStat.account_id == world.account_id
            )
        )
        total = balance(session, world.account_id, datetime.now(UTC)).total
    assert total == postings == lots, (total, postings, lots)
    assert stats >= 0


@pytest.mark.parametrize("round_", range(4))
def test_a_return_and_a_rollback_of_one_sale_at_once_never_both_succeed(
    app: Flask, committed_world: World, engine: Engine, round_: int
) -> None:
    txn = _sale(app, committed_world, f"rr-{round_}")

    def make(i: int) -> tuple[str, dict[str, Any]]:
        if i == 0:
            return "/api/v1/receipts/return", _return_body(f"ret-{round_}", txn)
        return f"/api/v1/transactions/{txn}/rollback", {}

    results = race(app, 2, make, committed_world)
    succeeded = [status for status, _ in results if status == 200]
    assert len(succeeded) == 1, results
    refused = next(body for status, body in results if status != 200)
    assert refused["code"] in ("RECEIPT_NOT_FOUND", "ROLLBACK_NOT_ALLOWED"), refused
    _ledger_holds(engine, committed_world)


def test_two_returns_that_together_exceed_the_sale_never_both_succeed(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    txn = _sale(app, committed_world, "two-returns")  # line 1: 3 units
    results = race(
        app, 2, lambda i: ("/api/v1/receipts/return", _return_body(f"ret2-{i}", txn)),
        committed_world,
    )  # fmt: skip
    codes = sorted(str(status if status == 200 else body["code"]) for status, body in results)
    assert codes == ["200", "RETURN_EXCEEDS_SALE"], results
    _ledger_holds(engine, committed_world)


def test_two_rollbacks_of_one_sale_at_once_undo_it_once(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    txn = _sale(app, committed_world, "two-rollbacks")
    results = race(app, 2, lambda _: (f"/api/v1/transactions/{txn}/rollback", {}), committed_world)
    assert [status for status, _ in results] == [200, 200], results
    _ledger_holds(engine, committed_world)
    with Session(engine) as session:
        total = balance(session, committed_world.account_id, datetime.now(UTC)).total
        reversals = session.scalar(
            select(func.count()).select_from(Posting).where(Posting.kind == "reversal")
        )
    assert total == Decimal("1000.00") and reversals == 2  # write-off and accrual, once each


def _warm_up(app: Flask, world: World) -> None:
    """One receipt first: the process caches filled, the race is on the receipts alone."""
    warm = receipt("warm-up", card_number=world.card)
    response = app.test_client().post("/api/v1/receipts/commit", json=warm, headers=world.auth)
    assert response.status_code == 200


def test_ten_first_receipts_on_one_blank_card_at_once_share_one_account(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    """A pre-printed card's first receipts racing each other: the card is activated once and
    every accrual lands on the account the card holds, none on an orphan account."""
    blank = committed_world.blank[0]
    _warm_up(app, committed_world)

    def make(i: int) -> tuple[str, dict[str, Any]]:
        return "/api/v1/receipts/commit", receipt(f"blank-{i}", card_number=blank, shift=str(i))

    results = race(app, 10, make, committed_world)
    assert [status for status, _ in results] == [200] * 10, results
    promised = sum(Decimal(str(body["totals"]["accrual"])) for _, body in results)
    assert promised == 10 * Decimal("13.78")  # 3% of 459.27 paid (tobacco line excluded)
    with Session(engine) as session:
        card = session.scalar(select(Card).where(Card.number == blank))
        assert card is not None and card.account_id is not None
        assert session.scalar(select(func.count()).select_from(Account)) == 2  # + the world's
        total = balance(session, card.account_id, datetime.now(UTC)).total
        assert total == promised
        activations = session.scalar(
            select(func.count())
            .select_from(CardStatusChange)
            .where(CardStatusChange.card_id == card.id, CardStatusChange.new_status == "active")
        )
        assert activations == 1


def test_ten_first_receipts_by_one_phone_at_once_make_one_virtual_card(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    """A registered customer with no card yet, named by phone on ten receipts at once: one
    virtual card, one account, every accrual on it."""
    with Session(engine) as session:
        tenant = session.get(Tenant, committed_world.tenant_id)
        assert tenant is not None
        customer = register_customer(
            session, tenant, {"first_name": "Анна", "phone": "+79160000088"}, source="admin",
            author="t", consents={"processing": True}, now=datetime.now(UTC),
        )  # fmt: skip
        customer_id = customer.id
        session.commit()
    _warm_up(app, committed_world)

    def make(i: int) -> tuple[str, dict[str, Any]]:
        return "/api/v1/receipts/commit", receipt(f"ph-{i}", phone="+79160000088", shift=str(i))

    results = race(app, 10, make, committed_world)
    assert [status for status, _ in results] == [200] * 10, results
    promised = sum(Decimal(str(body["totals"]["accrual"])) for _, body in results)
    assert promised == 10 * Decimal("13.78")
    with Session(engine) as session:
        cards = session.scalars(select(Card).where(Card.customer_id == customer_id)).all()
        assert len(cards) == 1 and cards[0].account_id is not None
        accounts = session.scalars(select(Account).where(Account.customer_id == customer_id))
        assert [a.id for a in accounts] == [cards[0].account_id]
        assert balance(session, cards[0].account_id, datetime.now(UTC)).total == promised
