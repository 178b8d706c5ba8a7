"""The POS certificate calls: the check of a presented certificate (status, remainder, where it
may be redeemed, why not here) and the list of certificates held at the calling POS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.certificates.documents import apply_document
from processing.certificates.models import Certificate
from processing.certificates.series import add_series, generate_certificates
from processing.tenants.models import Tenant
from processing.tenants.service import add_pos, add_store, get_pos, get_store
from tests.connector.onec_http.world import World

NOW = datetime.now(UTC)
OTHER_STORE_TOKEN = {"Authorization": "Bearer token-q1"}
P2 = {"Authorization": "Bearer token-acme-2"}


def _at_p1(session: Session, world: World, count: int, *, scope: str = "store") -> list[str]:
    """``count`` certificates of a new series moved to POS p1 of store s1."""
    tenant = session.get_one(Tenant, world.tenant_id)
    series = add_series(
        session, tenant, code=f"g-{scope}", title="Сертификат 500 ₽", kind="paper",
        nominal=Decimal("500"), valid_days=30, goods_id="goods-1", scope=scope,
        code_format_kind="numeric", code_length=10, prefix="77", author="t", now=NOW,
    )  # fmt: skip
    generate_certificates(session, series, count, author="t", now=NOW)
    codes = list(
        session.scalars(
            select(Certificate.code)
            .where(Certificate.series_id == series.id)
            .order_by(Certificate.code)
        )
    )
    s1 = get_store(session, tenant, "s1")
    for kind, pos in (("to_store", None), ("to_pos", get_pos(session, s1, "p1"))):
        apply_document(session, tenant, number=None, kind=kind, store=s1, pos=pos, codes=codes,
                       author="t", now=NOW, may_withdraw=False)  # fmt: skip
    return codes


def _sold_at_p1(session: Session, world: World, code: str, **changes: Any) -> None:
    """A sale at p1 as the till will record it (the sale itself comes with the receipts)."""
    tenant = session.get_one(Tenant, world.tenant_id)
    s1 = get_store(session, tenant, "s1")
    certificate = session.scalars(select(Certificate).where(Certificate.code == code)).one()
    values = {"status": "sold", "store_id": None, "pos_id": None, "sold_at": NOW,
              "expires_at": NOW + timedelta(days=30), "sold_store_id": s1.id,
              "sold_pos_id": get_pos(session, s1, "p1").id, **changes}  # fmt: skip
    for name, value in values.items():
        setattr(certificate, name, value)
    session.flush()


def _check(client: FlaskClient, headers: dict[str, str], code: str) -> tuple[int, Any]:
    response = client.post("/api/v1/certificates/check", json={"code": code}, headers=headers)
    return response.status_code, response.get_json()


def test_the_certificates_held_at_this_pos(
    client: FlaskClient, session: Session, world: World
) -> None:
    codes = _at_p1(session, world, 2)
    response = client.get("/api/v1/certificates/at-pos", headers=world.auth)
    assert response.status_code == 200
    assert response.get_json() == {
        "store": "s1", "pos": "p1", "count": 2, "nominal": 1000.0,
        "certificates": [
            {"code": code, "series": "g-store", "title": "Сертификат 500 ₽", "nominal": 500.0}
            for code in codes
        ],
    }  # fmt: skip
    elsewhere = client.get("/api/v1/certificates/at-pos", headers=P2).get_json()
    assert (elsewhere["pos"], elsewhere["count"], elsewhere["certificates"]) == ("p2", 0, [])


def test_check_a_certificate_not_yet_sold(
    client: FlaskClient, session: Session, world: World
) -> None:
    [code] = _at_p1(session, world, 1)
    status, answer = _check(client, world.auth, f" {code} ")
    assert status == 200
    assert answer == {
        "code": code, "series": "g-store", "title": "Сертификат 500 ₽", "kind": "paper",
        "status": "at_pos", "status_title": "На кассе", "nominal": 500.0, "balance": 500.0,
        "expires_at": None, "scope": "store", "redeemable_at": None, "usable": False,
        "refusal": {"code": "CERTIFICATE_NOT_SOLD",
                    "message": "Сертификат не продан (или списан): принять его в оплату нельзя."},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("scope", "changes", "headers", "refusal", "redeemable_at"),
    [
        ("store", {}, P2, None, {"store": "s1", "pos": None}),
        ("store", {}, OTHER_STORE_TOKEN, "CERTIFICATE_OUT_OF_SCOPE", {"store": "s1", "pos": None}),
        ("pos", {}, P2, "CERTIFICATE_OUT_OF_SCOPE", {"store": "s1", "pos": "p1"}),
        ("tenant", {}, OTHER_STORE_TOKEN, None, None),
        ("tenant", {"balance": 0}, P2, "CERTIFICATE_USED_UP", None),
        ("tenant", {"expires_at": NOW - timedelta(seconds=1)}, P2, "CERTIFICATE_EXPIRED", None),
    ],
)
def test_check_a_sold_certificate_where_it_may_be_redeemed(
    client: FlaskClient,
    session: Session,
    world: World,
    scope: str,
    changes: dict[str, Any],
    headers: dict[str, str],
    refusal: str | None,
    redeemable_at: dict[str, Any] | None,
) -> None:
    add_pos(session, add_store(session, session.get_one(Tenant, world.tenant_id), "s2", "Второй",
                               "Europe/Moscow"), "q1", token="token-q1")  # fmt: skip
    [code] = _at_p1(session, world, 1, scope=scope)
    _sold_at_p1(session, world, code, **{"balance": 20_000, **changes})
    status, answer = _check(client, headers, code)
    assert status == 200, answer
    assert (answer["status"], answer["status_title"], answer["redeemable_at"]) == (
        "sold", "У покупателя", redeemable_at,
    )  # fmt: skip
    assert answer["usable"] is (refusal is None)
    assert (answer["refusal"] or {}).get("code") == refusal
    if refusal is None:
        assert (answer["nominal"], answer["balance"]) == (500.0, 200.0)


def test_check_refusals(client: FlaskClient, session: Session, world: World, other: World) -> None:
    [code] = _at_p1(session, world, 1)
    for headers, presented in ((world.auth, "7700000000"), (other.auth, code)):
        status, answer = _check(client, headers, presented)
        assert (status, answer["code"]) == (404, "CERTIFICATE_NOT_FOUND")
    status, answer = _check(client, world.auth, "")
    assert (status, answer["code"]) == (400, "VALIDATION_ERROR")
    for response in (
        client.post("/api/v1/certificates/check", json={"code": code}),
        client.get("/api/v1/certificates/at-pos", headers={"Authorization": "Bearer nope"}),
    ):
        assert (response.status_code, response.get_json()["code"]) == (401, "UNAUTHORIZED")
