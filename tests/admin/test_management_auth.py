"""Every management endpoint needs a tenant admin token: none, an unknown one or a POS token is
401 and changes nothing; the OpenAPI document says so."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from connector.api import ADMIN_AUTH
from tests.admin.conftest import call
from tests.connector.onec_http.world import World

ENDPOINTS = [
    ("GET", "settings"),
    ("PATCH", "settings"),
    ("GET", "questionnaire"),
    ("PUT", "questionnaire"),
    ("POST", "questionnaire/fields"),
    ("GET", "tariff"),
    ("GET", "stores"),
    ("POST", "stores"),
    ("POST", "stores/s1/pos"),
    ("POST", "stores/s1/pos/p1/revoke"),
    ("POST", "stores/s1/pos/p1/reissue"),
    ("POST", "stores/s1/active"),
    ("POST", "stores/s1/warehouse"),
    ("GET", "stores/s1/gift-stock"),
    ("POST", "stores/s1/gift-stock/receive"),
    ("POST", "stores/s1/gift-stock/write-off"),
    ("GET", "stores/s1/gift-stock/movements"),
    ("GET", "store-groups"),
    ("POST", "store-groups"),
    ("GET", "programs"),
    ("POST", "programs"),
    ("POST", "programs/bonus/versions"),
    ("POST", "programs/bonus/status"),
    ("GET", "promotion-groups"),
    ("PUT", "promotion-groups"),
    ("POST", "promotions/dry-run"),
    ("GET", "segments"),
    ("POST", "segments"),
    ("POST", "segments/s1/members"),
    ("GET", "segments/s1"),
    ("PATCH", "segments/s1"),
    ("POST", "segments/s1/refresh"),
    ("PUT", "segments/s1/status"),
    ("POST", "segments/s1/status"),
    ("GET", "mass-accruals"),
    ("POST", "mass-accruals"),
    ("GET", "mass-accruals/1"),
    ("POST", "mass-accruals/1/cancel"),
    ("GET", "card-templates"),
    ("POST", "card-templates"),
    ("PUT", "card-templates/main/programs"),
    ("POST", "card-templates/main/cards"),
    ("GET", "coupon-series"),
    ("POST", "coupon-series"),
    ("POST", "coupon-series/spring/close"),
    ("POST", "coupon-series/spring/generate"),
    ("POST", "coupon-series/spring/import"),
    ("POST", "coupon-series/spring/issue"),
    ("GET", "coupons/SP7KX2M9QA"),
    ("POST", "coupons/SP7KX2M9QA/issue"),
    ("POST", "coupons/SP7KX2M9QA/cancel"),
    ("GET", "certificate-series"),
    ("POST", "certificate-series"),
    ("POST", "certificate-series/gift/close"),
    ("POST", "certificate-series/gift/generate"),
    ("POST", "certificate-documents"),
    ("GET", "certificate-documents/D-1"),
    ("GET", "certificates/stock"),
    ("GET", "certificates/2990000000017"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_without_an_admin_token_nothing_is_done(
    client: FlaskClient, world: World, method: str, path: str
) -> None:
    body = None if method == "GET" else {}
    for headers in ({}, {"Authorization": "Bearer unknown"}, world.auth):
        status, answer = call(client, headers, method, path, body)
        assert (status, answer["code"]) == (401, "UNAUTHORIZED"), headers
    # The POS token still works for the POS: the revoke and reissue above did nothing.
    identify = client.post("/api/v1/identify", json={"card_number": world.card}, headers=world.auth)
    assert identify.status_code == 200


def test_the_document_lists_every_management_operation_with_the_admin_token(
    client: FlaskClient,
) -> None:
    spec = client.get("/api/openapi.json").get_json()
    documented = {
        (method.upper(), path.removeprefix("/api/v1/admin/"))
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/admin/") and "/customers/" not in path
        for method, operation in operations.items()
        if method != "parameters"
        and operation["security"] == [{ADMIN_AUTH: []}]
        and "401" in operation["responses"]
    }
    expected = {
        (method, path.replace("s1/pos/p1", "{store}/pos/{code}")
         .replace("stores/s1/", "stores/{store}/")
         .replace("programs/bonus", "programs/{program}")
         .replace("segments/s1", "segments/{segment}")
         .replace("mass-accruals/1", "mass-accruals/{accrual_id}")
         .replace("card-templates/main", "card-templates/{template}")
         .replace("coupon-series/spring", "coupon-series/{series}")
         .replace("coupons/SP7KX2M9QA", "coupons/{code}")
         .replace("certificate-series/gift", "certificate-series/{series}")
         .replace("certificate-documents/D-1", "certificate-documents/{number}")
         .replace("certificates/2990000000017", "certificates/{code}"))
        for method, path in ENDPOINTS
    }  # fmt: skip
    assert documented == expected
