"""Promotion usage limits on commit: a total limit holds under parallel POS, a budget bounds
what is given, a customer's limit counts their receipts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.programs.service import add_program, add_version
from processing.promotions.models import PromotionUsage, ReceiptPromotion
from processing.receipts.models import Receipt
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, race, receipt
from tests.factories import T0

D = Decimal
SINCE = T0.replace(year=2026, month=1, day=1)
TEN_PERCENT = {"reward": {"kind": "percent", "value": "10"}}


def _promotion(session: Session, world: World, rules: dict[str, Any]) -> None:
    tenant = session.get(Tenant, world.tenant_id)
    assert tenant is not None
    program = add_program(session, tenant, "promotion", "limited", "Акция с лимитом")
    add_version(session, program, rules, SINCE)
    session.flush()


@pytest.mark.committed
def test_a_total_limit_holds_under_sixteen_parallel_pos(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    with Session(engine) as session:
        _promotion(session, committed_world, {**TEN_PERCENT, "limits": {"total": 5}})
        session.commit()

    def make(i: int) -> tuple[str, dict[str, Any]]:
        return "/api/v1/receipts/commit", receipt(f"lim-{i}", card_number=committed_world.card)

    results = race(app, 16, make, committed_world)
    assert [status for status, _ in results] == [200] * 16, results
    discounted = [body for _, body in results if body["totals"]["discount"] > 0]
    assert len(discounted) == 5
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Receipt)) == 16
        assert session.scalar(select(func.count()).select_from(ReceiptPromotion)) == 5
        usage = session.scalars(select(PromotionUsage)).one()
        spent = sum(D(str(body["totals"]["discount"])) for body in discounted)
        assert (usage.uses, usage.spent) == (5, spent)


def _commit(client: FlaskClient, world: World, number: str) -> Any:
    response = client.post(
        "/api/v1/receipts/commit", json=receipt(number, card_number=world.card),
        headers=world.auth,
    )  # fmt: skip
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_budget_bounds_what_is_given(client: FlaskClient, world: World, session: Session) -> None:
    # 10% of 459.27 = 45.93 a receipt; a budget of 100.00 gives 45.93, 45.93, then 8.14.
    _promotion(session, world, {**TEN_PERCENT, "limits": {"budget": "100.00"}})
    given = [_commit(client, world, str(n))["totals"]["discount"] for n in range(4)]
    assert given == [D("45.93"), D("45.93"), D("8.14"), 0]
    calc = client.post("/api/v1/receipts/calculate", json=receipt("x", card_number=world.card),
                       headers=world.auth).get_json()  # fmt: skip
    assert calc["promotions"][0]["reason"] == "Бюджет акции исчерпан."


def test_a_customers_limit_counts_their_receipts(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, {**TEN_PERCENT, "limits": {"per_customer": 2}})
    given = [_commit(client, world, str(n))["totals"]["discount"] for n in range(3)]
    assert given == [D("45.93"), D("45.93"), 0]
    anonymous = client.post("/api/v1/receipts/commit", json=receipt("anon"), headers=world.auth)
    assert anonymous.get_json()["totals"]["discount"] == D("45.93")


CAMPAIGN = {
    "receipt": {"sum": {"min": "100.00"}},
    "reward": {"kind": "extra_bonus", "value": "60.00", "lifetime_days": 30},
    "limits": {"total": 10, "budget": "1000.00"},
}


def _usage(session: Session) -> tuple[int, Decimal]:
    usage = session.scalars(select(PromotionUsage).execution_options(populate_existing=True)).one()
    return usage.uses, usage.spent


def _total(session: Session, world: World) -> Decimal:
    from datetime import UTC, datetime

    from processing.ledger.service import balance

    return balance(session, world.account_id, datetime.now(UTC)).total


def test_returns_take_back_campaign_points_and_restore_the_counter(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, CAMPAIGN)
    before = _total(session, world)
    sale = _commit(client, world, "1")
    accrual = D(str(sale["totals"]["accrual"]))
    assert _total(session, world) == before + accrual + D("60.00")
    assert _usage(session) == (1, D("60.00"))
    paid = D(str(sale["totals"]["final_sum"]))
    # Line 1 (300.00 of the 639.25 paid) back: its share of the points, 60.00 × 300/639.25
    # = 28.157… → 28.16, goes back with line 1's accrual.
    first = client.post("/api/v1/receipts/return", headers=world.auth, json={
        "cashier": "c-01", "number": "r1", "original_transaction_id": sale["transaction_id"],
        "lines": [{"line": 1, "qty": 3}],
    })  # fmt: skip
    assert first.status_code == 200, first.get_json()
    share = (D("60.00") * D("300.00") / paid).quantize(D("0.01"))
    assert share == D("28.16")
    line_accrual = D(str(first.get_json()["totals"]["accrual"]))
    assert _total(session, world) == before + accrual + D("60.00") - line_accrual - share
    assert _usage(session) == (1, D("60.00") - share)
    rest = client.post("/api/v1/receipts/return", headers=world.auth, json={
        "cashier": "c-01", "number": "r2", "original_transaction_id": sale["transaction_id"],
    })  # fmt: skip
    assert rest.status_code == 200, rest.get_json()
    assert _total(session, world) == before
    assert _usage(session) == (0, D("0.00"))


def test_a_rollback_reverses_campaign_points_and_the_counter(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, CAMPAIGN)
    before = _total(session, world)
    sale = _commit(client, world, "1")
    answer = client.post(f"/api/v1/transactions/{sale['transaction_id']}/rollback", json={},
                         headers=world.auth)  # fmt: skip
    assert answer.status_code == 200, answer.get_json()
    assert _total(session, world) == before
    assert _usage(session) == (0, D("0.00"))


def test_first_purchase_window_counts_from_the_customers_first_receipt_under_it(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, {**TEN_PERCENT, "customer": {"first_purchase_within_days": 30}})
    assert _commit(client, world, "1")["totals"]["discount"] == D("45.93")
    later = receipt("2", card_number=world.card, sold_at="2026-05-25T12:00:00")
    answer = client.post("/api/v1/receipts/commit", json=later, headers=world.auth).get_json()
    assert answer["totals"]["discount"] == D("45.93")  # day 24 of 30
    late = receipt("3", card_number=world.card, sold_at="2026-06-15T12:00:00")
    soft = client.post("/api/v1/receipts/calculate", json=late, headers=world.auth).get_json()
    assert soft["totals"]["discount"] == 0
    assert soft["promotions"][0]["reason"] == "Действует 30 дн. с первой покупки по акции."
