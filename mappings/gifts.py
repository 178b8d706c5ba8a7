"""The JSON wire format of a store's gift stock (``/api/v1/admin/stores/<store>/gift-stock``).
Request schemas check types and lengths; the rules are the domain's (``processing/gifts``)."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from mappings.admin import AdminIn
from mappings.fields import BoundedInteger, Schema
from processing.catalog.models import EXTERNAL_ID_LENGTH
from processing.gifts.models import KIND_TITLES, GiftMovement, GiftStock, MovementKind

GOODS = validate.Length(min=1, max=EXTERNAL_ID_LENGTH)


class ReceiveGiftsIn(AdminIn):
    goods = fields.String(
        required=True, validate=GOODS, metadata={"description": "the gift goods' 1C id or code"}
    )
    quantity = BoundedInteger(strict=True, required=True, metadata={"description": "units"})
    document = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=64),
        metadata={"description": "a delivery note's number"},
    )  # fmt: skip


class WriteOffGiftsIn(AdminIn):
    goods = fields.String(required=True, validate=GOODS)
    quantity = BoundedInteger(strict=True, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class GiftStockOut(Schema):
    goods = fields.String()
    quantity = fields.Integer()


class GiftStockListOut(Schema):
    store = fields.String()
    stock = fields.List(fields.Nested(GiftStockOut))


class GiftMovementOut(Schema):
    id = fields.Integer()
    goods = fields.String()
    kind = fields.String(metadata={"description": "received, issued, returned, written_off"})
    kind_title = fields.String()
    quantity = fields.Integer(metadata={"description": "signed: + in, − out"})
    balance_after = fields.Integer()
    transaction_id = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    promotion = fields.String(allow_none=True)
    document = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    author = fields.String()
    created_at = fields.DateTime()


class GiftMovementsOut(Schema):
    store = fields.String()
    movements = fields.List(fields.Nested(GiftMovementOut))


def stock_body(row: GiftStock) -> dict[str, Any]:
    return {"goods": row.goods_id, "quantity": row.quantity}


def movement_body(movement: GiftMovement) -> dict[str, Any]:
    return {
        "id": movement.id,
        "goods": movement.goods_id,
        "kind": movement.kind,
        "kind_title": KIND_TITLES[MovementKind(movement.kind)],
        "quantity": movement.quantity,
        "balance_after": movement.balance_after,
        "transaction_id": movement.transaction_id,
        "line": movement.line_no,
        "customer_id": movement.customer_id,
        "promotion": movement.promotion,
        "document": movement.document,
        "reason": movement.reason,
        "author": movement.author,
        "created_at": movement.created_at,
    }
