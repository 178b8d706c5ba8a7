"""Catalog uploads from 1C: ``PUT /api/v1/catalog/groups``, ``/brands`` and ``/goods``, each a
batch ``{"items": [...]}`` answered with what it did (``docs/catalog.md``).

A 1C integration uploads with the tenant's admin token (not a POS token): it is checked before
the body is read. The rules are the domain's (``processing.catalog.service``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from flask import g, request
from flask.views import MethodView
from marshmallow import RAISE

from connector.api import ADMIN_AUTH, Blueprint, TokenRequired
from connector.db import db_session
from mappings import catalog as wire
from processing.catalog.service import UpsertReport, upsert_brands, upsert_goods, upsert_groups
from processing.tenants.models import Tenant
from processing.tenants.service import admin_token_owner

blp = Blueprint(
    "catalog",
    __name__,
    url_prefix="/api/v1/catalog",
    description="Goods catalog uploads from 1C: goods groups, brands, goods with barcodes",
    security=[{ADMIN_AUTH: []}],
)

GROUP_ID = "5f2a8c1e-0b7d-11ef-9a3c-00155d012a01"
SUBGROUP_ID = "5f2a8c1e-0b7d-11ef-9a3c-00155d012a02"
BRAND_ID = "7c41d2b0-0b7d-11ef-9a3c-00155d012a10"
GOODS_ID = "9e8f7a6b-0b7d-11ef-9a3c-00155d012b01"
CHARACTERISTIC_ID = "a1b2c3d4-0b7d-11ef-9a3c-00155d012c01"
REPORT_EXAMPLE = {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0}


def catalog_tenant() -> Tenant:
    """The tenant whose admin token the request carries (cached for the request); 401 without
    a valid one."""
    if "catalog_tenant" in g:
        cached: Tenant = g.catalog_tenant
        return cached
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise TokenRequired(ADMIN_AUTH)
    found = admin_token_owner(db_session(), secret)
    if found is None:
        raise TokenRequired(ADMIN_AUTH, "Токен администратора не найден или отозван.")
    g.catalog_tenant = found[0]
    return found[0]


@blp.before_request
def _authenticate() -> None:
    if request.method != "OPTIONS":
        catalog_tenant()


Upsert = Callable[..., UpsertReport]


def _upload(upsert: Upsert, items: Sequence[dict[str, Any]]) -> dict[str, int]:
    report = upsert(db_session(), catalog_tenant(), items, now=datetime.now(UTC))
    return wire.report_body(report)


@blp.route("/groups")
class Groups(MethodView):
    @blp.arguments(
        wire.GroupsIn,
        unknown=RAISE,
        example={"items": [
            {"external_id": GROUP_ID, "name": "Молочная продукция", "parent": None},
            {"external_id": SUBGROUP_ID, "name": "Сыры", "parent": GROUP_ID},
        ]},
    )  # fmt: skip
    @blp.response(200, wire.ReportOut, example=REPORT_EXAMPLE)
    @blp.alt_response(
        400,
        description="VALIDATION_ERROR, CATALOG_BATCH_TOO_LARGE, CATALOG_INVALID_ITEM, "
        "CATALOG_UNKNOWN_GROUP (a parent neither stored nor in the batch), CATALOG_GROUP_CYCLE",
    )
    def put(self, data: dict[str, Any]) -> dict[str, int]:
        """Store goods groups (a tree: a parent covers its subtree). An item is the whole
        group; the same upload again changes nothing."""
        return _upload(upsert_groups, data["items"])


@blp.route("/brands")
class Brands(MethodView):
    @blp.arguments(
        wire.BrandsIn,
        unknown=RAISE,
        example={"items": [{"external_id": BRAND_ID, "name": "Вкуснотеево"}]},
    )
    @blp.response(200, wire.ReportOut, example={**REPORT_EXAMPLE, "created": 1})
    @blp.alt_response(
        400, description="VALIDATION_ERROR, CATALOG_BATCH_TOO_LARGE, CATALOG_INVALID_ITEM"
    )
    def put(self, data: dict[str, Any]) -> dict[str, int]:
        """Store brands. An item is the whole brand; the same upload again changes nothing."""
        return _upload(upsert_brands, data["items"])


@blp.route("/goods")
class GoodsUpload(MethodView):
    @blp.arguments(
        wire.GoodsIn,
        unknown=RAISE,
        example={"items": [
            {"external_id": GOODS_ID, "name": "Сыр Российский 45%", "article": "СР-45",
             "unit": "кг", "group": SUBGROUP_ID, "brand": BRAND_ID,
             "supplier": "0c6e2f4a-0b7d-11ef-9a3c-00155d012d01",
             "supplier_name": "ООО «Молоко»", "vat_rate": "10",
             "no_discount": False, "no_bonus_payment": False,
             "price_categories": {"Розничная": 899.90}, "barcodes": ["4607001234567"]},
            {"external_id": f"{GOODS_ID}#{CHARACTERISTIC_ID}", "name": "Сыр Российский, 300 г",
             "unit": "шт", "group": SUBGROUP_ID, "barcodes": ["4607001234574"],
             "price_categories": {"Розничная": 279.00}},
        ]},
    )  # fmt: skip
    @blp.response(200, wire.ReportOut, example=REPORT_EXAMPLE)
    @blp.alt_response(
        400,
        description="VALIDATION_ERROR, CATALOG_BATCH_TOO_LARGE, CATALOG_INVALID_ITEM, "
        "CATALOG_UNKNOWN_GROUP, CATALOG_UNKNOWN_BRAND",
    )
    def put(self, data: dict[str, Any]) -> dict[str, int]:
        """Store goods with their barcodes; groups and brands they name must be uploaded
        first. An item is the whole goods item; the same upload again changes nothing."""
        return _upload(upsert_goods, data["items"])
