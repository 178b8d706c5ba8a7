"""Catalog uploads from 1C over HTTP (``PUT /api/v1/catalog/...``) with the tenant's admin
token: reports, idempotency, each refusal code, and isolation between tenants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.catalog.models import Goods, GoodsBarcode, GoodsGroup
from processing.catalog.service import MAX_BATCH, VAT_RATES
from tests.admin.conftest import admin_headers
from tests.connector.onec_http.world import World

ROOT = "5f2a8c1e-0b7d-11ef-9a3c-00155d012a01"
CHEESE = "5f2a8c1e-0b7d-11ef-9a3c-00155d012a02"
BRAND = "7c41d2b0-0b7d-11ef-9a3c-00155d012a10"
GOODS = "9e8f7a6b-0b7d-11ef-9a3c-00155d012b01"
SIZE = "a1b2c3d4-0b7d-11ef-9a3c-00155d012c01"
UNKNOWN = "ffffffff-0b7d-11ef-9a3c-00155d012a99"

GROUPS = [
    {"external_id": CHEESE, "name": "Сыры", "parent": ROOT},
    {"external_id": ROOT, "name": "Молочная продукция"},
]
GOODS_ITEMS = [
    {"external_id": GOODS, "name": "Сыр Российский 45%", "article": "СР-45", "unit": "кг",
     "group": CHEESE, "brand": BRAND, "supplier": "0c6e2f4a-0b7d-11ef-9a3c-00155d012d01",
     "supplier_name": "ООО «Молоко»", "vat_rate": "10", "no_bonus_payment": True,
     "price_categories": {"Розничная": 899.90}, "barcodes": ["4607001234567"]},
    {"external_id": f"{GOODS}#{SIZE}", "name": "Сыр Российский, 300 г", "unit": "шт",
     "group": CHEESE, "barcodes": ["4607001234574"], "price_categories": {"Розничная": "279"}},
]  # fmt: skip


@pytest.fixture
def admin(session: Session, world: World) -> dict[str, str]:
    return admin_headers(session, world, "Обмен с 1С")


def put(client: FlaskClient, headers: dict[str, str], kind: str, body: Any) -> tuple[int, Any]:
    response = client.put(f"/api/v1/catalog/{kind}", json=body, headers=headers)
    return response.status_code, response.get_json()


def upload_all(client: FlaskClient, headers: dict[str, str]) -> list[tuple[int, Any]]:
    return [
        put(client, headers, "groups", {"items": GROUPS}),
        put(client, headers, "brands", {"items": [{"external_id": BRAND, "name": "Молочный"}]}),
        put(client, headers, "goods", {"items": GOODS_ITEMS}),
    ]


def count(session: Session, model: type[Any], tenant_id: int | None = None) -> int:
    query = select(func.count()).select_from(model)
    if tenant_id is not None:
        query = query.where(model.tenant_id == tenant_id)
    return session.scalar(query) or 0


def test_an_upload_reports_what_it_did_and_again_changes_nothing(
    client: FlaskClient, admin: dict[str, str], session: Session, world: World
) -> None:
    first = upload_all(client, admin)
    assert first == [
        (200, {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0}),
        (200, {"created": 1, "updated": 0, "unchanged": 0, "deleted": 0}),
        (200, {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0}),
    ]
    again = upload_all(client, admin)
    assert [answer for _, answer in again] == [
        {"created": 0, "updated": 0, "unchanged": n, "deleted": 0} for n in (2, 1, 2)
    ]
    stored = session.scalars(select(Goods).where(Goods.external_id == GOODS)).one()
    assert stored.tenant_id == world.tenant_id
    assert stored.price_categories == {"Розничная": "899.90"}
    assert stored.no_bonus_payment and stored.vat_rate == "10"
    deleted = [{**GOODS_ITEMS[1], "deleted": True}]
    status, answer = put(client, admin, "goods", {"items": deleted})
    assert (status, answer["deleted"]) == (200, 1)


def test_a_body_with_a_utf8_bom_is_accepted(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    body = "\ufeff" + json.dumps({"items": [{"external_id": ROOT, "name": "Хлеб"}]})
    response = client.put(
        "/api/v1/catalog/groups",
        data=body.encode("utf-8"),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.get_json()
    assert count(session, GoodsGroup) == 1


@pytest.mark.parametrize("kind", ["groups", "brands", "goods"])
def test_without_an_admin_token_nothing_is_written(
    client: FlaskClient, world: World, session: Session, kind: str
) -> None:
    body = {"items": GROUPS if kind == "groups" else []}
    for headers in ({}, {"Authorization": "Bearer unknown"}, world.auth):  # world.auth: POS token
        response = client.put(f"/api/v1/catalog/{kind}", json=body, headers=headers)
        assert (response.status_code, response.get_json()["code"]) == (401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="loyalty-connector-admin"'
    # The token is checked before the body: a malformed body is still 401.
    response = client.put(f"/api/v1/catalog/{kind}", data=b"{", headers=world.auth)
    assert response.status_code == 401
    assert count(session, GoodsGroup) == 0


def test_another_tenants_token_uploads_to_that_tenant_only(
    client: FlaskClient, admin: dict[str, str], session: Session, world: World, other: World
) -> None:
    upload_all(client, admin)
    theirs = admin_headers(session, other)
    # Their catalog has no groups yet: the same goods are refused for them.
    status, answer = put(client, theirs, "goods", {"items": GOODS_ITEMS})
    assert (status, answer["code"]) == (400, "CATALOG_UNKNOWN_GROUP")
    assert put(client, theirs, "groups", {"items": GROUPS})[1]["created"] == 2
    assert count(session, GoodsGroup, world.tenant_id) == count(
        session, GoodsGroup, other.tenant_id
    )
    # The same barcodes in another tenant's catalog move nothing here.
    items = [{k: v for k, v in item.items() if k != "brand"} for item in GOODS_ITEMS]
    assert put(client, theirs, "goods", {"items": items})[1]["created"] == 2
    assert count(session, GoodsBarcode, world.tenant_id) == 2
    assert count(session, GoodsBarcode, other.tenant_id) == 2


@pytest.mark.parametrize(
    ("kind", "items", "code", "index"),
    [
        ("groups", [GROUPS[1], {"external_id": "12345", "name": "Сыры"}],
         "CATALOG_INVALID_ITEM", 1),
        ("groups", [{"external_id": ROOT, "name": "Корень", "parent": ROOT}],
         "CATALOG_GROUP_CYCLE", 0),
        ("groups", [GROUPS[0]], "CATALOG_UNKNOWN_GROUP", 0),
        ("goods", GOODS_ITEMS, "CATALOG_UNKNOWN_GROUP", 0),
        ("goods", [{**GOODS_ITEMS[0], "group": None}], "CATALOG_UNKNOWN_BRAND", 0),
        ("brands", [{"external_id": BRAND, "name": "А"}, {"external_id": BRAND, "name": "Б"}],
         "CATALOG_INVALID_ITEM", 1),
    ],
)  # fmt: skip
def test_a_refused_batch_names_the_item_and_writes_nothing(
    client: FlaskClient,
    admin: dict[str, str],
    session: Session,
    kind: str,
    items: list[dict[str, Any]],
    code: str,
    index: int,
) -> None:
    status, answer = put(client, admin, kind, {"items": items})
    assert (status, answer["code"]) == (400, code), answer
    assert answer["details"]["index"] == index
    assert answer["message"].startswith(f"Элемент items[{index}]")
    assert count(session, GoodsGroup) == count(session, Goods) == 0


def test_a_batch_over_the_limit_is_refused_before_its_items_are_read(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    status, answer = put(client, admin, "goods", {"items": [{}] * (MAX_BATCH + 1)})
    assert (status, answer["code"]) == (400, "CATALOG_BATCH_TOO_LARGE")
    assert answer["details"] == {"limit": MAX_BATCH, "count": MAX_BATCH + 1}


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"colour": "red"}, "colour", "Неизвестное поле."),
        ({"price_categories": {"Розничная": 10.005}}, "price_categories", None),
        ({"vat_rate": "18"}, "vat_rate", None),
        ({"barcodes": [""]}, "barcodes", None),
        ({"name": None}, "name", "Поле не может быть null."),
    ],
)
def test_malformed_fields_are_validation_errors_in_russian(
    client: FlaskClient,
    admin: dict[str, str],
    item: dict[str, Any],
    field: str,
    message: str | None,
) -> None:
    body = {"items": [{"external_id": GOODS, "name": "Сыр", **item}]}
    status, answer = put(client, admin, "goods", body)
    assert (status, answer["code"]) == (400, "VALIDATION_ERROR")
    named = answer["details"]["fields"]["json"]["items"]["0"]
    assert field in named
    if message:
        assert named[field] == [message]
    status, answer = put(client, admin, "goods", {})
    assert answer["details"]["fields"]["json"] == {"items": ["Обязательное поле."]}
    status, answer = put(client, admin, "goods", {"items": [], "source": "1c"})
    assert answer["details"]["fields"]["json"] == {"source": ["Неизвестное поле."]}


def test_the_document_lists_the_uploads_with_the_admin_token(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    for kind in ("groups", "brands", "goods"):
        operation = spec["paths"][f"/api/v1/catalog/{kind}"]["put"]
        assert operation["security"] == [{"tenantAdminToken": []}]
        assert {"200", "400", "401"} <= set(operation["responses"])
    goods = spec["components"]["schemas"]["GoodsItem"]["properties"]
    assert goods["vat_rate"]["enum"] == [*VAT_RATES, None]


def test_properties_requisites_and_stock_are_part_of_the_record(
    client: FlaskClient, admin: dict[str, str], session: Session, world: World
) -> None:
    upload_all(client, admin)
    maker = "bb14a4b8-6b17-11e0-9819-e0cb4ed5eed4"
    item = {
        **GOODS_ITEMS[0], "properties": {maker: "Обувной комбинат"},
        "requisites": {"ВидНоменклатуры": "Сыры"}, "stock": "-2.5",
    }  # fmt: skip
    assert put(client, admin, "goods", {"items": [item]})[0] == 200
    session.expire_all()
    row = session.scalars(select(Goods).where(Goods.external_id == GOODS)).one()
    assert (row.properties, row.requisites) == (item["properties"], item["requisites"])
    assert str(row.stock) == "-2.500"
    for stock in ("1.2345", "1e15", True):
        status, body = put(client, admin, "goods", {"items": [{**item, "stock": stock}]})
        assert (status, body["code"]) == (400, "VALIDATION_ERROR"), stock
    assert put(client, admin, "goods", {"items": [GOODS_ITEMS[0]]})[0] == 200  # the whole record
    session.expire_all()
    row = session.scalars(select(Goods).where(Goods.external_id == GOODS)).one()
    assert (row.properties, row.requisites, row.stock) == ({}, {}, None)
