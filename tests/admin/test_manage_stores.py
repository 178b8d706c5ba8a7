"""Stores, POS tokens and store groups through the management API: a revoked or replaced token
is refused by the POS API at once, a reissued one works, and another tenant's objects are
not found."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from processing import cache
from processing.tenants import callers
from processing.tenants.models import Pos, Tenant
from processing.tenants.service import hash_token
from tests.admin.conftest import call, fields_of
from tests.connector.onec_http.world import World, receipt


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _identify(client: FlaskClient, world: World, token: str) -> int:
    body = {"card_number": world.card}
    return client.post("/api/v1/identify", json=body, headers=_bearer(token)).status_code


def test_stores_with_their_pos_and_groups(
    client: FlaskClient, world: World, admin: dict[str, str], other: World
) -> None:
    status, answer = call(client, admin, "GET", "stores")
    assert status == 200
    [store] = answer["stores"]  # the other tenant's store is not listed
    assert {key: store[key] for key in ("code", "name", "timezone", "groups")} == {
        "code": "s1", "name": "Магазин", "timezone": "Europe/Moscow", "groups": [],
    }  # fmt: skip
    assert [(pos["code"], pos["active"], pos["revoked_at"]) for pos in store["pos"]] == [
        ("p1", True, None), ("p2", True, None),
    ]  # fmt: skip


def test_add_a_store_and_a_pos_whose_token_works(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    body = {
        "code": "ekb-1", "name": "Екатеринбург", "timezone": "Asia/Yekaterinburg",
        "onec_guid": "5F2A0B1C-1111-2222-3333-444455556666", "city": "Екатеринбург",
    }  # fmt: skip
    status, store = call(client, admin, "POST", "stores", body)
    assert status == 201, store
    assert store["onec_guid"] == "5f2a0b1c-1111-2222-3333-444455556666"
    assert (store["pos"], store["groups"], store["address"]) == ([], [], None)
    status, issued = call(client, admin, "POST", "stores/ekb-1/pos", {"code": "k1"})
    assert status == 201, issued
    assert issued["store"] == "ekb-1" and issued["pos"]["active"] is True
    assert len(issued["token"]) >= 40
    assert _identify(client, world, issued["token"]) == 200
    listed = call(client, admin, "GET", "stores")[1]["stores"]
    assert [s["code"] for s in listed] == ["ekb-1", "s1"]
    assert [pos["code"] for pos in listed[0]["pos"]] == ["k1"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "s1", "name": "Дубль"}, 409, "STORE_EXISTS"),
        ({"code": "bad code", "name": "Магазин"}, 400, "VALIDATION_ERROR"),
        ({"code": "s2", "name": "Магазин", "timezone": "Mars/Olympus"}, 400, "VALIDATION_ERROR"),
        ({"code": "s2", "name": "Магазин", "onec_guid": "not-a-guid"}, 400, "VALIDATION_ERROR"),
        ({"code": "s2"}, 400, "VALIDATION_ERROR"),
    ],
)
def test_store_refusals(
    client: FlaskClient, admin: dict[str, str], body: dict[str, Any], status: int, code: str
) -> None:
    answer = call(client, admin, "POST", "stores", body)
    assert (answer[0], answer[1]["code"]) == (status, code)
    assert len(call(client, admin, "GET", "stores")[1]["stores"]) == 1


def test_the_tariffs_store_and_pos_limits(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    tenant.max_stores, tenant.max_pos = 1, 2
    session.flush()
    store = call(client, admin, "POST", "stores", {"code": "s2", "name": "Второй"})
    assert (store[0], store[1]["code"], store[1]["details"]) == (
        422, "STORE_LIMIT_REACHED", {"limit": 1},
    )  # fmt: skip
    pos = call(client, admin, "POST", "stores/s1/pos", {"code": "p3"})
    assert (pos[0], pos[1]["code"]) == (422, "POS_LIMIT_REACHED")


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("stores/s1/pos", {"code": "p1"}, 409, "POS_EXISTS"),
        ("stores/s1/pos", {"code": "p 3"}, 400, "VALIDATION_ERROR"),
        ("stores/s1/pos", {}, 400, "VALIDATION_ERROR"),
        ("stores/nowhere/pos", {"code": "p3"}, 404, "STORE_NOT_FOUND"),
    ],
)
def test_pos_refusals(
    client: FlaskClient,
    admin: dict[str, str],
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    answer = call(client, admin, "POST", path, body)
    assert (answer[0], answer[1]["code"]) == (status, code)


def test_a_revoked_token_is_refused_at_once(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    commit = client.post(
        "/api/v1/receipts/commit", json=receipt("1", card_number=world.card), headers=world.auth
    )
    assert commit.status_code == 200  # the caller is cached now
    status, pos = call(client, admin, "POST", "stores/s1/pos/p1/revoke")
    assert status == 200, pos
    assert pos["code"] == "p1" and pos["active"] is False and pos["revoked_at"]
    refused = client.post(
        "/api/v1/receipts/commit", json=receipt("2", card_number=world.card), headers=world.auth
    )
    assert refused.status_code == 401
    assert refused.get_json()["code"] == "UNAUTHORIZED"
    assert _identify(client, world, f"{world.token}-2") == 200  # p2 still works
    again = call(client, admin, "POST", "stores/s1/pos/p1/revoke")
    assert again == (200, pos)  # the first revocation time stays


def test_a_token_revoked_on_another_node_stops_within_the_cache_lifetime(
    client: FlaskClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _identify(client, world, world.token) == 200
    # Another node revokes it: nothing is flushed through this process's session.
    session.execute(
        update(Pos)
        .where(Pos.token_hash == hash_token(world.token))
        .values(revoked_at=datetime.now(UTC))
    )
    assert _identify(client, world, world.token) == 200  # still cached here
    later = cache.time.monotonic() + callers.CALLER_TTL_S + 1
    monkeypatch.setattr(cache.time, "monotonic", lambda: later)
    assert _identify(client, world, world.token) == 401


def test_reissue_replaces_the_token_and_reactivates_a_revoked_pos(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    assert call(client, admin, "POST", "stores/s1/pos/p1/revoke")[0] == 200
    status, issued = call(client, admin, "POST", "stores/s1/pos/p1/reissue")
    assert status == 200, issued
    assert issued["store"] == "s1" and issued["pos"]["active"] is True
    assert issued["pos"]["revoked_at"] is None and issued["token"] != world.token
    assert _identify(client, world, issued["token"]) == 200
    assert _identify(client, world, world.token) == 401
    # An active POS gets a new token too; the previous one stops at once.
    second = call(client, admin, "POST", "stores/s1/pos/p1/reissue")[1]["token"]
    assert _identify(client, world, second) == 200
    assert _identify(client, world, issued["token"]) == 401


@pytest.mark.parametrize("action", ["revoke", "reissue"])
@pytest.mark.parametrize(
    ("path", "code"),
    [("stores/s1/pos/p9", "POS_NOT_FOUND"), ("stores/nowhere/pos/p1", "STORE_NOT_FOUND")],
)
def test_revoke_and_reissue_of_an_unknown_pos(
    client: FlaskClient, admin: dict[str, str], action: str, path: str, code: str
) -> None:
    status, answer = call(client, admin, "POST", f"{path}/{action}")
    assert (status, answer["code"]) == (404, code)


def test_another_tenants_pos_is_not_found(
    client: FlaskClient, world: World, admin: dict[str, str], other: World
) -> None:
    # Both tenants have a store s1 with a POS p1: the token's tenant decides which one.
    assert call(client, admin, "POST", "stores/s1/pos/p1/revoke")[0] == 200
    assert _identify(client, other, other.token) == 200


def test_store_groups(client: FlaskClient, world: World, admin: dict[str, str]) -> None:
    assert call(client, admin, "POST", "stores", {"code": "s2", "name": "Второй"})[0] == 201
    group = {"code": "moscow", "name": "Москва", "stores": ["s2", "s1", "s1"]}
    status, answer = call(client, admin, "POST", "store-groups", group)
    assert status == 201, answer
    assert answer == {"code": "moscow", "name": "Москва", "stores": ["s1", "s2"]}
    assert call(client, admin, "GET", "store-groups") == (200, {"store_groups": [answer]})
    stores = call(client, admin, "GET", "stores")[1]["stores"]
    assert [s["groups"] for s in stores] == [["moscow"], ["moscow"]]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "moscow", "name": "Снова"}, 409, "CODE_EXISTS"),
        ({"code": "spb", "name": "Питер", "stores": ["nowhere"]}, 404, "STORE_NOT_FOUND"),
        ({"code": "spb!", "name": "Питер"}, 400, "VALIDATION_ERROR"),
        ({"code": "spb", "name": "Питер", "stores": "s1"}, 400, "VALIDATION_ERROR"),
    ],
)
def test_store_group_refusals(
    client: FlaskClient, admin: dict[str, str], body: dict[str, Any], status: int, code: str
) -> None:
    assert call(client, admin, "POST", "store-groups", {"code": "moscow", "name": "М"})[0] == 201
    answer = call(client, admin, "POST", "store-groups", body)
    assert (answer[0], answer[1]["code"]) == (status, code)
    if code == "VALIDATION_ERROR" and body["code"] == "spb":
        assert list(fields_of(answer[1])) == ["stores"]
    assert len(call(client, admin, "GET", "store-groups")[1]["store_groups"]) == 1


def test_an_inactive_store_serves_no_pos_and_activates_within_the_limit(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:
    status, store = call(client, admin, "POST", "stores/s1/active", {"active": False})
    assert (status, store["active"]) == (200, False)
    assert _identify(client, world, world.token) == 401  # the store's POS are refused
    tenant = session.get_one(Tenant, world.tenant_id)
    assert call(client, admin, "POST", "stores", {"code": "s2", "name": "Второй"})[0] == 201
    tenant.max_stores = 1  # s2 is the one active store now: s1 cannot come back
    session.flush()
    refused = call(client, admin, "POST", "stores/s1/active", {"active": True})
    assert (refused[0], refused[1]["code"]) == (422, "STORE_LIMIT_REACHED")
    assert call(client, admin, "POST", "stores/s2/active", {"active": False})[0] == 200
    status, store = call(client, admin, "POST", "stores/s1/active", {"active": True})
    assert (status, store["active"]) == (200, True)
    assert _identify(client, world, world.token) == 200


def test_a_store_is_linked_to_a_1c_warehouse_once(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    warehouse = {"warehouse_id": "b6112590-41ba-11dd-ac9d-0015e9b8c48d"}
    status, store = call(client, admin, "POST", "stores/s1/warehouse", warehouse)
    assert (status, store["warehouse_id"]) == (200, warehouse["warehouse_id"])
    assert call(client, admin, "POST", "stores", {"code": "s2", "name": "Второй"})[0] == 201
    taken = call(client, admin, "POST", "stores/s2/warehouse", warehouse)
    assert (taken[0], taken[1]["code"]) == (409, "STORE_EXISTS")
    status, store = call(client, admin, "POST", "stores/s1/warehouse", {"warehouse_id": None})
    assert (status, store["warehouse_id"]) == (200, None)
