"""The OpenAPI document says what the service does: our error body on every error response,
and the token each operation needs (checked against the answers without one)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

ERROR_FIELDS = {"code", "message", "details"}
POS = [{"posToken": []}]
ADMIN = [{"tenantAdminToken": []}]
ADMIN_PATHS = ("/api/v1/sync-log", "/api/v1/pd-access-log", "/api/v1/admin/", "/api/v1/catalog/")
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/api/openapi.json").get_json()
    return document


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        if path.startswith("/api/v1/"):
            for method, operation in item.items():
                if method in METHODS:
                    yield path, method, operation


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = spec["components"][section][name]
    return node


def test_every_error_response_is_our_error_body(spec: dict[str, Any]) -> None:
    checked = 0
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if not (status == "default" or status[0] in "45"):
                continue
            content = _resolve(spec, response).get("content", {})
            assert "application/json" in content, (method, path, status)
            schema = _resolve(spec, content["application/json"]["schema"])
            assert set(schema["properties"]) == ERROR_FIELDS, (method, path, status)
            assert set(schema["required"]) == ERROR_FIELDS
            assert schema["properties"]["code"]["type"] == "string"
            checked += 1
    assert checked > 50
    # flask-smorest's own error schema ({"code": int, "status", "errors"}) is gone.
    for schema in spec["components"]["schemas"].values():
        assert not {"code", "status", "errors"} <= set(schema.get("properties", {}))


def test_validation_errors_are_documented_as_400(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        if "requestBody" in operation or any(
            p.get("in") == "query" for p in operation.get("parameters", [])
        ):
            assert "400" in operation["responses"], (method, path)


def test_unavailability_is_documented_with_retry_after(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        response = _resolve(spec, operation["responses"]["503"])
        if path != "/api/v1/health":
            assert "Retry-After" in response["headers"], (method, path)


def test_the_security_schemes_are_bearer_tokens(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert set(schemes) == {"posToken", "tenantAdminToken"}
    for scheme in schemes.values():
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "security" not in spec  # declared per operation


def _expected_security(path: str) -> list[dict[str, list[str]]]:
    if path == "/api/v1/health":
        return []
    return ADMIN if path.startswith(ADMIN_PATHS) else POS


def test_every_operation_names_the_token_it_needs(spec: dict[str, Any]) -> None:
    seen = set()
    for path, method, operation in _operations(spec):
        assert operation["security"] == _expected_security(path), (method, path)
        if operation["security"]:
            assert "401" in operation["responses"], (method, path)
        seen.update(name for requirement in operation["security"] for name in requirement)
        seen.add("none" if not operation["security"] else "token")
    assert seen == {"none", "token", "posToken", "tenantAdminToken"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_documented_security_is_what_the_service_asks(
    client: FlaskClient, spec: dict[str, Any]
) -> None:
    realms = {"posToken": "loyalty-connector", "tenantAdminToken": "loyalty-connector-admin"}
    for path, method, operation in _operations(spec):
        response = client.open(_concrete(path), method=method.upper(), json={})
        if not operation["security"]:
            assert response.status_code == 200, (method, path)
            continue
        assert response.status_code == 401, (method, path, response.get_json())
        [scheme] = operation["security"][0]
        assert response.headers["WWW-Authenticate"] == f'Bearer realm="{realms[scheme]}"'


def test_path_ids_are_bounded_like_the_id_columns(spec: dict[str, Any]) -> None:
    item = spec["paths"]["/api/v1/customers/{customer_id}"]
    [parameter] = [p for p in item["parameters"] if p["name"] == "customer_id"]
    assert parameter["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
