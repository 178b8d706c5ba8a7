"""Coupon series, their codes and single coupons through the management API."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.coupons.models import Coupon
from tests.admin.conftest import admin_headers, call, fields_of
from tests.connector.onec_http.world import World

SERIES = {
    "code": "spring", "title": "Весна 10%", "code_format": "alnum", "code_length": 10,
    "prefix": "SP", "valid_from": "2026-03-01T00:00:00+03:00",
    "valid_to": "2036-06-01T00:00:00+03:00", "uses_per_coupon": 1, "per_receipt": 1,
    "bound": False, "auto": False,
}  # fmt: skip


def _promotion(client: FlaskClient, admin: dict[str, str]) -> None:
    body = {"kind": "promotion", "code": "spring-10", "name": "Весна"}
    assert call(client, admin, "POST", "programs", body)[0] == 201


def _codes(session: Session) -> list[str]:
    return list(session.scalars(select(Coupon.code).order_by(Coupon.id)))


def test_series_created_listed_and_closed(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    _promotion(client, admin)
    status, created = call(client, admin, "POST", "coupon-series",
                           {**SERIES, "promotion": "spring-10"})  # fmt: skip
    assert status == 201, created
    assert created == {
        **SERIES, "promotion": "spring-10", "valid_from": "2026-02-28T21:00:00+00:00",
        "valid_to": "2036-05-31T21:00:00+00:00", "status": "active",
        "author": created["author"], "created_at": created["created_at"], "coupons": {},
    }  # fmt: skip
    assert "Администратор" in created["author"]
    status, generated = call(client, admin, "POST", "coupon-series/spring/generate", {"count": 50})
    assert (status, generated) == (201, {"series": "spring", "added": 50,
                                          "coupons": {"generated": 50}})  # fmt: skip
    [listed] = call(client, admin, "GET", "coupon-series")[1]["coupon_series"]
    assert (listed["code"], listed["coupons"]) == ("spring", {"generated": 50})
    status, closed = call(client, admin, "POST", "coupon-series/spring/close")
    assert (status, closed["status"]) == (200, "closed")
    status, refused = call(client, admin, "POST", "coupon-series/spring/generate", {"count": 1})
    assert (status, refused["code"]) == (422, "COUPON_SERIES_CLOSED")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({**SERIES, "colour": "red"}, 400, "VALIDATION_ERROR", "colour"),
        ({**SERIES, "code_format": "qr"}, 400, "VALIDATION_ERROR", "code_format"),
        ({**SERIES, "valid_to": "2036-06-01T00:00:00"}, 400, "VALIDATION_ERROR", "valid_to"),
        ({**SERIES, "code_length": 30}, 400, "VALIDATION_ERROR", None),
        ({**SERIES, "auto": True}, 400, "VALIDATION_ERROR", None),
        ({**SERIES, "promotion": "bonus"}, 400, "VALIDATION_ERROR", None),
        ({**SERIES, "promotion": "nope"}, 404, "PROGRAM_NOT_FOUND", None),
    ],
)
def test_series_refusals(
    client: FlaskClient,
    world: World,
    admin: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    answer_status, answer = call(client, admin, "POST", "coupon-series", body)
    assert (answer_status, answer["code"]) == (status, code), answer
    if field is not None:
        assert field in fields_of(answer)


def test_a_series_code_is_unique(client: FlaskClient, world: World, admin: dict[str, str]) -> None:
    assert call(client, admin, "POST", "coupon-series", SERIES)[0] == 201
    status, answer = call(client, admin, "POST", "coupon-series", SERIES)
    assert (status, answer["code"]) == (409, "CODE_EXISTS")


def test_generate_refusals(client: FlaskClient, world: World, admin: dict[str, str]) -> None:
    small = {**SERIES, "code": "small", "code_format": "numeric", "code_length": 4, "prefix": ""}
    assert call(client, admin, "POST", "coupon-series", small)[0] == 201
    for path, body, status, code in [
        ("coupon-series/nope/generate", {"count": 1}, 404, "COUPON_SERIES_NOT_FOUND"),
        ("coupon-series/small/generate", {"count": 1_000_001}, 400, "COUPON_BATCH_TOO_LARGE"),
        ("coupon-series/small/generate", {"count": 1_001}, 422, "COUPON_CODE_SPACE_TOO_SMALL"),
        ("coupon-series/small/generate", {"count": "many"}, 400, "VALIDATION_ERROR"),
    ]:
        answer_status, answer = call(client, admin, "POST", path, body)
        assert (answer_status, answer["code"]) == (status, code), answer
    status, answer = call(client, admin, "POST", "coupon-series/small/generate", {"count": 3})
    assert answer["coupons"] == {"generated": 3}


def test_import_all_or_nothing(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str]
) -> None:
    assert call(client, admin, "POST", "coupon-series", SERIES)[0] == 201
    path = "coupon-series/spring/import"
    status, answer = call(client, admin, "POST", path, {"codes": ["SPABCDEFGH", "sphjkmnpqr"]})
    assert (status, answer) == (201, {"series": "spring", "added": 2, "coupons": {"issued": 2}})
    status, answer = call(client, admin, "POST", path, {"codes": ["SPABCDEFG1", "SPZZZZZZZZ"]})
    assert (status, answer["code"]) == (400, "COUPON_CODE_INVALID")
    assert answer["details"]["codes"] == ["SPABCDEFG1"] and "SPABCDEFG1" in answer["message"]
    status, answer = call(client, admin, "POST", path,
                          {"codes": ["SPZZZZZZZZ", "SPZZZZZZZZ", "SPHJKMNPQR"]})  # fmt: skip
    assert (status, answer["code"]) == (409, "COUPON_CODES_DUPLICATE")
    assert answer["details"] == {"repeated": ["SPZZZZZZZZ"], "existing": ["SPHJKMNPQR"]}
    assert _codes(session) == ["SPABCDEFGH", "SPHJKMNPQR"]


def test_issue_state_and_cancel(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str]
) -> None:
    assert call(client, admin, "POST", "coupon-series", {**SERIES, "bound": True})[0] == 201
    call(client, admin, "POST", "coupon-series/spring/generate", {"count": 2})
    first, second = _codes(session)
    status, state = call(client, admin, "GET", f"coupons/{first.lower()}")
    assert status == 200
    assert (state["status"], state["status_title"], state["usable"]) == (
        "generated", "Создан", False,
    )  # fmt: skip
    assert state["refusal"]["code"] == "COUPON_NOT_ISSUED"
    status, refused = call(client, admin, "POST", f"coupons/{first}/issue", {"via": "admin"})
    assert (status, refused["code"]) == (422, "COUPON_CUSTOMER_REQUIRED")
    status, refused = call(client, admin, "POST", f"coupons/{first}/issue",
                           {"via": "admin", "customer_id": 999999})  # fmt: skip
    assert (status, refused["code"]) == (404, "CUSTOMER_NOT_FOUND")
    status, refused = call(client, admin, "POST", f"coupons/{first}/issue",
                           {"via": "fax", "customer_id": world.customer_id})  # fmt: skip
    assert (status, refused["code"]) == (400, "VALIDATION_ERROR")
    status, issued = call(client, admin, "POST", f"coupons/{first}/issue",
                          {"via": "mailing", "customer_id": world.customer_id})  # fmt: skip
    assert status == 200, issued
    assert (issued["status"], issued["issued_via"], issued["customer_id"], issued["usable"]) == (
        "issued", "mailing", world.customer_id, True,
    )  # fmt: skip
    status, again = call(client, admin, "POST", f"coupons/{first}/issue",
                         {"via": "mailing", "customer_id": world.customer_id})  # fmt: skip
    assert (status, again["code"]) == (422, "COUPON_TRANSITION_REFUSED")
    status, cancelled = call(client, admin, "POST", f"coupons/{second}/cancel",
                             {"reason": "тираж испорчен"})  # fmt: skip
    assert (status, cancelled["status"], cancelled["cancel_reason"]) == (
        200, "cancelled", "тираж испорчен",
    )  # fmt: skip
    assert cancelled["refusal"]["code"] == "COUPON_CANCELLED"
    status, again = call(client, admin, "POST", f"coupons/{second}/cancel", {"reason": "x"})
    assert (status, again["code"]) == (422, "COUPON_TRANSITION_REFUSED")
    status, missing = call(client, admin, "GET", "coupons/NOPE")
    assert (status, missing["code"]) == (404, "COUPON_NOT_FOUND")
    status, missing = call(client, admin, "POST", "coupons/NOPE/cancel", {"reason": "x"})
    assert (status, missing["code"]) == (404, "COUPON_NOT_FOUND")


def test_another_tenants_coupons_are_not_found(
    client: FlaskClient, session: Session, world: World, other: World, admin: dict[str, str]
) -> None:
    assert call(client, admin, "POST", "coupon-series", SERIES)[0] == 201
    call(client, admin, "POST", "coupon-series/spring/generate", {"count": 1})
    [code] = _codes(session)
    theirs = admin_headers(session, other)
    assert call(client, theirs, "GET", f"coupons/{code}")[0] == 404
    assert call(client, theirs, "POST", "coupon-series/spring/generate", {"count": 1})[0] == 404
    assert call(client, {}, "GET", "coupon-series")[0] == 401
