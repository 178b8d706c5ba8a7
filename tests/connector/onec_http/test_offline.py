"""Offline batches: accrual only, rules of each receipt's time, per-receipt results."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from connector.onec_http import receipts as receipts_face
from processing.ledger.service import balance
from processing.programs.service import add_version, get_program
from processing.receipts.models import OfflineBatch, Receipt
from processing.receipts.offline import CHUNK, commit_offline
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import BONUS, World, receipt, seed_world

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
    stored = session.get_one(OfflineBatch, body["batch_id"])
    assert stored.receipts == [] and len(stored.results) == 101  # no bodies (phones) kept


def test_batch_status_of_another_tenant_is_not_found(
    client: FlaskClient, world: World, other: World
) -> None:
    response = client.get("/api/v1/offline-batches/nope", headers=other.auth)
    assert response.status_code == 404
    assert response.get_json()["code"] == "OFFLINE_BATCH_NOT_FOUND"


def test_an_upload_with_many_lines_goes_to_a_job(
    client: FlaskClient, world: World, session: Session
) -> None:
    lines = [{"line": n, "goods": f"g-{n}", "qty": 1, "price": 10, "sum": 10}
             for n in range(1, 701)]  # fmt: skip
    receipts = [
        receipt(f"l-{i}", card_number=world.card, sold_at=f"2026-05-02T11:0{i}:00", lines=lines)
        for i in range(3)
    ]  # three receipts, 2,100 lines in all
    response = _offline(client, world, receipts)
    assert response.status_code == 202, response.get_json()
    status = client.get(response.get_json()["status_url"], headers=world.auth).get_json()
    assert (
        status["status"] == "done" and [r["status"] for r in status["results"]] == ["committed"] * 3
    )


@pytest.mark.committed
def test_an_upload_is_committed_a_chunk_at_a_time(
    app: Flask, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk is its own transaction: what was committed before is visible to others (and
    its account locks released) while the rest of the upload is still being worked through."""
    with Session(engine) as session:
        world = seed_world(session)
        session.commit()
    seen: list[int] = []

    def watching(*args: Any, **kwargs: Any) -> Any:
        with Session(engine) as other:
            seen.append(
                other.scalar(select(func.count()).select_from(Receipt).where(Receipt.offline)) or 0
            )
        return commit_offline(*args, **kwargs)

    monkeypatch.setattr(receipts_face, "commit_offline", watching)
    batch = [receipt(f"c-{i}", card_number=world.card, sold_at=f"2026-05-02T12:{i:02d}:00")
             for i in range(25)]  # fmt: skip
    response = app.test_client().post(
        "/api/v1/receipts/offline", json={"receipts": batch}, headers=world.auth
    )
    assert response.status_code == 200, response.get_json()
    assert seen == [0, CHUNK, 2 * CHUNK]
