"""Certificate series, generation, movement documents, a certificate's state and the stock
report through the management API."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.certificates.models import Certificate
from tests.admin.conftest import admin_headers, call, fields_of
from tests.connector.onec_http.world import World

SERIES = {
    "code": "gift", "title": "Сертификат 1000 ₽", "kind": "paper", "nominal": 1000.0,
    "valid_days": 365, "goods_id": "b1c2d3e4-0000-11ee-8000-000000000001", "scope": "store",
    "resale": True, "remainder": "burn", "code_format": "ean13", "prefix": "299",
}  # fmt: skip


def _codes(session: Session) -> list[str]:
    return list(session.scalars(select(Certificate.code).order_by(Certificate.code)))


def _generated(
    client: FlaskClient, admin: dict[str, str], session: Session, count: int
) -> list[str]:
    assert call(client, admin, "POST", "certificate-series", SERIES)[0] == 201
    status, added = call(
        client, admin, "POST", "certificate-series/gift/generate", {"count": count}
    )
    assert (status, added) == (201, {"series": "gift", "added": count,
                                     "certificates": {"inactive": count}}), added  # fmt: skip
    return _codes(session)


def test_series_created_listed_generated_and_closed(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:
    status, created = call(client, admin, "POST", "certificate-series", SERIES)
    assert status == 201, created
    assert created == {
        **SERIES, "min_nominal": None, "max_nominal": None, "valid_until": None,
        "code_length": 13, "status": "active", "author": created["author"],
        "created_at": created["created_at"], "certificates": {},
    }  # fmt: skip
    assert "Администратор" in created["author"]
    status, added = call(client, admin, "POST", "certificate-series/gift/generate", {"count": 5})
    assert (status, added["certificates"]) == (201, {"inactive": 5})
    [listed] = call(client, admin, "GET", "certificate-series")[1]["certificate_series"]
    assert (listed["code"], listed["nominal"]) == ("gift", 1000.0)
    assert listed["certificates"] == {"inactive": 5}
    status, closed = call(client, admin, "POST", "certificate-series/gift/close")
    assert (status, closed["status"]) == (200, "closed")
    status, refused = call(client, admin, "POST", "certificate-series/gift/generate", {"count": 1})
    assert (status, refused["code"]) == (422, "CERTIFICATE_SERIES_CLOSED")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({**SERIES, "colour": "red"}, 400, "VALIDATION_ERROR", "colour"),
        ({**SERIES, "kind": "plastic"}, 400, "VALIDATION_ERROR", "kind"),
        ({**SERIES, "nominal": 10.005}, 400, "VALIDATION_ERROR", "nominal"),
        ({**SERIES, "valid_until": "2036-06-01T00:00:00"}, 400, "VALIDATION_ERROR", "valid_until"),
        ({**SERIES, "nominal": None}, 400, "VALIDATION_ERROR", None),
        ({**SERIES, "nominal": 1e15}, 400, "VALIDATION_ERROR", None),  # over 1,000,000 ₽
        ({**SERIES, "valid_until": "2036-06-01T00:00:00+03:00"}, 400, "VALIDATION_ERROR", None),
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
    answer_status, answer = call(client, admin, "POST", "certificate-series", body)
    assert (answer_status, answer["code"]) == (status, code), answer
    if field is not None:
        assert field in fields_of(answer)
    if code == "VALIDATION_ERROR" and field is None:
        assert answer["details"]["field"] in ("nominal", "valid_days")


def test_generation_refusals(client: FlaskClient, world: World, admin: dict[str, str]) -> None:
    status, missing = call(client, admin, "POST", "certificate-series/none/generate", {"count": 1})
    assert (status, missing["code"]) == (404, "CERTIFICATE_SERIES_NOT_FOUND")
    assert call(client, admin, "POST", "certificate-series", SERIES)[0] == 201
    status, large = call(client, admin, "POST", "certificate-series/gift/generate",
                         {"count": 100_001})  # fmt: skip
    assert (status, large["code"]) == (400, "CERTIFICATE_BATCH_TOO_LARGE")
    for count in (2.9, "5"):  # not silently truncated or converted
        status, wrong = call(client, admin, "POST", "certificate-series/gift/generate",
                             {"count": count})  # fmt: skip
        assert (status, wrong["code"]) == (400, "VALIDATION_ERROR")
    small = {**SERIES, "code": "small", "code_format": "numeric", "code_length": 4, "prefix": ""}
    assert call(client, admin, "POST", "certificate-series", small)[0] == 201
    status, space = call(client, admin, "POST", "certificate-series/small/generate",
                         {"count": 1_001})  # fmt: skip
    assert (status, space["code"]) == (422, "CERTIFICATE_CODE_SPACE_TOO_SMALL")


def test_documents_move_certificates_and_answer_again(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:
    codes = _generated(client, admin, session, 3)
    body = {"number": "ВС-1", "kind": "to_store", "store": "s1", "codes": codes}
    status, document = call(client, admin, "POST", "certificate-documents", body)
    assert status == 201, document
    assert document == {
        "number": "ВС-1", "kind": "to_store", "kind_title": "Выдача в магазин",
        "created_at": document["created_at"], "author": document["author"],
        "source": {"store": None, "pos": None}, "target": {"store": "s1", "pos": None},
        "codes": codes, "count": 3, "nominal": 3000.0,
    }  # fmt: skip
    assert call(client, admin, "POST", "certificate-documents", body) == (201, document)
    assert call(client, admin, "GET", "certificate-documents/ВС-1") == (200, document)
    status, conflict = call(client, admin, "POST", "certificate-documents",
                            {**body, "codes": codes[:2]})  # fmt: skip
    assert (status, conflict["code"]) == (409, "CERTIFICATE_DOCUMENT_CONFLICT")
    to_pos = {"number": "ВК-1", "kind": "to_pos", "store": "s1", "pos": "p1", "codes": codes[:1]}
    assert call(client, admin, "POST", "certificate-documents", to_pos)[0] == 201
    withdraw = {"kind": "withdraw", "store": "s1", "codes": codes[2:]}
    status, withdrawn = call(client, admin, "POST", "certificate-documents", withdraw)
    assert (status, withdrawn["target"], withdrawn["source"]) == (
        201, None, {"store": "s1", "pos": None},
    )  # fmt: skip
    status, state = call(client, admin, "GET", f"certificates/{codes[0]}")
    assert status == 200, state
    assert state == {
        "code": codes[0], "series": "gift", "title": "Сертификат 1000 ₽", "kind": "paper",
        "status": "at_pos", "status_title": "На кассе", "nominal": 1000.0, "balance": 1000.0,
        "expires_at": None, "scope": "store", "redeemable_at": None, "usable": False,
        "refusal": None, "location": "pos", "place": {"store": "s1", "pos": "p1"},
        "sold_at": None, "sold_place": {"store": None, "pos": None},
        "documents": ["ВС-1", "ВК-1"],
    }  # fmt: skip
    status, stock = call(client, admin, "GET", "certificates/stock")
    assert (status, stock) == (200, {
        "rows": [
            {"location": "store", "store": "s1", "pos": None, "status": "in_store", "count": 1,
             "nominal": 1000.0, "balance": 1000.0},
            {"location": "pos", "store": "s1", "pos": "p1", "status": "at_pos", "count": 1,
             "nominal": 1000.0, "balance": 1000.0},
            {"location": "withdrawn", "store": None, "pos": None, "status": "withdrawn",
             "count": 1, "nominal": 1000.0, "balance": 1000.0},
        ],
        "count": 3, "nominal": 3000.0, "balance": 3000.0,
    })  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "to_pos", "store": "s1", "pos": "p1"}, 422, "CERTIFICATE_WRONG_STATUS"),
        ({"kind": "to_store", "store": "s9"}, 404, "STORE_NOT_FOUND"),
        ({"kind": "to_pos", "store": "s1", "pos": "p9"}, 404, "POS_NOT_FOUND"),
        ({"kind": "withdraw", "pos": "p1"}, 400, "VALIDATION_ERROR"),
        ({"kind": "to_store"}, 400, "VALIDATION_ERROR"),
        ({"kind": "sell", "store": "s1"}, 400, "VALIDATION_ERROR"),
        ({"kind": "to_store", "store": "s1", "codes": ["0000000000000"]}, 404,
         "CERTIFICATE_NOT_FOUND"),
        # A number is read back in a URL, and a blank one would not answer a retry.
        ({"kind": "to_store", "store": "s1", "number": "A/B"}, 400, "VALIDATION_ERROR"),
        ({"kind": "to_store", "store": "s1", "number": "   "}, 400, "VALIDATION_ERROR"),
    ],
)  # fmt: skip
def test_document_refusals(
    client: FlaskClient,
    world: World,
    admin: dict[str, str],
    session: Session,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    codes = _generated(client, admin, session, 1)
    answer_status, answer = call(client, admin, "POST", "certificate-documents",
                                 {"codes": codes, **body})  # fmt: skip
    assert (answer_status, answer["code"]) == (status, code), answer
    assert _codes(session) == codes


def test_not_at_source_and_unknown_objects(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:
    codes = _generated(client, admin, session, 1)
    call(client, admin, "POST", "certificate-documents",
         {"kind": "to_store", "store": "s1", "codes": codes})  # fmt: skip
    call(client, admin, "POST", "certificate-documents",
         {"kind": "to_pos", "store": "s1", "pos": "p1", "codes": codes})  # fmt: skip
    status, refused = call(client, admin, "POST", "certificate-documents",
                           {"kind": "to_store_from_pos", "store": "s1", "pos": "p2",
                            "codes": codes})  # fmt: skip
    assert (status, refused["code"]) == (422, "CERTIFICATE_NOT_AT_SOURCE")
    for path, code in [
        ("certificates/0000000000000", "CERTIFICATE_NOT_FOUND"),
        ("certificate-documents/none", "CERTIFICATE_DOCUMENT_NOT_FOUND"),
    ]:
        status, answer = call(client, admin, "GET", path)
        assert (status, answer["code"]) == (404, code)


def test_another_tenant_sees_nothing(
    client: FlaskClient, world: World, other: World, admin: dict[str, str], session: Session
) -> None:
    codes = _generated(client, admin, session, 1)
    foreign = admin_headers(session, other)
    status, answer = call(client, foreign, "GET", f"certificates/{codes[0]}")
    assert (status, answer["code"]) == (404, "CERTIFICATE_NOT_FOUND")
    assert call(client, foreign, "GET", "certificates/stock")[1]["rows"] == []
