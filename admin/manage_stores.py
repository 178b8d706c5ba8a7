"""``/api/v1/admin/stores`` and ``/api/v1/admin/store-groups``: the tenant's stores with their
POS, POS tokens (issue, revoke, reissue) and store groups, with a tenant admin token.

A revoked or replaced token is refused at once by this process and by every other within the
POS callers cache's lifetime (``processing/tenants/callers.py``, 10 s).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from admin.auth import admin_tenant
from admin.manage_api import management_blueprint
from connector.db import db_session
from mappings import admin as wire
from processing.tenants.service import (
    add_pos,
    add_store,
    add_store_group,
    get_store,
    link_warehouse,
    reissue_pos_token,
    revoke_pos,
    set_store_active,
    tenant_store_groups,
    tenant_stores,
)

blp = management_blueprint(
    "admin_stores",
    __name__,
    "Management: stores, POS tokens and store groups",
)

POS_EXAMPLE = {
    "code": "pos-01",
    "active": True,
    "created_at": "2026-11-20T09:00:00+00:00",
    "revoked_at": None,
}
STORE_EXAMPLE = {
    "code": "msk-1",
    "name": "Магазин на Тверской",
    "timezone": "Europe/Moscow",
    "onec_guid": "5f2a0b1c-1111-2222-3333-444455556666",
    "address": "Тверская ул., 1",
    "city": "Москва",
    "active": True,
    "warehouse_id": None,
    "groups": ["moscow"],
    "pos": [POS_EXAMPLE],
}
ISSUED_EXAMPLE = {
    "store": "msk-1",
    "pos": POS_EXAMPLE,
    "token": "kq3V0m1Yx8bHn2Jd5WcRt7ZpLs9AeUf4GiOh6NvXyBw",
}
GROUP_EXAMPLE = {"code": "moscow", "name": "Москва", "stores": ["msk-1", "msk-2"]}


def _now() -> datetime:
    return datetime.now(UTC)


@blp.route("/stores")
class Stores(MethodView):
    @blp.response(200, wire.StoresOut, example={"stores": [STORE_EXAMPLE]})
    def get(self) -> dict[str, Any]:
        """The tenant's stores with their groups and POS (active or revoked)."""
        tenant = admin_tenant()
        return {"stores": [wire.store_body(s) for s in tenant_stores(db_session(), tenant)]}

    @blp.arguments(
        wire.StoreIn,
        unknown=RAISE,
        example={key: STORE_EXAMPLE[key] for key in
                 ("code", "name", "timezone", "onec_guid", "address", "city")},
    )  # fmt: skip
    @blp.response(201, wire.StoreOut, example={**STORE_EXAMPLE, "groups": [], "pos": []})
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(409, description="STORE_EXISTS")
    @blp.alt_response(422, description="STORE_LIMIT_REACHED")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add a store (within the tariff's store limit)."""
        tenant = admin_tenant()
        store = add_store(
            db_session(), tenant, data["code"], data["name"], data["timezone"],
            onec_guid=data["onec_guid"], address=data["address"], city=data["city"],
        )  # fmt: skip
        return wire.store_body(store)


@blp.route("/stores/<store>/active")
class StoreActive(MethodView):
    @blp.arguments(wire.StoreStateIn, unknown=RAISE, example={"active": True})
    @blp.response(200, wire.StoreOut, example={**STORE_EXAMPLE, "groups": [], "pos": []})
    @blp.alt_response(404, description="STORE_NOT_FOUND")
    @blp.alt_response(422, description="STORE_LIMIT_REACHED")
    def post(self, data: dict[str, Any], store: str) -> dict[str, Any]:
        """Activate a store (within the tariff's store limit: one 1C's warehouse brought in
        over it) or deactivate one: its POS are refused."""
        tenant, session = admin_tenant(), db_session()
        found = get_store(session, tenant, store)
        return wire.store_body(set_store_active(session, tenant, found, data["active"]))


@blp.route("/stores/<store>/warehouse")
class StoreWarehouse(MethodView):
    @blp.arguments(
        wire.StoreWarehouseIn, unknown=RAISE,
        example={"warehouse_id": "b6112590-41ba-11dd-ac9d-0015e9b8c48d"},
    )  # fmt: skip
    @blp.response(200, wire.StoreOut, example={**STORE_EXAMPLE, "groups": [], "pos": []})
    @blp.alt_response(404, description="STORE_NOT_FOUND")
    @blp.alt_response(409, description="STORE_EXISTS")
    def post(self, data: dict[str, Any], store: str) -> dict[str, Any]:
        """Link a store to a 1C warehouse (CommerceML Склад Ид): 1C's exchange then updates
        this store instead of creating one."""
        tenant, session = admin_tenant(), db_session()
        found = get_store(session, tenant, store)
        link_warehouse(session, tenant, found, data["warehouse_id"])
        return wire.store_body(found)


@blp.route("/stores/<store>/pos")
class StorePos(MethodView):
    @blp.arguments(wire.PosIn, unknown=RAISE, example={"code": "pos-01"})
    @blp.response(201, wire.IssuedPosOut, example=ISSUED_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="STORE_NOT_FOUND")
    @blp.alt_response(409, description="POS_EXISTS")
    @blp.alt_response(422, description="POS_LIMIT_REACHED")
    def post(self, data: dict[str, Any], store: str) -> dict[str, Any]:
        """Register a POS (within the tariff's POS limit); its token is in this answer only."""
        tenant, session = admin_tenant(), db_session()
        issued = add_pos(session, get_store(session, tenant, store), data["code"])
        return {"store": store, "pos": wire.pos_body(issued.pos), "token": issued.token}


@blp.route("/stores/<store>/pos/<code>/revoke")
class RevokePos(MethodView):
    @blp.response(
        200, wire.PosOut, example={**POS_EXAMPLE, "active": False,
                                   "revoked_at": "2026-11-23T10:15:00+00:00"},
    )  # fmt: skip
    @blp.alt_response(404, description="STORE_NOT_FOUND, POS_NOT_FOUND")
    def post(self, store: str, code: str) -> dict[str, Any]:
        """Revoke the POS's token (a lost or stolen register): refused at once here, on every
        node within 10 s. Revoking again keeps the first time. ``reissue`` brings it back."""
        tenant, session = admin_tenant(), db_session()
        return wire.pos_body(revoke_pos(session, get_store(session, tenant, store), code, _now()))


@blp.route("/stores/<store>/pos/<code>/reissue")
class ReissuePos(MethodView):
    @blp.response(200, wire.IssuedPosOut, example=ISSUED_EXAMPLE)
    @blp.alt_response(404, description="STORE_NOT_FOUND, POS_NOT_FOUND")
    def post(self, store: str, code: str) -> dict[str, Any]:
        """A new token for the POS, in this answer only; the old one stops working as a revoked
        one does. A revoked POS becomes active again."""
        tenant, session = admin_tenant(), db_session()
        issued = reissue_pos_token(session, get_store(session, tenant, store), code)
        return {"store": store, "pos": wire.pos_body(issued.pos), "token": issued.token}


@blp.route("/store-groups")
class StoreGroups(MethodView):
    @blp.response(200, wire.StoreGroupsOut, example={"store_groups": [GROUP_EXAMPLE]})
    def get(self) -> dict[str, Any]:
        """The tenant's store groups with their member stores."""
        tenant = admin_tenant()
        groups = tenant_store_groups(db_session(), tenant)
        return {"store_groups": [wire.store_group_body(group) for group in groups]}

    @blp.arguments(wire.StoreGroupIn, unknown=RAISE, example=GROUP_EXAMPLE)
    @blp.response(201, wire.StoreGroupOut, example=GROUP_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="STORE_NOT_FOUND")
    @blp.alt_response(409, description="CODE_EXISTS")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a store group with its member stores (a program version may name it)."""
        tenant, session = admin_tenant(), db_session()
        stores = [get_store(session, tenant, code) for code in dict.fromkeys(data["stores"])]
        group = add_store_group(session, tenant, data["code"], data["name"], stores)
        return wire.store_group_body(group)
