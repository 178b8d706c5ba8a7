"""Coupons at the till through the POS API: a coupon unlocks its promotion or says why not, the
commit redeems it exactly once (sixteen POS at once), auto mode applies the best of the
customer's own coupons, identify lists them, and a full return, a rollback or a replacement
gives a coupon back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.coupons.lifecycle import find_coupon, issue_coupon
from processing.coupons.models import Coupon, CouponUse
from processing.coupons.series import add_series, generate_coupons
from processing.customers.service import get_customer, register_customer
from processing.programs.models import Program
from processing.programs.service import add_program, add_version
from processing.promotions.segments import add_segment, change_members
from processing.tenants.models import Store, Tenant
from processing.tenants.service import add_pos, add_store
from tests.admin.conftest import admin_headers, call, fields_of
from tests.connector.onec_http.world import World, receipt

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 1, tzinfo=UTC)
D = Decimal
TEN_PERCENT = {"coupon": True, "reward": {"kind": "percent", "value": "10"}}
PERCENT_5 = {"kind": "percent", "value": "5"}
PERCENT_15 = {"kind": "percent", "value": "15"}


def _promotion(
    session: Session,
    world: World,
    code: str,
    rules: dict[str, Any] | None = None,
    stores: list[Store] | None = None,
) -> Program:
    tenant = session.get_one(Tenant, world.tenant_id)
    program = add_program(session, tenant, "promotion", code, f"Акция {code}")
    add_version(session, program, rules or TEN_PERCENT, SINCE, stores=stores)
    return program


def _coupons(
    session: Session,
    world: World,
    promotion: Program | None,
    series: str,
    count: int = 1,
    *,
    owner: bool = False,
    **options: Any,
) -> list[str]:
    """``count`` issued coupons of a new series (to the world's customer when ``owner``)."""
    tenant = session.get_one(Tenant, world.tenant_id)
    made = add_series(
        session, tenant, code=series, title=f"Серия {series}", promotion=promotion,
        code_format_kind="numeric", code_length=10, bound=owner, author="t", now=NOW, **options,
    )  # fmt: skip
    generate_coupons(session, made, count, author="t", now=NOW)
    customer = get_customer(session, tenant, world.customer_id) if owner else None
    codes = []
    for coupon in session.scalars(select(Coupon).where(Coupon.series_id == made.id)):
        issue_coupon(session, coupon, via="mailing", customer=customer, now=NOW)
        codes.append(coupon.code)
    session.flush()
    return codes


def _post(client: FlaskClient, world: World, path: str, body: dict[str, Any]) -> Any:
    response = client.post(f"/api/v1/{path}", json=body, headers=world.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _coupon_state(session: Session, world: World, code: str) -> tuple[str, int]:
    coupon = find_coupon(session, world.tenant_id, code)
    session.refresh(coupon)
    return coupon.status, coupon.uses


def test_a_coupon_unlocks_its_promotion_once(
    client: FlaskClient, session: Session, world: World
) -> None:
    promotion = _promotion(session, world, "c10")
    (code,) = _coupons(session, world, promotion, "ten")
    without = _post(client, world, "receipts/calculate", receipt("1", card_number=world.card))
    assert [(p["code"], p["applied"], p["reason"]) for p in without["promotions"]] == [
        ("c10", False, "Нужен купон акции.")
    ]
    assert without["coupons"] == []
    body = receipt("1", card_number=world.card, coupons=[f" {code[:4]} {code[4:]} "])
    calculated = _post(client, world, "receipts/calculate", body)
    assert calculated["coupons"] == [
        {"code": code, "auto": False, "applied": True, "promotion": "c10",
         "promotion_name": "Акция c10", "reason_code": None, "reason": None},
    ]  # fmt: skip
    # 10% of the discountable lines (300.00 + 159.27), the third line has no discount
    assert calculated["totals"]["discount"] == D("45.93")
    committed = _post(client, world, "receipts/commit", body)
    assert (committed["coupons"], committed["totals"]["discount"]) == ([code], D("45.93"))
    assert _coupon_state(session, world, code) == ("redeemed", 1)
    again = _post(client, world, "receipts/commit", {**body, "coupons": [code]})
    assert (again["replay"], again["coupons"]) == (True, [code])  # the same code, typed apart
    assert _coupon_state(session, world, code) == ("redeemed", 1)

    second = receipt("2", card_number=world.card, coupons=[code])
    refused = _post(client, world, "receipts/calculate", second)
    assert refused["coupons"][0]["applied"] is False
    assert refused["coupons"][0]["reason_code"] == "COUPON_USED_UP"
    assert refused["totals"]["discount"] == D("0.00")
    plain = _post(client, world, "receipts/commit", second)
    assert plain["coupons"] == []
    assert plain["notes"] == [f"Купон {code} не применён: Купон уже использован."]


def test_why_a_coupon_is_not_used(client: FlaskClient, session: Session, world: World) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    other_store = add_store(session, tenant, "s2", "Другой", "Europe/Moscow")
    c10 = _promotion(session, world, "c10")
    tenant.promotion_groups = [
        {"code": "main", "mode": "max", "order": 100, "level_discount": True},
        {"code": "extra", "mode": "sum", "order": 200},
    ]
    c5 = _promotion(session, world, "c5", {**TEN_PERCENT, "group": "extra"})
    big = _promotion(session, world, "big", {**TEN_PERCENT, "receipt": {"sum": {"min": "5000"}}})
    elsewhere = _promotion(session, world, "far", TEN_PERCENT, stores=[other_store])
    open_promotion = _promotion(session, world, "open", {"reward": {"kind": "percent",
                                                                   "value": "1"}})  # fmt: skip
    first, same = _coupons(session, world, c10, "a", 2)
    (alone,) = _coupons(session, world, c5, "b")
    (several,) = _coupons(session, world, c5, "c", per_receipt=None)
    (minimum,) = _coupons(session, world, big, "d")
    (far,) = _coupons(session, world, elsewhere, "e")
    (bound,) = _coupons(session, world, c10, "f", owner=True)
    (loose,) = _coupons(session, world, None, "g")
    (needless,) = _coupons(session, world, open_promotion, "h")
    (late,) = _coupons(session, world, c10, "i", valid_to=datetime(2026, 4, 30, tzinfo=UTC))
    (open10,) = _coupons(session, world, c10, "j", per_receipt=None)

    def reasons(codes: list[str], **ident: Any) -> dict[str, str | None]:
        body = receipt("1", coupons=codes, **ident)
        answer = _post(client, world, "receipts/calculate", body)
        return {c["code"]: c["reason_code"] for c in answer["coupons"]}

    assert reasons([first, same]) == {first: None, same: "COUPON_SAME_PROMOTION"}
    assert reasons([first, alone]) == {first: None, alone: "COUPON_ONE_PER_RECEIPT"}
    assert reasons([alone, first]) == {alone: None, first: "COUPON_ONE_PER_RECEIPT"}
    assert reasons(["0000000000"]) == {"0000000000": "COUPON_NOT_FOUND"}
    answer = _post(client, world, "receipts/calculate", receipt("1", coupons=[minimum]))
    (told,) = answer["coupons"]
    assert (told["reason_code"], told["applied"]) == ("COUPON_NOT_APPLIED", False)
    assert told["reason"].startswith("Акция купона не применена: ")
    assert reasons([far]) == {far: "COUPON_PROMOTION_INACTIVE"}
    assert reasons([bound]) == {bound: "COUPON_CUSTOMER_REQUIRED"}
    assert reasons([bound], card_number=world.blank[0]) == {bound: "COUPON_CUSTOMER_REQUIRED"}
    assert reasons([bound], card_number=world.card) == {bound: None}
    assert reasons([loose]) == {loose: "COUPON_NO_PROMOTION"}
    assert reasons([needless]) == {needless: "COUPON_NOT_NEEDED"}
    assert reasons([late]) == {late: "COUPON_EXPIRED"}
    # a series combinable with others: two promotions' coupons on one receipt
    assert reasons([several, open10]) == {several: None, open10: None}
    nothing = session.scalar(select(func.count()).select_from(CouponUse))
    assert nothing == 0  # calculations redeem nothing


def test_auto_mode_applies_the_best_own_coupon_and_identify_lists_them(
    client: FlaskClient, session: Session, world: World
) -> None:
    small = _promotion(session, world, "p5", {"coupon": True, "reward": PERCENT_5})
    large = _promotion(session, world, "p15", {"coupon": True, "reward": PERCENT_15})
    (five,) = _coupons(session, world, small, "five", owner=True, auto=True)
    (fifteen,) = _coupons(session, world, large, "fifteen", owner=True, auto=True,
                          valid_to=datetime(2099, 6, 1, tzinfo=UTC))  # fmt: skip
    listed = _post(client, world, "identify", {"card_number": world.card})["coupons"]
    assert [(c["code"], c["promotion"], c["auto"], c["uses_left"]) for c in listed] == [
        (fifteen, "p15", True, 1), (five, "p5", True, 1),
    ]  # fmt: skip
    body = receipt("1", card_number=world.card)
    answer = _post(client, world, "receipts/calculate", body)
    assert [(c["code"], c["auto"], c["applied"]) for c in answer["coupons"]] == [
        (fifteen, True, True)
    ]
    assert answer["totals"]["discount"] == D("68.89")  # 15% of 459.27
    committed = _post(client, world, "receipts/commit", body)
    assert committed["coupons"] == [fifteen]
    assert _coupon_state(session, world, fifteen) == ("redeemed", 1)
    assert _coupon_state(session, world, five) == ("issued", 0)
    listed = _post(client, world, "identify", {"card_number": world.card})["coupons"]
    assert [c["code"] for c in listed] == [five]
    anonymous = _post(client, world, "receipts/calculate", receipt("2"))
    assert anonymous["coupons"] == [] and anonymous["totals"]["discount"] == D("0.00")


def test_a_full_return_or_rollback_gives_the_coupon_back(
    client: FlaskClient, session: Session, world: World
) -> None:
    promotion = _promotion(session, world, "c10")
    (code,) = _coupons(session, world, promotion, "ten")
    sale = _post(client, world, "receipts/commit", receipt("1", coupons=[code]))
    assert sale["coupons"] == [code]
    return_body = {"cashier": "c-01", "shift": "5", "number": "r1",
                   "original_transaction_id": sale["transaction_id"]}  # fmt: skip
    _post(client, world, "receipts/return", {**return_body, "lines": [{"line": 1, "qty": 1}]})
    assert _coupon_state(session, world, code) == ("redeemed", 1)  # a partial return keeps it
    _post(client, world, "receipts/return", {**return_body, "number": "r2"})
    assert _coupon_state(session, world, code) == ("issued", 0)

    again = _post(client, world, "receipts/commit", receipt("2", coupons=[code]))
    assert again["coupons"] == [code]
    _post(client, world, f"transactions/{again['transaction_id']}/rollback", {})
    assert _coupon_state(session, world, code) == ("issued", 0)

    third = _post(client, world, "receipts/commit", receipt("3", coupons=[code]))
    replaced = _post(
        client, world, f"transactions/{third['transaction_id']}/replace",
        receipt("3", coupons=[code], lines=receipt()["lines"][:1]),
    )  # fmt: skip
    assert replaced["coupons"] == [code]
    assert replaced["totals"]["discount"] == D("30.00")
    assert _coupon_state(session, world, code) == ("redeemed", 1)
    uses = session.scalars(select(CouponUse).order_by(CouponUse.id)).all()
    assert [use.returned_at is not None for use in uses] == [True, True, True, False]


@pytest.mark.committed
def test_sixteen_pos_present_one_single_use_coupon_at_once(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    world = committed_world
    with Session(engine) as session:
        store = session.scalars(select(Store).where(Store.tenant_id == world.tenant_id)).one()
        for i in range(3, 17):
            add_pos(session, store, f"p{i}", token=f"{world.token}-{i}")
        (code,) = _coupons(session, world, _promotion(session, world, "c10"), "ten")
        session.commit()
    tokens = [world.token, f"{world.token}-2", *(f"{world.token}-{i}" for i in range(3, 17))]
    barrier = threading.Barrier(16)
    results: list[Any] = [None] * 16

    def commit(i: int) -> None:
        client = app.test_client()
        body = receipt(f"r{i}", coupons=[code])
        barrier.wait()
        response = client.post("/api/v1/receipts/commit", json=body,
                               headers={"Authorization": f"Bearer {tokens[i]}"})  # fmt: skip
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(status == 200 for status, _ in results), results
    used = [answer["coupons"] for _, answer in results]
    assert sorted(used, key=len) == [[]] * 15 + [[code]], used
    with Session(engine) as session:
        assert _coupon_state(session, world, code) == ("redeemed", 1)
        assert session.scalar(select(func.count()).select_from(CouponUse)) == 1


def test_a_personal_offer_to_a_segment(client: FlaskClient, session: Session, world: World) -> None:
    """A one-time discount on a goods list for the customers of a segment, until a date: a
    bound, auto, single-use series issued to the segment through the management API, applied
    when the customer is identified."""
    tenant = session.get_one(Tenant, world.tenant_id)
    other = register_customer(
        session, tenant, {"first_name": "Анна", "phone": "+79160000002"}, source="admin",
        author="t", consents={"processing": True}, now=NOW,
    )  # fmt: skip
    segment = add_segment(session, tenant, "sleeping", "Давно не покупали")
    change_members(session, segment, [world.customer_id, other.id], [])
    offer = {"coupon": True, "receipt": {"goods": {"goods": ["g-100"]}},
             "reward": {"kind": "percent", "value": "20"}}  # fmt: skip
    _promotion(session, world, "come-back", offer)
    admin = admin_headers(session, world)
    series = {
        "code": "come-back", "title": "Вернись: −20% на g-100", "promotion": "come-back",
        "code_format": "numeric", "code_length": 12, "valid_to": "2099-01-01T00:00:00+03:00",
        "uses_per_coupon": 1, "per_receipt": None, "bound": True, "auto": True,
    }  # fmt: skip
    assert call(client, admin, "POST", "coupon-series", series)[0] == 201
    status, issued = call(client, admin, "POST", "coupon-series/come-back/issue",
                          {"segment": "sleeping", "via": "mailing"})  # fmt: skip
    assert (status, issued) == (200, {"series": "come-back", "issued": 2, "skipped": 0,
                                      "coupons": {"issued": 2}})  # fmt: skip
    again = call(client, admin, "POST", "coupon-series/come-back/issue", {"segment": "sleeping"})
    assert again[1]["issued"] == 0 and again[1]["skipped"] == 2
    listed = _post(client, world, "identify", {"card_number": world.card})["coupons"]
    assert [(c["title"], c["auto"], c["valid_to"]) for c in listed] == [
        ("Вернись: −20% на g-100", True, "2098-12-31T21:00:00+00:00")
    ]
    body = receipt("1", card_number=world.card)
    sale = _post(client, world, "receipts/commit", body)
    assert sale["totals"]["discount"] == D("60.00")  # 20% of the 300.00 line only
    assert sale["coupons"] == [listed[0]["code"]]
    assert _post(client, world, "identify", {"card_number": world.card})["coupons"] == []
    second = _post(client, world, "receipts/commit", receipt("2", card_number=world.card))
    assert second["totals"]["discount"] == D("0.00")  # one time only
    # the campaign sent again: the customer who used the offer gets no second one
    repeated = call(client, admin, "POST", "coupon-series/come-back/issue", {"segment": "sleeping"})
    assert (repeated[1]["issued"], repeated[1]["skipped"]) == (0, 2)
    for body in ({"customers": [world.customer_id], "segment": "nope"}, {}):
        status, refused = call(client, admin, "POST", "coupon-series/come-back/issue", body)
        assert (status, list(fields_of(refused))) == (400, ["customers"]), refused
    status, refused = call(client, admin, "POST", "coupon-series/come-back/issue",
                           {"customers": [10**9]})  # fmt: skip
    assert (status, refused["details"]["field"]) == (400, "customers"), refused
    status, refused = call(client, admin, "POST", "coupon-series/come-back/issue",
                           {"segment": "nope"})  # fmt: skip
    assert (status, refused["code"]) == (404, "SEGMENT_NOT_FOUND")
