"""CommerceML records (``mappings.commerceml``) as the items of the catalog's domain calls.

The catalog's upserts take plain dicts with English names; here 1C's Ид become external ids (a
trailing ``#`` with no characteristic names the goods itself), a reference property's value Ид
becomes its text, the НДС rate becomes one of the catalog's rates. Goods are written with
``merge``: a catalog file carries no prices or stock, an offers file no groups or properties, so
each item holds only the fields its file is the source of.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mappings.commerceml import Goods, Offer
from processing.catalog.ids import parse_guid
from processing.catalog.models import UNIT_LENGTH
from processing.catalog.service import VAT_RATES

_NO_VAT = ("без ндс", "без налога", "нет", "none")


def goods_id(raw: str) -> str:
    """1C's goods Ид as stored: ``GUID`` or ``GUID#characteristic`` (``GUID#`` is the goods)."""
    head, _, characteristic = raw.strip().partition("#")
    return f"{head}#{characteristic}" if characteristic.strip() else head


def parent_id(external_id: str) -> str:
    """The goods a characteristic belongs to (the goods itself for a plain id)."""
    return external_id.partition("#")[0]


def vat_rate(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip().lower().rstrip("%").strip()
    if text in _NO_VAT:
        return "none"
    return text if text in VAT_RATES else None


def goods_item(
    record: Goods, values: Mapping[str, Mapping[str, str]], units: Mapping[str, str]
) -> dict[str, Any]:
    """The catalog item of a Товар: every field a catalog file is the source of, so a field 1C
    cleared is cleared here too."""
    properties = {
        key: values.get(key, {}).get(value, value) for key, value in record.properties.items()
    }
    requisites = dict(record.requisites)
    if record.manufacturer:
        requisites.setdefault("Изготовитель", record.manufacturer)
    return {
        "external_id": goods_id(record.external_id),
        "name": record.name or record.article or goods_id(record.external_id),
        "article": record.article,
        "unit": (record.unit or units.get(record.unit_code or "") or "")[:UNIT_LENGTH] or None,
        "group": record.groups[0] if record.groups else None,
        "brand": maker_brand(record),
        "barcodes": list(record.barcodes),
        "vat_rate": vat_rate(record.vat_rate),
        "properties": properties,
        "requisites": requisites,
        "deleted": record.deleted,
    }


def offer_item(record: Offer) -> dict[str, Any]:
    """The catalog item of a Предложение: its prices, total stock and stock per warehouse; a
    characteristic's offer also names it (it has no Товар of its own) and carries its barcodes."""
    external_id = goods_id(record.external_id)
    item: dict[str, Any] = {"external_id": external_id}
    if record.prices:
        item["price_categories"] = dict(record.prices)
    total = offer_stock(record)
    if total is not None:
        item["stock"] = total
    if record.stock:
        item["warehouse_stock"] = dict(record.stock)
    if "#" in external_id:
        if record.name:
            item["name"] = record.name
        if record.barcodes:
            item["barcodes"] = list(record.barcodes)
    if record.deleted:
        item["deleted"] = True
    return item


def offer_stock(record: Offer) -> Decimal | None:
    """The offer's stock in all warehouses: its own Количество, else the warehouses' sum."""
    if record.quantity is not None:
        return record.quantity
    if record.stock:
        return sum(record.stock.values(), Decimal(0))
    return None


def maker_brand(record: Goods) -> str | None:
    """The brand a Товар's Изготовитель is, when 1C names it by a GUID (the catalog keys brands
    by 1C GUIDs; a maker without one stays in the requisites only)."""
    return parse_guid(record.manufacturer_id) if record.manufacturer_id else None


def brand_item(record: Goods) -> dict[str, Any] | None:
    """The brand item of a Товар's Изготовитель, or None."""
    brand = maker_brand(record)
    if brand is None:
        return None
    return {"external_id": brand, "name": record.manufacturer or brand}
