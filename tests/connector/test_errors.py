"""Error bodies: unknown routes, malformed JSON, BOM bodies, validation, money format."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from config import load_settings
from sync.runtime import Runtime
from tests.conftest import build_app


def _error(response: object) -> dict[str, object]:
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == {"code", "message", "details"}
    assert any("а" <= ch <= "я" for ch in body["message"].lower()), "message must be Russian"
    return body  # type: ignore[no-any-return]


def test_unknown_route_is_404_with_code(client: FlaskClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert _error(response)["code"] == "ROUTE_NOT_FOUND"


def test_wrong_method_is_405_with_code(client: FlaskClient) -> None:
    response = client.delete("/test/echo")
    assert response.status_code == 405
    assert _error(response)["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    "body",
    [b'{"name": "x", "amount": 1', b"not json", b"\xff\xfe{}", b'{"amount": NaN, "name": "x"}'],
)
def test_malformed_json_is_400(client: FlaskClient, body: bytes) -> None:
    response = client.post("/test/echo", data=body, content_type="application/json")
    assert response.status_code == 400
    assert _error(response)["code"] == "MALFORMED_JSON"


def test_bom_body_is_accepted(client: FlaskClient) -> None:
    body = "\ufeff" + json.dumps({"name": "Молоко", "amount": 125.5, "quantity": 3})
    response = client.post("/test/echo", data=body.encode("utf-8"), content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["name"] == "Молоко"


def _post_echo(client: FlaskClient, amount: str, quantity: int) -> tuple[str, dict[str, Decimal]]:
    response = client.post("/test/echo", json={"name": "x", "amount": amount, "quantity": quantity})
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    return text, json.loads(text, parse_float=Decimal)


def test_money_goes_out_as_number_with_two_decimals(client: FlaskClient) -> None:
    text, body = _post_echo(client, "100", 3)
    assert '"amount":100.00' in text.replace(" ", "")
    assert '"total":150.00' in text.replace(" ", "")
    assert body["amount"] == Decimal("100.00")


def test_money_rounds_half_up_not_half_even(client: FlaskClient) -> None:
    # total = amount * quantity / 2: 0.05 / 2 = 0.025 is a tie; half-even would give 0.02.
    assert _post_echo(client, "0.05", 1)[1]["total"] == Decimal("0.03")
    assert _post_echo(client, "0.15", 1)[1]["total"] == Decimal("0.08")


def test_validation_error_is_400_with_fields(client: FlaskClient) -> None:
    response = client.post("/test/echo", json={"amount": "12.345", "quantity": 0})
    assert response.status_code == 400
    body = _error(response)
    assert body["code"] == "VALIDATION_ERROR"
    fields = body["details"]["fields"]["json"]  # type: ignore[index]
    assert set(fields) == {"name", "amount", "quantity"}
    assert fields["name"] == ["Обязательное поле."]
    assert "копейки" in fields["amount"][0]


@pytest.mark.parametrize("amount", [True, [], {}, "abc", "Infinity"])
def test_money_rejects_non_numbers(client: FlaskClient, amount: object) -> None:
    response = client.post("/test/echo", json={"name": "x", "amount": amount})
    assert response.status_code == 400
    assert _error(response)["code"] == "VALIDATION_ERROR"


def test_body_that_is_not_an_object_is_400(client: FlaskClient) -> None:
    response = client.post("/test/echo", json=[1, 2])
    assert response.status_code == 400
    assert _error(response)["code"] == "VALIDATION_ERROR"


def test_unexpected_exception_is_500_with_code(client: FlaskClient) -> None:
    response = client.get("/test/boom")
    assert response.status_code == 500
    assert _error(response)["code"] == "INTERNAL_ERROR"
    assert response.headers["X-Request-ID"]


def test_oversize_body_is_413(database_url: str, engine: object, tmp_path: object) -> None:
    settings = load_settings({"DATABASE_URL": database_url, "MAX_BODY_BYTES": "1000"})
    client = build_app(Runtime(settings, engine=engine)).test_client()  # type: ignore[arg-type]
    response = client.post("/test/echo", json={"name": "x" * 2000, "amount": 1})
    assert response.status_code == 413
    assert _error(response)["code"] == "PAYLOAD_TOO_LARGE"


def test_client_request_id_is_echoed_and_bad_ones_replaced(client: FlaskClient) -> None:
    assert (
        client.get("/api/v1/health", headers={"X-Request-ID": "pos-7.42"}).headers["X-Request-ID"]
        == "pos-7.42"
    )
    replaced = client.get("/api/v1/health", headers={"X-Request-ID": "a b;c"})
    assert replaced.headers["X-Request-ID"] != "a b;c"
