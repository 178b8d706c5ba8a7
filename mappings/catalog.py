"""The JSON wire format of catalog uploads from 1C (``PUT /api/v1/catalog/...`` and the CLI's
``catalog import``): a body ``{"items": [...]}`` of goods groups, brands or goods, and the
report of what the upload did.

The schemas check types and storage lengths and show the domain's lists (VAT rates) in the
OpenAPI document; identities, references, cycles and the batch limit are the domain's
(``processing.catalog.service``). Unknown fields are refused: a mistyped field name would
otherwise clear the field (an item is the whole record). A batch over the limit is refused
before its items are read.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, fields, pre_load, validate

from mappings.fields import JsonBoolean, ReceiptSum, Schema, StockQuantity
from processing.catalog.models import (
    ARTICLE_LENGTH,
    BARCODE_LENGTH,
    EXTERNAL_ID_LENGTH,
    NAME_LENGTH,
    UNIT_LENGTH,
)
from processing.catalog.service import (
    ATTRIBUTE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_BARCODES,
    MAX_BATCH,
    MAX_PRICE_CATEGORIES,
    VAT_RATES,
    UpsertReport,
    check_batch_size,
)

_EXTERNAL_ID = validate.Length(min=1, max=EXTERNAL_ID_LENGTH)
_NAME = validate.Length(min=1, max=NAME_LENGTH)


class CatalogIn(Schema):
    """Base of catalog requests: an unknown field is refused, not ignored."""

    class Meta:
        unknown = RAISE


def _guid(description: str, **kwargs: Any) -> fields.String:
    return fields.String(validate=_EXTERNAL_ID, metadata={"description": description}, **kwargs)


def _optional(length: int, description: str) -> fields.String:
    return fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=length),
        metadata={"description": description},
    )


def _deleted() -> JsonBoolean:
    return JsonBoolean(
        load_default=False,
        metadata={"description": "1C's deletion mark: kept, marked; false revives it"},
    )


def _attributes(description: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=_EXTERNAL_ID),
        values=fields.String(validate=validate.Length(max=ATTRIBUTE_LENGTH)),
        load_default=dict,
        validate=validate.Length(max=MAX_ATTRIBUTES),
        metadata={"description": description},
    )


class GroupItem(CatalogIn):
    external_id = _guid("the group's 1C GUID", required=True)
    name = fields.String(required=True, validate=_NAME)
    parent = _guid(
        "the parent group's GUID (stored, or anywhere in this batch); null: a top group",
        load_default=None,
        allow_none=True,
    )
    deleted = _deleted()


class BrandItem(CatalogIn):
    external_id = _guid("the brand's 1C GUID", required=True)
    name = fields.String(required=True, validate=_NAME)
    deleted = _deleted()


class GoodsItem(CatalogIn):
    external_id = _guid(
        "the goods' 1C GUID, or GUID#characteristicGUID for one characteristic", required=True
    )
    name = fields.String(required=True, validate=_NAME)
    article = _optional(ARTICLE_LENGTH, "артикул")
    unit = _optional(UNIT_LENGTH, "unit of measure, e.g. шт, кг")
    group = _guid("the GUID of a stored goods group", load_default=None, allow_none=True)
    brand = _guid("the GUID of a stored brand", load_default=None, allow_none=True)
    supplier = _optional(EXTERNAL_ID_LENGTH, "the supplier's 1C id")
    supplier_name = _optional(NAME_LENGTH, "the supplier's name")
    vat_rate = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(VAT_RATES))
    no_discount = JsonBoolean(
        load_default=False, metadata={"description": "no discount on this goods"}
    )
    no_bonus_payment = JsonBoolean(
        load_default=False, metadata={"description": "may not be paid with bonus"}
    )
    price_categories = fields.Dict(
        keys=fields.String(validate=_EXTERNAL_ID),
        values=ReceiptSum(),
        load_default=dict,
        validate=validate.Length(max=MAX_PRICE_CATEGORIES),
        metadata={"description": "1C price type → price in rubles (at most two decimals)"},
    )
    properties = _attributes("property (1C Ид) → value text")
    requisites = _attributes("1C requisite name (ВидНоменклатуры, ...) → value")
    stock = StockQuantity(
        load_default=None, allow_none=True,
        metadata={"description": "stock in all warehouses (3 decimals at most)"},
    )  # fmt: skip
    barcodes = fields.List(
        fields.String(validate=validate.Length(min=1, max=BARCODE_LENGTH)),
        load_default=list,
        validate=validate.Length(max=MAX_BARCODES),
        metadata={"description": "all the goods' barcodes; one listed on other goods moves"},
    )
    deleted = _deleted()


class _Batch(CatalogIn):
    @pre_load
    def _refuse_a_large_batch(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            check_batch_size(len(data["items"]))
        return data


def _items(item: type[CatalogIn]) -> fields.List[dict[str, Any]]:
    return fields.List(
        fields.Nested(item),
        required=True,
        validate=validate.Length(max=MAX_BATCH),
        metadata={"description": f"at most {MAX_BATCH} items"},
    )


class GroupsIn(_Batch):
    items = _items(GroupItem)


class BrandsIn(_Batch):
    items = _items(BrandItem)


class GoodsIn(_Batch):
    items = _items(GoodsItem)


class ReportOut(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    deleted = fields.Integer(
        required=True, metadata={"description": "items that marked a record deleted"}
    )


def report_body(report: UpsertReport) -> dict[str, int]:
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "deleted": report.deleted,
    }
