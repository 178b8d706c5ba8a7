"""POS callers are cached per process: changes flushed here apply at once, changes made
elsewhere within the cache's lifetime, a revoked token included."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from processing import cache
from processing.tenants import callers
from processing.tenants.models import Pos, Store, Tenant
from processing.tenants.service import hash_token
from tests.connector.onec_http.world import World, receipt


def _commit(client: FlaskClient, world: World, number: str, **overrides: object) -> int:
    body = receipt(number, card_number=world.card, **overrides)
    return client.post("/api/v1/receipts/commit", json=body, headers=world.auth).status_code


def test_a_tenant_change_flushed_here_applies_to_the_next_receipt(
    client: FlaskClient, world: World, session: Session
) -> None:
    ours = client.post(
        "/api/v1/receipts/calculate", json=receipt("0", card_number=world.card), headers=world.auth
    ).get_json()["lines"]
    # Every line printed a kopeck off what we compute: within the default tolerance.
    lines = [
        {**line, "final_sum": Decimal(str(computed["final_sum"])) + Decimal("0.01")}
        for line, computed in zip(receipt()["lines"], ours, strict=True)
    ]
    assert _commit(client, world, "1", lines=lines) == 200
    tenant = session.get_one(Tenant, world.tenant_id)
    tenant.sums_tolerance = Decimal(0)
    session.flush()
    response = client.post(
        "/api/v1/receipts/commit",
        json=receipt("2", card_number=world.card, lines=lines),
        headers=world.auth,
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "RECEIPT_SUMS_MISMATCH"


def test_a_store_moved_to_another_zone_is_seen_at_once(
    client: FlaskClient, world: World, session: Session
) -> None:
    assert _commit(client, world, "1") == 200
    store = session.scalars(
        select(Store).join(Pos).where(Pos.token_hash == hash_token(world.token))
    ).one()
    store.timezone = "Asia/Vladivostok"
    session.flush()
    response = client.post(
        "/api/v1/receipts/commit", json=receipt("2", card_number=world.card), headers=world.auth
    )
    assert response.status_code == 200
    assert response.get_json()["sold_at"] == "2026-05-01T02:00:00+00:00"  # 12:00 at UTC+10


def test_a_token_revoked_elsewhere_stops_working_when_the_entry_expires(
    client: FlaskClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _commit(client, world, "1") == 200
    # Another process revokes the token: nothing is flushed through this process's session.
    session.execute(
        update(Pos).where(Pos.token_hash == hash_token(world.token)).values(token_hash="revoked")
    )
    assert _commit(client, world, "2") == 200  # still cached here
    later = cache.time.monotonic() + callers.CALLER_TTL_S + 1
    monkeypatch.setattr(cache.time, "monotonic", lambda: later)
    assert _commit(client, world, "3") == 401


def test_a_suspended_tenants_pos_is_refused_and_served_again_once_resumed(
    client: FlaskClient, world: World, session: Session
) -> None:
    """The licensor's suspension reaches the POS at once (the callers cache watches tenants),
    and so does the resumption after a refused call."""
    assert _commit(client, world, "s-1") == 200
    tenant = session.get_one(Tenant, world.tenant_id)
    tenant.suspended_at = tenant.created_at
    session.flush()
    refused = client.post("/api/v1/identify", json={"card_number": world.card}, headers=world.auth)
    assert refused.status_code == 403 and refused.get_json()["code"] == "TENANT_SUSPENDED"
    assert "приостановлено" in refused.get_json()["message"]
    tenant.suspended_at = None
    session.flush()
    assert _commit(client, world, "s-2") == 200
