"""Stamps ("every 6th coffee free") and bonus conversion through the POS API: the counter on
the card across receipts, identify's hints, a stale soft result, returns and rollbacks; points
spent at a rate in multiples of a step, written off and given back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.ledger.models import Account
from processing.programs.service import add_program, add_version
from processing.promotions.stamps import StampCounter
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt
from tests.factories import T0

D = Decimal
SINCE = T0.replace(year=2026, month=1, day=1)
STAMPS = {
    "text": "Шестой кофе в подарок",
    "receipt": {"goods": {"goods": ["coffee"]}},
    "reward": {"kind": "stamps", "every": 6},
}


def _promotion(session: Session, world: World, code: str, rules: dict[str, Any]) -> None:
    tenant = session.get(Tenant, world.tenant_id)
    assert tenant is not None
    add_version(session, add_program(session, tenant, "promotion", code, code), rules, SINCE)
    session.flush()


def _coffee(number: str, cups: int, card: str, **extra: Any) -> dict[str, Any]:
    return {
        "cashier": "c-01", "shift": "9", "number": number, "sold_at": "2026-05-01T09:00:00",
        "card_number": card,
        "lines": [
            {"line": 1, "goods": "coffee", "qty": cups, "price": 150, "sum": 150 * cups},
            {"line": 2, "goods": "cake", "qty": 1, "price": 90, "sum": 90},
        ],
        **extra,
    }  # fmt: skip


def _post(client: FlaskClient, world: World, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body, headers=world.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _stamps(session: Session, world: World) -> int:
    session.expire_all()
    found = session.scalar(
        select(StampCounter.stamps).where(StampCounter.account_id == world.account_id)
    )
    return found or 0


def test_every_sixth_coffee_is_free_across_receipts(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "cup", STAMPS)
    for i in range(5):  # five receipts of one cup: five stamps, no discount
        soft = _post(client, world, "/api/v1/receipts/calculate", _coffee(f"s{i}", 1, world.card))
        assert soft["totals"]["discount"] == 0
        assert soft["stamps"] == [
            {"promotion": "cup", "every": 6, "before": i, "added": 1, "free": 0, "after": i + 1}
        ]
        committed = _post(client, world, "/api/v1/receipts/commit",
                          {**_coffee(f"s{i}", 1, world.card),
                           "calculation_id": soft["calculation_id"]})  # fmt: skip
        assert committed["totals"] == soft["totals"]
        assert _stamps(session, world) == i + 1
    # identify tells the cashier: one more cup and the next is free
    found = _post(client, world, "/api/v1/identify", {"card_number": world.card})
    assert found["hints"] == ["Ещё 1 покупка — и следующий товар по акции «Шестой кофе в "
                              "подарок» бесплатно."]  # fmt: skip
    # the sixth cup: free (a part of its own at 0.00), the card starts again
    sixth = _post(client, world, "/api/v1/receipts/commit", _coffee("s5", 1, world.card))
    assert sixth["totals"]["discount"] == D("150.00")
    assert sixth["lines"][0]["parts"] == [{"qty": 1, "price": 0, "sum": 0}]
    assert _stamps(session, world) == 0
    # a rollback of the sixth receipt gives the five stamps back and takes the free cup back
    rolled = client.post(f"/api/v1/transactions/{sixth['transaction_id']}/rollback",
                         headers=world.auth)  # fmt: skip
    assert rolled.status_code == 200, rolled.get_json()
    assert _stamps(session, world) == 5


def test_a_soft_result_counted_on_stamps_another_receipt_used_is_recomputed(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "cup", STAMPS)
    for i in range(5):
        _post(client, world, "/api/v1/receipts/commit", _coffee(f"p{i}", 1, world.card))
    first = _post(client, world, "/api/v1/receipts/calculate", _coffee("a", 1, world.card))
    second = _post(client, world, "/api/v1/receipts/calculate", _coffee("b", 1, world.card))
    assert first["totals"]["discount"] == second["totals"]["discount"] == D("150.00")
    commit = "/api/v1/receipts/commit"
    _post(client, world, commit, {**_coffee("a", 1, world.card), "calculation_id": first["calculation_id"]})  # fmt: skip  # noqa: E501
    late = _post(
        client,
        world,
        commit,
        {**_coffee("b", 1, world.card), "calculation_id": second["calculation_id"]},
    )
    assert late["totals"]["discount"] == 0  # the free cup went to receipt a
    assert _stamps(session, world) == 1


def test_returning_the_free_cup_gives_the_stamps_back_and_a_paid_one_takes_its_stamp(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "cup", STAMPS)
    for i in range(4):
        _post(client, world, "/api/v1/receipts/commit", _coffee(f"r{i}", 1, world.card))
    # 4 stamps + 3 cups: the 6th position (the cheapest unit) is free; 7 − 6 = 1 left
    sale = _post(client, world, "/api/v1/receipts/commit", _coffee("r9", 3, world.card))
    assert sale["totals"]["discount"] == D("150.00")
    assert _stamps(session, world) == 1
    back = _post(client, world, "/api/v1/receipts/return", {
        "cashier": "c-01", "shift": "9", "number": "ret-1", "sold_at": "2026-05-01T10:00:00",
        "original_transaction_id": sale["transaction_id"],
    })  # fmt: skip
    assert back["totals"]["final_sum"] == D("390.00")  # 2 paid cups and the cake
    assert _stamps(session, world) == 4  # as before the receipt


def test_stamps_need_a_card_anonymous_receipts_collect_none(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "cup", STAMPS)
    body = _coffee("anon", 6, world.card)
    del body["card_number"]
    soft = _post(client, world, "/api/v1/receipts/calculate", body)
    assert soft["totals"]["discount"] == 0 and soft["stamps"] == []
    assert soft["promotions"][0]["reason"] == "Нужна карта покупателя."


CONVERSION = {"text": "Баллы ×1,5", "reward": {"kind": "bonus_conversion", "rate": "1.5",
                                                "step": 3}}  # fmt: skip


def _balance(session: Session, world: World) -> Decimal:
    session.expire_all()
    account = session.get(Account, world.account_id)
    assert account is not None
    return account.balance


def test_points_converted_at_a_rate_in_multiples_and_given_back_on_return(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "x15", CONVERSION)
    before = _balance(session, world)  # 1,000.00
    body = _coffee("c1", 2, world.card, pay_bonus="10")
    soft = _post(client, world, "/api/v1/receipts/calculate", body)
    # O10: 10 points asked, 1.50 ₽ a point in multiples of 3: 9 points, 13.50 off
    assert soft["points_spent"] == D("9.00")
    assert soft["totals"]["discount"] == D("13.50")
    assert soft["totals"]["bonus_payment"] == 0
    assert any("списано 9 балл." in m for m in soft["cashier_messages"])
    sale = _post(client, world, "/api/v1/receipts/commit",
                 {**body, "calculation_id": soft["calculation_id"]})  # fmt: skip
    assert sale["totals"] == soft["totals"]
    accrued = sale["totals"]["accrual"]
    assert _balance(session, world) == before - D("9.00") + accrued
    # a rollback gives back exactly the 9 points (and takes the accrual back)
    rolled = client.post(f"/api/v1/transactions/{sale['transaction_id']}/rollback",
                         headers=world.auth)  # fmt: skip
    assert rolled.status_code == 200, rolled.get_json()
    assert _balance(session, world) == before


def test_identify_hints_a_promotion_the_cumulative_purchases_are_close_to(
    client: FlaskClient, world: World, session: Session
) -> None:
    sale = _post(client, world, "/api/v1/receipts/commit", receipt("cum-1", card_number=world.card))
    paid = D(str(sale["totals"]["final_sum"]))
    _promotion(session, world, "vip", {
        "text": "Клуб 800", "customer": {"cumulative": {"min": "800.00"}},
        "reward": {"kind": "percent", "value": "5"},
    })  # fmt: skip
    _promotion(session, world, "far", {
        "text": "Клуб 5000", "customer": {"cumulative": {"min": "5000.00"}},
        "reward": {"kind": "percent", "value": "7"},
    })  # fmt: skip
    found = _post(client, world, "/api/v1/identify", {"card_number": world.card})
    missing = f"{D('800.00') - paid:.2f}".replace(".", ",")
    # within 30% of 800.00: hinted; 5,000.00 is far: not
    assert found["hints"] == [f"Ещё {missing} ₽ покупок — и станет доступна акция «Клуб 800»."]


def test_a_return_gives_back_the_converted_points_of_its_share(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "x15", CONVERSION)
    before = _balance(session, world)
    # 2 cups and a cake (390.00): 30 points asked → 30 spent, 45.00 off spread 300 : 90
    body = _coffee("c2", 2, world.card, pay_bonus="30")
    sale = _post(client, world, "/api/v1/receipts/commit", body)
    assert sale["totals"]["discount"] == D("45.00")
    lines = {line["line"]: line for line in sale["lines"]}
    assert (lines[1]["discount"], lines[2]["discount"]) == (D("34.62"), D("10.38"))
    accrued = sale["totals"]["accrual"]
    assert _balance(session, world) == before - 30 + accrued
    ret = {"cashier": "c-01", "shift": "9", "sold_at": "2026-05-01T10:00:00",
           "original_transaction_id": sale["transaction_id"]}  # fmt: skip
    # the cake: 79.62 of the 345.00 paid → 30 × 79.62 / 345.00 = 6.923… → 6.92 points back
    first = _post(client, world, "/api/v1/receipts/return",
                  {**ret, "number": "r1", "lines": [{"line": 2, "qty": 1}]})  # fmt: skip
    assert first["totals"]["final_sum"] == D("79.62")
    after_first = before - 30 + accrued + D("6.92") - first["totals"]["accrual"]
    assert _balance(session, world) == after_first
    # the rest: every point and every accrued bonus comes back as it was
    _post(client, world, "/api/v1/receipts/return", {**ret, "number": "r2"})
    assert _balance(session, world) == before


def test_a_return_of_converted_units_gives_back_the_points_of_their_discount(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "x15", CONVERSION)
    before = _balance(session, world)
    sale = _post(
        client, world, "/api/v1/receipts/commit", _coffee("c3", 2, world.card, pay_bonus="30")
    )
    assert _balance(session, world) == before - 30 + sale["totals"]["accrual"]
    ret = {"cashier": "c-01", "shift": "9", "sold_at": "2026-05-01T10:00:00",
           "original_transaction_id": sale["transaction_id"]}  # fmt: skip
    # one of the two cups: its discount 34.62 / 2 = 17.31 of the 45.00 the 30 points bought:
    # 30 × 17.31 / 45.00 = 11.54 points back, whatever share of the money it refunds
    first = _post(client, world, "/api/v1/receipts/return",
                  {**ret, "number": "r1", "lines": [{"line": 1, "qty": 1}]})  # fmt: skip
    expected = before - 30 + sale["totals"]["accrual"] + D("11.54") - first["totals"]["accrual"]
    assert _balance(session, world) == expected
    _post(client, world, "/api/v1/receipts/return", {**ret, "number": "r2"})
    assert _balance(session, world) == before


def test_a_partial_return_takes_back_only_what_the_returned_units_earned(
    client: FlaskClient, world: World, session: Session
) -> None:
    """Four coffees (600.00) and a cake (90.00); stamps on coffee, and campaign points of 10%
    of what is paid for coffee (60.00). Returning the cake takes back its own accrual (3% of
    90.00 = 2.70), no stamp and no campaign point; returning one coffee then takes one stamp,
    15.00 of the points (60.00 × 150.00 / 600.00) and its accrual (3% of 150.00 = 4.50)."""
    _promotion(session, world, "cup", STAMPS)
    _promotion(session, world, "beans", {
        "receipt": {"goods": {"goods": ["coffee"]}},
        "reward": {"kind": "extra_bonus", "percent": "10", "lifetime_days": 30},
    })  # fmt: skip
    before = _balance(session, world)
    sale = _post(client, world, "/api/v1/receipts/commit", _coffee("p1", 4, world.card))
    assert sale["totals"]["discount"] == 0 and _stamps(session, world) == 4
    assert _balance(session, world) == before + D("20.70") + D("60.00")  # 3% of 690.00 + 60.00

    def back(number: str, line: int) -> None:
        _post(client, world, "/api/v1/receipts/return", {
            "cashier": "c-01", "shift": "9", "number": number, "sold_at": "2026-05-01T10:00:00",
            "original_transaction_id": sale["transaction_id"],
            "lines": [{"line": line, "qty": 1}],
        })  # fmt: skip

    back("ret-cake", 2)
    assert _stamps(session, world) == 4
    assert _balance(session, world) == before + D("18.00") + D("60.00")
    back("ret-cup", 1)
    assert _stamps(session, world) == 3
    assert _balance(session, world) == before + D("13.50") + D("45.00")


def test_stamps_come_back_the_same_however_the_units_are_returned(
    client: FlaskClient, world: World, session: Session
) -> None:
    """Every 3rd coffee free, 4 coffees on a new count: 4 stamps, one free cup, 1 left. Two
    returns of one cup take back what one return of two takes: round(1 × 2/4) = 1 stamp."""
    _promotion(session, world, "cup3", {**STAMPS, "reward": {"kind": "stamps", "every": 3}})
    sale = _post(client, world, "/api/v1/receipts/commit", _coffee("t1", 4, world.card))
    assert _stamps(session, world) == 1
    for i in range(2):
        _post(client, world, "/api/v1/receipts/return", {
            "cashier": "c-01", "shift": "9", "number": f"rt-{i}", "sold_at": "2026-05-01T10:00:00",
            "original_transaction_id": sale["transaction_id"], "lines": [{"line": 1, "qty": 1}],
        })  # fmt: skip
    assert _stamps(session, world) == 0
