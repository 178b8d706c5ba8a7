"""The POS coupon check, and redemption exactly once when sixteen POS present one single-use
coupon at once (committed data, a session per thread)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.coupons.lifecycle import find_coupon, issue_coupon, redeem_coupon
from processing.coupons.models import Coupon, CouponSeries, CouponUse
from processing.coupons.series import add_series, generate_coupons
from processing.customers.service import get_customer
from processing.errors import ConnectorError
from processing.receipts.models import Receipt
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _issued(session: Session, world: World, *, bound: bool = False, customer: bool = False,
            code: str = "s") -> str:  # fmt: skip
    tenant = session.get_one(Tenant, world.tenant_id)
    series: CouponSeries = add_series(
        session, tenant, code=code, title="Скидка 10%", promotion=None, code_format_kind="ean13",
        code_length=None, prefix="21", bound=bound, author="t", now=NOW,
    )  # fmt: skip
    generate_coupons(session, series, 1, author="t", now=NOW)
    coupon = session.scalars(select(Coupon).where(Coupon.series_id == series.id)).one()
    owner = get_customer(session, tenant, world.customer_id) if customer else None
    issue_coupon(session, coupon, via="promotion", customer=owner, now=NOW)
    return coupon.code


def _check(client: FlaskClient, world: World, **body: Any) -> tuple[int, Any]:
    response = client.post("/api/v1/coupons/check", json=body, headers=world.auth)
    return response.status_code, response.get_json()


def test_check_a_bearer_coupon(client: FlaskClient, session: Session, world: World) -> None:
    code = _issued(session, world)
    status, answer = _check(client, world, code=f" {code} ")
    assert status == 200, answer
    assert answer == {
        "code": code, "series": "s", "title": "Скидка 10%", "promotion": None,
        "status": "issued", "status_title": "Выдан", "usable": True, "refusal": None,
        "uses": 0, "uses_left": 1, "bound": False, "valid_from": None, "valid_to": None,
    }  # fmt: skip


def test_check_a_bound_coupon_by_card_or_phone(
    client: FlaskClient, session: Session, world: World
) -> None:
    code = _issued(session, world, bound=True, customer=True)
    status, anonymous = _check(client, world, code=code)
    assert (status, anonymous["usable"]) == (200, False)
    assert anonymous["refusal"] == {
        "code": "COUPON_CUSTOMER_REQUIRED",
        "message": "Купон именной: предъявите карту или назовите телефон владельца купона.",
    }
    assert _check(client, world, code=code, card_number=world.card)[1]["usable"] is True
    assert _check(client, world, code=code, phone="8 916 123-45-67")[1]["usable"] is True
    stranger = _check(client, world, code=code, card_number=world.blank[0])[1]
    assert stranger["refusal"]["code"] == "COUPON_CUSTOMER_REQUIRED"  # a blank card: nobody


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "2100000000000"}, 404, "COUPON_NOT_FOUND"),
        ({"code": "X", "card_number": "2775999999992"}, 404, "CARD_NOT_FOUND"),
        ({"code": "X", "phone": "+79990000000"}, 404, "CUSTOMER_NOT_FOUND"),
        ({}, 400, "VALIDATION_ERROR"),
    ],
)
def test_check_refusals(
    client: FlaskClient, world: World, body: dict[str, Any], status: int, code: str
) -> None:
    answer_status, answer = _check(client, world, **body)
    assert (answer_status, answer["code"]) == (status, code), answer


def test_check_needs_a_pos_token(client: FlaskClient, world: World) -> None:
    response = client.post("/api/v1/coupons/check", json={"code": "1"})
    assert response.status_code == 401


@pytest.mark.committed
def test_sixteen_pos_redeem_one_single_use_coupon_once(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    client = app.test_client()
    transactions = []
    for i in range(16):
        body = receipt(f"cp-{i}", card_number=committed_world.card)
        response = client.post("/api/v1/receipts/commit", json=body, headers=committed_world.auth)
        assert response.status_code == 200, response.get_json()
        transactions.append(response.get_json()["transaction_id"])
    with Session(engine) as session:
        code = _issued(session, committed_world)
        receipt_ids = [
            session.scalars(select(Receipt.id).where(Receipt.transaction_id == t)).one()
            for t in transactions
        ]
        session.commit()
    barrier = threading.Barrier(16)
    outcomes: list[str] = [""] * 16

    def redeem(i: int) -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                redeem_coupon(session, committed_world.tenant_id, code,
                              receipt_id=receipt_ids[i], customer_id=None, at=NOW)  # fmt: skip
                session.commit()
                outcomes[i] = "ok"
            except ConnectorError as refused:
                session.rollback()
                outcomes[i] = refused.code

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["COUPON_USED_UP"] * 15 + ["ok"], outcomes
    with Session(engine) as session:
        coupon = find_coupon(session, committed_world.tenant_id, code)
        assert (coupon.status, coupon.uses) == ("redeemed", 1)
        assert session.scalar(select(func.count()).select_from(CouponUse)) == 1
