"""Gift certificates at the till through the POS API: sold as an advance (no discount, bonus or
accrual), partially redeemed in two stores within scope and refused outside it, a purchase paid
by one returned (its remainder back), spent and sold again in the re-sale cycle, electronic ones
made at sale with the remainder burnt, refused offline; and a full return that restores a
coupon, a gift and a certificate remainder exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.certificates.documents import apply_document
from processing.certificates.models import Certificate
from processing.certificates.series import add_series, generate_certificates
from processing.coupons.lifecycle import find_coupon, issue_coupon
from processing.coupons.models import Coupon
from processing.coupons.series import add_series as add_coupon_series
from processing.coupons.series import generate_coupons
from processing.gifts.models import GiftStock
from processing.gifts.stock import receive
from processing.levels.models import PurchaseStat
from processing.programs.service import add_program, add_version
from processing.tenants.models import Pos, Store, Tenant
from processing.tenants.service import add_pos, add_store, get_pos, get_store
from tests.connector.onec_http.world import World, race, receipt

NOW = datetime(2026, 4, 1, tzinfo=UTC)
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
D = Decimal
GOODS = [{"line": 1, "goods": "g-100", "qty": 3, "price": 100, "sum": 300}]


def _series(session: Session, world: World, code: str, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "code": code, "title": f"Сертификат {code}", "kind": "paper", "nominal": D("1000"),
        "valid_days": 365, "goods_id": f"cert-{code}", "code_format_kind": "ean13",
        "code_length": None, "prefix": "29" + str(len(code)), "author": "t", "now": NOW,
    }  # fmt: skip
    values.update(overrides)
    series = add_series(session, session.get_one(Tenant, world.tenant_id), **values)
    if series.kind == "paper":
        generate_certificates(session, series, 1, author="t", now=NOW)
        code_of = select(Certificate.code).where(Certificate.series_id == series.id)
        return session.scalars(code_of).one()
    return series.goods_id


def _to_pos(session: Session, world: World, code: str, store: Store, pos: Pos,
            *, from_accounting: bool = True) -> None:  # fmt: skip
    tenant = session.get_one(Tenant, world.tenant_id)
    if from_accounting:
        apply_document(session, tenant, number=None, kind="to_store", store=store, pos=None,
                       codes=[code], author="t", now=NOW, may_withdraw=False)  # fmt: skip
    apply_document(session, tenant, number=None, kind="to_pos", store=store, pos=pos,
                   codes=[code], author="t", now=NOW, may_withdraw=False)  # fmt: skip
    session.flush()


def _post(client: FlaskClient, token: str, path: str, body: dict[str, Any],
          status: int = 200) -> Any:  # fmt: skip
    response = client.post(f"/api/v1/{path}", json=body,
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _state(session: Session, code: str) -> tuple[str, int | None]:
    session.expire_all()
    certificate = session.scalars(select(Certificate).where(Certificate.code == code)).one()
    return certificate.status, certificate.balance


def _purchases(session: Session, world: World) -> Decimal:
    """The card's cumulative purchases (the level basis)."""
    found = session.scalar(
        select(func.coalesce(func.sum(PurchaseStat.amount), 0)).where(
            PurchaseStat.account_id == world.account_id
        )
    )
    return D(found).quantize(D("0.01"))


def _places(session: Session, world: World) -> tuple[Store, Pos, Store, Pos]:
    tenant = session.get_one(Tenant, world.tenant_id)
    s1 = get_store(session, tenant, "s1")
    s2 = add_store(session, tenant, "s2", "Второй", "Europe/Moscow")
    q1 = add_pos(session, s2, "q1", token="token-q1").pos
    return s1, get_pos(session, s1, "p1"), s2, q1


def test_sold_redeemed_in_two_stores_returned_and_sold_again(
    client: FlaskClient, session: Session, world: World
) -> None:
    s1, p1, _, _ = _places(session, world)
    code = _series(session, world, "a", resale=True)
    narrow = _series(session, world, "b", nominal=D("500"), scope="store")
    _to_pos(session, world, code, s1, p1)
    _to_pos(session, world, narrow, s1, p1)
    here, there = world.token, "token-q1"

    sale = receipt("1", card_number=world.card, lines=[
        {"line": 1, "goods": "cert-a", "qty": 1, "price": 1000, "sum": 1000, "certificate": code},
        {"line": 2, "goods": "cert-b", "qty": 1, "price": 500, "sum": 500, "certificate": narrow},
        *[{**line, "line": 3} for line in GOODS],
    ])  # fmt: skip
    calculated = _post(client, here, "receipts/calculate", sale)
    first = calculated["lines"][0]
    assert (first["discount"], first["accrual"], first["explanation"][0]["rule"]) == (
        D("0.00"), D("0.00"), "certificate_sale",
    )  # fmt: skip
    assert calculated["totals"]["accrual"] == D("9.00")  # 3% of the 300.00 goods only
    assert [s["code"] for s in calculated["certificates"]["sold"]] == [code, narrow]
    sold = _post(client, here, "receipts/commit", sale)
    assert sold["certificates"]["sold"][0]["fiscal"] == {
        "payment_method": "advance", "payment_method_tag": 3, "payment_object": "payment",
        "payment_object_tag": 10,
    }  # fmt: skip
    assert sold["certificates"]["sold"][0]["expires_at"] is not None
    assert _state(session, code) == ("sold", 100_000)
    assert _purchases(session, world) == D("300.00")  # the certificates are advances
    # the same certificate cannot be sold twice
    again = receipt("1b", lines=sale["lines"][:1])
    assert _post(client, here, "receipts/commit", again, 422)["code"] == "CERTIFICATE_NOT_AT_POS"

    pay = receipt("2", lines=GOODS, certificates=[{"code": code}])
    calculated = _post(client, here, "receipts/calculate", pay)["certificates"]
    assert (calculated["paid"], calculated["to_pay"]) == (D("300.00"), D("0.00"))
    assert calculated["payments"][0]["balance_after"] == D("700.00")
    paid = _post(client, here, "receipts/commit", pay)["certificates"]
    assert paid["fiscal"]["payment_type_tag"] == 1215
    assert _state(session, code) == ("sold", 70_000)

    elsewhere = receipt("3", lines=GOODS, certificates=[{"code": code, "sum": 200}])
    paid_there = _post(client, there, "receipts/commit", elsewhere)
    assert (paid_there["certificates"]["paid"], paid_there["certificates"]["to_pay"]) == (
        D("200.00"), D("100.00"),
    )  # fmt: skip
    assert _state(session, code) == ("sold", 50_000)
    out_of_scope = receipt("4", lines=GOODS, certificates=[{"code": narrow}])
    told = _post(client, there, "receipts/calculate", out_of_scope)["certificates"]["payments"]
    assert (told[0]["applied"], told[0]["reason_code"]) == (False, "CERTIFICATE_OUT_OF_SCOPE")
    refused = _post(client, there, "receipts/commit", out_of_scope, 422)
    assert refused["code"] == "CERTIFICATE_OUT_OF_SCOPE"
    assert _state(session, narrow) == ("sold", 50_000)

    # the purchase paid there is returned in full: its 200.00 back on the certificate
    returned = _post(client, there, "receipts/return", {
        "cashier": "c-01", "shift": "5", "number": "r3",
        "original_transaction_id": paid_there["transaction_id"],
    })  # fmt: skip
    assert returned["certificates"]["refunded"] == [
        {"code": code, "sum": D("200.00"), "balance_after": D("700.00")}
    ]
    assert returned["notes"][-1].startswith("На подарочные сертификаты возвращено 200,00 ₽")
    assert _state(session, code) == ("sold", 70_000)

    # spent in full: back in this store's stock (the re-sale cycle), then sold again
    big = receipt("5", lines=[{"line": 1, "goods": "g-200", "qty": 1, "price": 900,
                               "sum": 900}], certificates=[{"code": code}])  # fmt: skip
    spent = _post(client, here, "receipts/commit", big)["certificates"]
    assert (spent["paid"], spent["to_pay"]) == (D("700.00"), D("200.00"))
    assert _state(session, code) == ("in_store", 100_000)
    _to_pos(session, world, code, s1, p1, from_accounting=False)
    resale = _post(client, here, "receipts/commit", receipt("6", lines=sale["lines"][:1]))
    assert resale["certificates"]["sold"][0]["nominal"] == D("1000.00")
    assert _state(session, code) == ("sold", 100_000)
    _post(client, here, f"transactions/{resale['transaction_id']}/rollback", {})
    assert _state(session, code) == ("at_pos", 100_000)

    # a certificate sold and then used cannot be returned as unsold
    original = {"cashier": "c-01", "shift": "5", "original_transaction_id":
                sold["transaction_id"]}  # fmt: skip
    first_line = {**original, "number": "r1", "lines": [{"line": 1, "qty": 1}]}
    refused = _post(client, here, "receipts/return", first_line, 422)
    assert refused["code"] == "CERTIFICATE_ALREADY_USED"
    # the narrow one, never used, is returned: back at its POS
    _post(client, here, "receipts/return",
          {**original, "number": "r2", "lines": [{"line": 2, "qty": 1}]})  # fmt: skip
    assert _state(session, narrow) == ("at_pos", 50_000)
    assert _purchases(session, world) == D("300.00")  # an advance returned: no purchase undone


def test_an_electronic_certificate_made_at_sale_and_its_remainder_burnt(
    client: FlaskClient, session: Session, world: World
) -> None:
    goods = _series(session, world, "e", kind="electronic", nominal=None,
                    min_nominal=D("500"), max_nominal=D("30000"), remainder="burn")  # fmt: skip
    line = {"line": 1, "goods": goods, "qty": 1, "price": 2500, "sum": 2500}
    calculated = _post(client, world.token, "receipts/calculate", receipt("1", lines=[line]))
    assert calculated["certificates"]["sold"][0]["code"] is None
    sold = _post(client, world.token, "receipts/commit", receipt("1", lines=[line]))
    code = sold["certificates"]["sold"][0]["code"]
    assert len(code) == 13 and code.startswith("291")
    assert _state(session, code) == ("sold", 250_000)
    replay = _post(client, world.token, "receipts/commit", receipt("1", lines=[line]))
    assert replay["replay"] is True and replay["certificates"]["sold"][0]["code"] == code
    pay = receipt("2", lines=GOODS, certificates=[{"code": code}])
    paid = _post(client, world.token, "receipts/commit", pay)["certificates"]["payments"]
    assert [(p["sum"], p["burnt"], p["balance_after"]) for p in paid] == [
        (D("300.00"), D("2200.00"), D("0.00"))
    ]
    assert _state(session, code) == ("redeemed", 0)
    spent = receipt("3", lines=GOODS, certificates=[{"code": code}])
    again = _post(client, world.token, "receipts/calculate", spent)
    assert again["certificates"]["payments"][0]["reason_code"] == "CERTIFICATE_NOT_SOLD"
    for bad, text in (({**line, "sum": 100, "price": 100}, "номинал"),
                      ({**line, "qty": 2, "sum": 5000}, "количеством 1")):  # fmt: skip
        refused = _post(client, world.token, "receipts/calculate", receipt("4", lines=[bad]), 400)
        assert refused["code"] == "CERTIFICATE_SALE_INVALID" and text in refused["message"]


def test_offline_receipts_with_certificates_are_refused(
    client: FlaskClient, session: Session, world: World
) -> None:
    code = _series(session, world, "a")
    s1 = get_store(session, session.get_one(Tenant, world.tenant_id), "s1")
    p1 = get_pos(session, s1, "p1")
    _to_pos(session, world, code, s1, p1)
    sale = receipt("o1", sold_at="2026-05-01T10:00:00", lines=[
        {"line": 1, "goods": "cert-a", "qty": 1, "price": 1000, "sum": 1000, "certificate": code},
    ])  # fmt: skip
    pay = receipt("o2", sold_at="2026-05-01T10:05:00", lines=GOODS,
                  certificates=[{"code": code}])  # fmt: skip
    plain = receipt("o3", sold_at="2026-05-01T10:10:00", lines=GOODS)
    results = _post(client, world.token, "receipts/offline", {"receipts": [sale, pay, plain]})
    assert [(r["status"], r["code"]) for r in results["results"]] == [
        ("error", "CERTIFICATE_NEEDS_ONLINE"), ("error", "CERTIFICATE_NEEDS_ONLINE"),
        ("committed", None),
    ]  # fmt: skip
    assert _state(session, code) == ("at_pos", 100_000)


def test_a_full_return_restores_coupon_gift_and_certificate_exactly(
    client: FlaskClient, session: Session, world: World
) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    s1 = get_store(session, tenant, "s1")
    p1 = get_pos(session, s1, "p1")
    coupon_promotion = add_program(session, tenant, "promotion", "c10", "Купон 10%")
    add_version(session, coupon_promotion,
                {"coupon": True, "reward": {"kind": "percent", "value": "10"},
                 "receipt": {"goods": {"goods": ["g-100"]}}}, SINCE)  # fmt: skip
    bear = add_program(session, tenant, "promotion", "bear", "Мишка")
    add_version(session, bear, {"receipt": {"goods": {"goods": ["g-100"]}},
                                "reward": {"kind": "gift", "gift": {"goods": ["bear"]}}},
                SINCE)  # fmt: skip
    series = add_coupon_series(
        session, tenant, code="c", title="Купон", promotion=coupon_promotion,
        code_format_kind="numeric", code_length=10, author="t", now=NOW,
    )  # fmt: skip
    generate_coupons(session, series, 1, author="t", now=NOW)
    coupon = session.scalars(select(Coupon)).one()
    issue_coupon(session, coupon, via="admin", customer=None, now=NOW)
    receive(session, s1, "bear", 3, document=None, author="t", now=NOW)
    code = _series(session, world, "a")
    _to_pos(session, world, code, s1, p1)
    _post(client, world.token, "receipts/commit", receipt("s", lines=[
        {"line": 1, "goods": "cert-a", "qty": 1, "price": 1000, "sum": 1000, "certificate": code},
    ]))  # fmt: skip
    body = receipt("1", card_number=world.card, coupons=[coupon.code],
                   certificates=[{"code": code, "sum": 150}],
                   lines=[*GOODS, {"line": 2, "goods": "bear", "qty": 1, "price": 50,
                                   "sum": 50}])  # fmt: skip
    sale = _post(client, world.token, "receipts/commit", body)
    assert sale["coupons"] == [coupon.code]
    assert sale["lines"][1]["gift_qty"] == 1
    assert sale["certificates"]["paid"] == D("150.00")
    balance_before = _post(client, world.token, "identify", {"card_number": world.card})
    _post(client, world.token, "receipts/return", {
        "cashier": "c-01", "shift": "5", "number": "r1",
        "original_transaction_id": sale["transaction_id"],
    })  # fmt: skip
    session.expire_all()
    assert find_coupon(session, world.tenant_id, coupon.code).status == "issued"
    assert session.scalars(select(GiftStock.quantity)).one() == 3  # the bear is back
    assert _state(session, code) == ("sold", 100_000)
    assert _purchases(session, world) == D("0.00")
    after = _post(client, world.token, "identify", {"card_number": world.card})
    assert after["balance"]["total"] == balance_before["balance"]["total"] - D(
        str(sale["totals"]["accrual"])
    )


@pytest.mark.committed
def test_one_certificate_spent_by_many_commits_at_once(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    world = committed_world
    with Session(engine) as session:
        code = _series(session, world, "a")
        s1 = get_store(session, session.get_one(Tenant, world.tenant_id), "s1")
        _to_pos(session, world, code, s1, get_pos(session, s1, "p1"))
        session.commit()
    client = app.test_client()
    sale = receipt("s", lines=[
        {"line": 1, "goods": "cert-a", "qty": 1, "price": 1000, "sum": 1000, "certificate": code},
    ])  # fmt: skip
    _post(client, world.token, "receipts/commit", sale)
    results = race(
        app, 6,
        lambda i: ("/api/v1/receipts/commit",
                   receipt(f"c{i}", lines=GOODS, certificates=[{"code": code, "sum": 300}])),
        world,
    )  # fmt: skip
    outcomes = sorted(
        str(answer["certificates"]["paid"]) if status == 200 else answer["code"]
        for status, answer in results
    )
    assert outcomes == ["300.00"] * 3 + ["CERTIFICATE_NOT_ENOUGH"] * 3, outcomes
    with Session(engine) as session:
        assert _state(session, code) == ("sold", 10_000)


def test_why_a_certificate_is_not_sold_or_does_not_pay(
    client: FlaskClient, session: Session, world: World
) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    s1 = get_store(session, tenant, "s1")
    p1 = get_pos(session, s1, "p1")
    code = _series(session, world, "a")
    short = _series(session, world, "s", valid_until=datetime(2026, 5, 1, 8, tzinfo=UTC),
                    valid_days=None)  # fmt: skip
    other = _series(session, world, "o")
    for each in (code, short, other):
        _to_pos(session, world, each, s1, p1)
    line = {"line": 1, "goods": "cert-a", "qty": 1, "price": 1000, "sum": 1000}
    for bad, text in (({**line}, "укажите его код"),
                      ({**line, "certificate": code, "sum": 900, "price": 900}, "номиналу"),
                      ({**line, "certificate": short}, "продаётся товаром")):  # fmt: skip
        refused = _post(client, world.token, "receipts/commit", receipt("0", lines=[bad]), 400)
        assert refused["code"] == "CERTIFICATE_SALE_INVALID" and text in refused["message"]
    assert _state(session, code) == ("at_pos", 100_000)
    sold = receipt("1", sold_at="2026-04-20T12:00:00", lines=[
        {**line, "certificate": code},
        {**line, "line": 2, "goods": "cert-s", "certificate": short},
        {**line, "line": 3, "goods": "cert-o", "certificate": other},
    ])  # fmt: skip
    _post(client, world.token, "receipts/commit", sold)

    def reasons(*presented: dict[str, Any]) -> list[str | None]:
        body = receipt("2", lines=GOODS, certificates=list(presented))
        answer = _post(client, world.token, "receipts/calculate", body)["certificates"]
        return [p["reason_code"] for p in answer["payments"]]

    assert reasons({"code": code, "sum": 100}, {"code": code}) == [None, "CERTIFICATE_REPEATED"]
    assert reasons({"code": code}, {"code": other}) == [None, "CERTIFICATE_NOTHING_TO_PAY"]
    assert reasons({"code": code, "sum": 1000.01}) == ["CERTIFICATE_NOT_ENOUGH"]
    assert reasons({"code": short}) == ["CERTIFICATE_EXPIRED"]  # the receipt is of May 1, noon
    assert reasons({"code": "2990000000000"}) == ["CERTIFICATE_NOT_FOUND"]
    refused = _post(client, world.token, "receipts/commit",
                    receipt("3", lines=GOODS, certificates=[{"code": short}]), 422)  # fmt: skip
    assert refused["code"] == "CERTIFICATE_EXPIRED"
    assert _state(session, short) == ("sold", 100_000)
    # an expired certificate is not sold either
    late = _series(session, world, "t", valid_until=datetime(2026, 5, 1, 8, tzinfo=UTC),
                   valid_days=None)  # fmt: skip
    _to_pos(session, world, late, s1, p1)
    late_sale = receipt("4", lines=[{**line, "goods": "cert-t", "certificate": late}])
    refused = _post(client, world.token, "receipts/commit", late_sale, 422)
    assert refused["code"] == "CERTIFICATE_EXPIRED"


def test_money_goes_back_only_to_a_certificate_still_the_customers(
    client: FlaskClient, session: Session, world: World
) -> None:
    s1, p1, _, _ = _places(session, world)
    resold = _series(session, world, "r", nominal=D("300"), resale=True, scope="store")
    burnt = _series(session, world, "b", nominal=D("500"), remainder="burn")
    lapsing = _series(session, world, "l", valid_days=None,
                      valid_until=datetime(2026, 6, 1, tzinfo=UTC))  # fmt: skip
    for code in (resold, burnt, lapsing):
        _to_pos(session, world, code, s1, p1)
    token = world.token
    sale = receipt("1", lines=[
        {"line": 1, "goods": "cert-r", "qty": 1, "price": 300, "sum": 300, "certificate": resold},
        {"line": 2, "goods": "cert-b", "qty": 1, "price": 500, "sum": 500, "certificate": burnt},
        {"line": 3, "goods": "cert-l", "qty": 1, "price": 1000, "sum": 1000,
         "certificate": lapsing},
    ])  # fmt: skip
    sold = _post(client, token, "receipts/commit", sale)
    # the resold one: spent in full (back in stock), then a payment undone puts it back sold
    spend_all = receipt("2", lines=GOODS, certificates=[{"code": resold}])
    spend = _post(client, token, "receipts/commit", spend_all)
    assert _state(session, resold) == ("in_store", 30_000)
    _post(client, token, f"transactions/{spend['transaction_id']}/rollback", {})
    assert _state(session, resold) == ("sold", 30_000)
    check = client.post("/api/v1/certificates/check", json={"code": resold},
                        headers={"Authorization": f"Bearer {token}"}).get_json()  # fmt: skip
    assert check["usable"] is True, check  # its store, sale date and expiry kept
    spend = _post(client, token, "receipts/commit", {**spend_all, "number": "3"})
    _to_pos(session, world, resold, s1, p1, from_accounting=False)
    resale = receipt("4", lines=sale["lines"][:1])
    _post(client, token, "receipts/commit", resale)  # another customer's now
    back = _post(client, token, "receipts/return", {
        "cashier": "c-01", "shift": "5", "number": "r3",
        "original_transaction_id": spend["transaction_id"],
    })  # fmt: skip
    assert back["certificates"]["refunded"] == []  # refunded in money
    assert _state(session, resold) == ("sold", 30_000)
    replay = _post(client, token, "receipts/commit", sale)
    assert replay["certificates"]["sold"] == sold["certificates"]["sold"]

    # burnt: a full return restores the remainder as it was
    paid = _post(client, token, "receipts/commit", receipt("5", lines=[{
        "line": 1, "goods": "g-200", "qty": 1, "price": 200, "sum": 200}],
        certificates=[{"code": burnt}]))  # fmt: skip
    assert _state(session, burnt) == ("redeemed", 0)
    whole = {"cashier": "c-01", "shift": "5", "number": "r5",
             "original_transaction_id": paid["transaction_id"]}  # fmt: skip
    _post(client, token, "receipts/return", whole)
    assert _state(session, burnt) == ("sold", 50_000)

    # expired since the payment (the series ended on June 1): the money is refunded in cash
    late = receipt("6", lines=GOODS, certificates=[{"code": lapsing}])
    paid = _post(client, token, "receipts/commit", late)
    back = _post(client, token, "receipts/return", {
        "cashier": "c-01", "shift": "5", "number": "r6",
        "original_transaction_id": paid["transaction_id"],
    })  # fmt: skip
    assert back["certificates"]["refunded"] == [] and _state(session, lapsing) == ("sold", 70_000)


def test_certificate_sale_lines_whole_and_once_and_payments_as_calculated(
    client: FlaskClient, session: Session, world: World
) -> None:
    s1, p1, _, _ = _places(session, world)
    code = _series(session, world, "a")
    goods = _series(session, world, "e", kind="electronic", nominal=None,
                    min_nominal=D("100"), max_nominal=D("5000"))  # fmt: skip
    _to_pos(session, world, code, s1, p1)
    token = world.token
    line = {"line": 1, "goods": "cert-a", "qty": 1, "price": 1000, "sum": 1000,
            "certificate": code}  # fmt: skip
    twice = receipt("0", lines=[line, {**line, "line": 2}])
    refused = _post(client, token, "receipts/commit", twice, 400)
    assert refused["code"] == "CERTIFICATE_SALE_INVALID" and "другой строкой" in refused["message"]
    sold = _post(client, token, "receipts/commit", receipt("1", lines=[line]))
    part = {"cashier": "c-01", "shift": "5", "number": "r1",
            "original_transaction_id": sold["transaction_id"],
            "lines": [{"line": 1, "qty": 0.001}]}  # fmt: skip
    refused = _post(client, token, "receipts/return", part, 400)
    assert refused["code"] == "CERTIFICATE_SALE_INVALID" and "целиком" in refused["message"]
    assert _state(session, code) == ("sold", 100_000)

    # a payment committed as calculated, or refused when the certificate was spent meanwhile
    pay = receipt("2", lines=GOODS, certificates=[{"code": code}])
    soft = _post(client, token, "receipts/calculate", pay)
    assert soft["certificates"]["paid"] == D("300.00")
    elsewhere = receipt("3", lines=[{"line": 1, "goods": "g-9", "qty": 1, "price": 800,
                                     "sum": 800}], certificates=[{"code": code}])  # fmt: skip
    _post(client, token, "receipts/commit", elsewhere)
    changed = _post(client, token, "receipts/commit",
                    {**pay, "calculation_id": soft["calculation_id"]}, 422)  # fmt: skip
    assert changed["code"] == "CERTIFICATE_CHANGED"
    assert _state(session, code) == ("sold", 20_000)
    too_much = receipt("4", lines=GOODS, certificates=[{"code": code, "sum": 0}])
    assert _post(client, token, "receipts/commit", too_much, 400)["code"] == "VALIDATION_ERROR"

    # a document re-posted keeps the electronic certificate's code the customer was sent
    electronic = {"line": 1, "goods": goods, "qty": 1, "price": 2000, "sum": 2000}
    first = _post(client, token, "receipts/commit", receipt("5", lines=[electronic, GOODS[0] | {
        "line": 2}]))  # fmt: skip
    issued = first["certificates"]["sold"][0]["code"]
    replaced = _post(client, token, f"transactions/{first['transaction_id']}/replace",
                     receipt("5", lines=[electronic]))  # fmt: skip
    assert replaced["certificates"]["sold"][0]["code"] == issued
    assert _state(session, issued) == ("sold", 200_000)
