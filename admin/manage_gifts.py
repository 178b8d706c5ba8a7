"""``/api/v1/admin/stores/<store>/gift-stock``: a store's gift stock — deliveries, write-offs,
the units left per goods item and the movements (issued and returned ones by receipt), with a
tenant admin token. The rules are the domain's (``processing/gifts``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import request
from flask.views import MethodView
from marshmallow import RAISE

from admin.auth import admin_caller, admin_tenant
from admin.manage_api import management_blueprint
from connector.db import db_session
from mappings import gifts as wire
from processing.gifts.stock import receive, store_movements, store_stock, write_off
from processing.tenants.models import Store
from processing.tenants.service import get_store

blp = management_blueprint(
    "admin_gifts", __name__, "Management: a store's gift stock (deliveries, write-offs, movements)"
)

AUTHOR_LENGTH = 100  # gift_movements.author
STOCK_EXAMPLE = {"store": "s1", "stock": [{"goods": "teddy-bear", "quantity": 48}]}
MOVEMENTS_EXAMPLE = {
    "store": "s1",
    "movements": [
        {"id": 2, "goods": "teddy-bear", "kind": "issued", "kind_title": "Выдан по чеку",
         "quantity": -1, "balance_after": 49, "transaction_id": "0b8e6a54-…", "line": 2,
         "customer_id": 42, "promotion": "bear", "document": None, "reason": None,
         "author": "receipt", "created_at": "2027-03-01T10:15:00+00:00"},
        {"id": 1, "goods": "teddy-bear", "kind": "received", "kind_title": "Поступление",
         "quantity": 50, "balance_after": 50, "transaction_id": None, "line": None,
         "customer_id": None, "promotion": None, "document": "ПН-0042", "reason": None,
         "author": "admin-token:Иванова", "created_at": "2027-03-01T09:00:00+00:00"},
    ],
}  # fmt: skip
RECEIVE_EXAMPLE = {"goods": "teddy-bear", "quantity": 50, "document": "ПН-0042"}


def _now() -> datetime:
    return datetime.now(UTC)


def _stock(store: Store) -> dict[str, Any]:
    stock = store_stock(db_session(), store)
    return {"store": store.code, "stock": [wire.stock_body(r) for r in stock]}


@blp.route("/stores/<store>/gift-stock")
class GiftStockView(MethodView):
    @blp.response(200, wire.GiftStockListOut, example=STOCK_EXAMPLE)
    @blp.alt_response(404, description="STORE_NOT_FOUND")
    def get(self, store: str) -> dict[str, Any]:
        """Units left of each gift goods item the store counts."""
        return _stock(get_store(db_session(), admin_tenant(), store))


@blp.route("/stores/<store>/gift-stock/receive")
class ReceiveGifts(MethodView):
    @blp.arguments(wire.ReceiveGiftsIn, unknown=RAISE, example=RECEIVE_EXAMPLE)
    @blp.response(200, wire.GiftStockListOut)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="STORE_NOT_FOUND")
    def post(self, data: dict[str, Any], store: str) -> dict[str, Any]:
        """Gifts brought to the store. The first delivery of a goods item starts counting it:
        from then on the promotions give its gifts only as far as the stock goes."""
        caller, session = admin_caller(), db_session()
        found = get_store(session, caller.tenant, store)
        receive(session, found, data["goods"], data["quantity"], document=data["document"],
                author=caller.actor[:AUTHOR_LENGTH], now=_now())  # fmt: skip
        return _stock(found)


@blp.route("/stores/<store>/gift-stock/write-off")
class WriteOffGifts(MethodView):
    @blp.arguments(wire.WriteOffGiftsIn, unknown=RAISE,
                   example={"goods": "teddy-bear", "quantity": 2, "reason": "Брак"})  # fmt: skip
    @blp.response(200, wire.GiftStockListOut)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="STORE_NOT_FOUND")
    @blp.alt_response(422, description="GIFT_STOCK_SHORT")
    def post(self, data: dict[str, Any], store: str) -> dict[str, Any]:
        """Gifts written off (damaged, lost, a stocktaking shortfall), at most what is left."""
        caller, session = admin_caller(), db_session()
        found = get_store(session, caller.tenant, store)
        write_off(session, found, data["goods"], data["quantity"], reason=data["reason"],
                  author=caller.actor[:AUTHOR_LENGTH], now=_now())  # fmt: skip
        return _stock(found)


@blp.route("/stores/<store>/gift-stock/movements")
class GiftMovements(MethodView):
    @blp.response(200, wire.GiftMovementsOut, example=MOVEMENTS_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="STORE_NOT_FOUND")
    def get(self, store: str) -> dict[str, Any]:
        """The latest 500 movements (``?goods=`` one item's), newest first: deliveries,
        write-offs, and the gifts issued and returned by receipt, customer and promotion."""
        session = db_session()
        found = get_store(session, admin_tenant(), store)
        rows = store_movements(session, found, request.args.get("goods"))
        return {
            "store": found.code,
            "movements": [wire.movement_body(movement) for movement in rows],
        }
