"""Offline batches: accrual only, rules of each receipt's time, per-receipt results."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.ledger.service import balance
from processing.programs.service import add_version, get_program
from processing.receipts.models import Receipt
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import BONUS, World, receipt

D = Decimal


def _offline(client: FlaskClient, world: World, receipts: list[dict[str, Any]]) -> Any:
    return client.post("/api/v1/receipts/offline", json={"receipts": receipts}, headers=world.auth)


def test_offline_receipts_accrue_only_with_the_rules_of_their_time(
    client: FlaskClient, world: World, session: Session
) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    program = get_program(session, tenant, "bonus")
    add_version(session, program, {**BONUS, "accrual_percent": "10"},
                datetime(2026, 6, 1, tzinfo=UTC))  # fmt: skip
    session.flush()
    old = receipt("o-1", card_number=world.card, pay_bonus=50, sold_at="2026-05-20T10:00:00")
    new = receipt("o-2", card_number=world.card, sold_at="2026-06-02T10:00:00",
                  coupons=["C-1"])  # fmt: skip
    bad = receipt("o-3", card_number="0000000000000", sold_at="2026-06-02T11:00:00")
    response = _offline(client, world, [old, new, bad])
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["committed", "committed", "error"]
    assert "только начисление" in results[0]["notes"][0]
    assert "Купоны" in results[1]["notes"][0]
    assert results[2]["code"] == "CARD_NOT_FOUND"
    stored = {
        r.number: r for r in session.scalars(select(Receipt).where(Receipt.offline.is_(True)))
    }
    assert stored["o-1"].bonus_payment == 0 and stored["o-1"].accrual == D("13.78")  # 3%
    assert stored["o-2"].accrual == D("45.93")  # 10% of 459.27
    assert balance(session, world.account_id, datetime.now(UTC)).total == D("1059.71")
    again = _offline(client, world, [old, new]).get_json()["results"]
    assert [r["status"] for r in again] == ["replay", "replay"]
    assert balance(session, world.account_id, datetime.now(UTC)).total == D("1059.71")


def test_offline_receipts_need_their_time(client: FlaskClient, world: World) -> None:
    body = receipt("o-1", card_number=world.card)
    del body["sold_at"]
    response = _offline(client, world, [body])
    assert response.status_code == 400 and response.get_json()["code"] == "VALIDATION_ERROR"


def test_large_batch_runs_as_a_job_and_reports_status(
    client: FlaskClient, world: World, session: Session
) -> None:
    receipts = [
        receipt(
            f"b-{i}", card_number=world.card, sold_at=f"2026-05-02T10:{i % 60:02d}:{i // 60:02d}"
        )
        for i in range(101)
    ]
    response = _offline(client, world, receipts)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and response.headers["Location"] == body["status_url"]
    # No REDIS_URL here: the job ran inline right after the request committed.
    status = client.get(body["status_url"], headers=world.auth).get_json()
    assert status["status"] == "done" and len(status["results"]) == 101
    assert {r["status"] for r in status["results"]} == {"committed"}
    count = session.scalar(select(func.count()).select_from(Receipt).where(Receipt.offline))
    assert count == 101


def test_batch_status_of_another_tenant_is_not_found(
    client: FlaskClient, world: World, other: World
) -> None:
    response = client.get("/api/v1/offline-batches/nope", headers=other.auth)
    assert response.status_code == 404
    assert response.get_json()["code"] == "OFFLINE_BATCH_NOT_FOUND"
