"""Soft calculation and fiscal commit through the HTTP API."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.cards.models import Card
from processing.customers.models import Customer
from processing.ledger.models import Posting
from processing.ledger.service import balance, correct
from processing.levels.service import record_purchase, set_override
from processing.programs.rules import parse_level_rules
from processing.receipts.models import Receipt, SoftCalculation
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt
from tests.factories import LEVEL_RULES, T0

D = Decimal


def _post(client: FlaskClient, world: World, path: str, body: Any) -> tuple[int, Any]:
    response = client.post(f"/api/v1/{path}", json=body, headers=world.auth)
    return response.status_code, response.get_json()


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _balance(session: Session, world: World) -> Decimal:
    return balance(session, world.account_id, T0).total


def test_calculate_returns_lines_and_changes_no_balance(
    client: FlaskClient, world: World, session: Session
) -> None:
    status, body = _post(
        client, world, "receipts/calculate",
        receipt(card_number=world.card, pay_bonus=100),
    )  # fmt: skip
    assert status == 200, body
    assert body["calculation_id"] and body["card_number"] == world.card
    assert body["totals"] == {
        "sum": D("639.25"), "discount": 0, "bonus_payment": 100, "final_sum": D("539.25"),
        "accrual": D("10.78"),
    }  # fmt: skip
    assert body["max_bonus_payment"] == D("229.63")
    line1 = body["lines"][0]
    assert (line1["bonus_payment"], line1["final_sum"], line1["accrual"]) == (
        D("65.32"), D("234.68"), D("7.04"),
    )  # fmt: skip
    assert line1["parts"] == [
        {"qty": 1, "price": D("78.22"), "sum": D("78.22")},
        {"qty": 2, "price": D("78.23"), "sum": D("156.46")},
    ]
    assert body["lines"][2]["bonus_payment"] == 0  # no-discount line
    assert _balance(session, world) == D("1000.00")
    assert _count(session, Receipt) == 0 and _count(session, SoftCalculation) == 1


def test_commit_posts_write_off_and_accrual_once(
    client: FlaskClient, world: World, session: Session
) -> None:
    body = receipt(card_number=world.card, pay_bonus=100, transaction_id="pos1-1")
    status, first = _post(client, world, "receipts/commit", body)
    assert status == 200, first
    assert first["replay"] is False and first["totals"]["accrual"] == D("10.78")
    assert _balance(session, world) == D("910.78")
    status, again = _post(client, world, "receipts/commit", body)
    assert status == 200 and again["replay"] is True
    assert {k: v for k, v in again.items() if k != "replay"} == {
        k: v for k, v in first.items() if k != "replay"
    }
    assert _balance(session, world) == D("910.78")
    kinds = session.scalars(
        select(Posting.kind).where(Posting.account_id == world.account_id).order_by(Posting.id)
    ).all()
    assert kinds == ["opening_balance", "write_off", "accrual"]


def test_same_identity_with_another_body_is_a_conflict(
    client: FlaskClient, world: World, session: Session
) -> None:
    assert _post(client, world, "receipts/commit", receipt(card_number=world.card))[0] == 200
    status, body = _post(client, world, "receipts/commit", receipt(card_number=world.card,
                                                                   pay_bonus=5))  # fmt: skip
    assert (status, body["code"]) == (409, "RECEIPT_CONFLICT")
    # The client transaction id identifies a receipt too.
    _post(client, world, "receipts/commit", receipt("2", transaction_id="t-9"))
    status, body = _post(client, world, "receipts/commit", receipt("3", transaction_id="t-9"))
    assert (status, body["code"]) == (409, "RECEIPT_CONFLICT")
    assert _count(session, Receipt) == 2


def test_commit_uses_the_stored_soft_result_when_lines_match(
    client: FlaskClient, world: World, session: Session
) -> None:
    _, calc = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    soft = session.get(SoftCalculation, calc["calculation_id"])
    assert soft is not None
    promised = json.loads(json.dumps(soft.result))
    promised["engine"]["lines"][0]["accrual"] = "9.99"  # what was promised is what posts
    promised["engine"]["accrual"] = str(D(promised["engine"]["accrual"]) + D("0.99"))
    soft.result = promised
    session.flush()
    body = receipt(card_number=world.card, calculation_id=calc["calculation_id"])
    _, committed = _post(client, world, "receipts/commit", body)
    assert committed["lines"][0]["accrual"] == D("9.99")
    # Different lines: the soft result is not used, the receipt is recomputed.
    changed = receipt("2", card_number=world.card, calculation_id=calc["calculation_id"])
    changed["lines"] = changed["lines"][:1]
    _, recomputed = _post(client, world, "receipts/commit", changed)
    assert recomputed["lines"][0]["accrual"] == 9


def test_printed_sums_are_checked_with_tolerance(
    client: FlaskClient, world: World, session: Session
) -> None:
    body = receipt(card_number=world.card, pay_bonus=100)
    body["lines"][0]["final_sum"] = 234.69  # ours: 234.68, tolerance 0.01
    assert _post(client, world, "receipts/commit", body)[0] == 200
    bad = receipt("2", card_number=world.card, pay_bonus=100)
    bad["lines"][0]["final_sum"] = 234.70
    status, error = _post(client, world, "receipts/commit", bad)
    assert (status, error["code"]) == (422, "RECEIPT_SUMS_MISMATCH")
    assert error["details"]["lines"] == {"1": {"pos": "234.70", "ours": "234.68"}}
    assert _count(session, Receipt) == 1


def test_bonus_payment_refusals(client: FlaskClient, world: World, session: Session) -> None:
    status, error = _post(client, world, "receipts/commit",
                          receipt(card_number=world.card, pay_bonus=300))  # fmt: skip
    # The program's 50% cap, not the balance, limits this one.
    assert (status, error["code"]) == (422, "BONUS_PAYMENT_CAP_EXCEEDED")
    assert error["details"] == {
        "available": "229.63",
        "requested": "300.00",
        "limit": "program_cap",
    }
    assert "229.63" in error["message"] and "Недостаточно" not in error["message"]
    correct(session, world.account_id, D("-900.00"), reason="t", author="t", now=T0)
    status, error = _post(client, world, "receipts/commit",
                          receipt("1b", card_number=world.card, pay_bonus=150))  # fmt: skip
    assert (status, error["code"]) == (422, "NOT_ENOUGH_BONUS")
    assert error["details"] == {"available": "100.00", "requested": "150.00"}
    correct(session, world.account_id, D("900.00"), reason="t", author="t", now=T0)
    status, error = _post(client, world, "receipts/commit",
                          receipt("2", phone="+79161234567", pay_bonus=10))  # fmt: skip
    assert (status, error["code"]) == (422, "WRITE_OFF_NOT_ALLOWED")
    status, ok = _post(client, world, "receipts/commit", receipt("3", phone="+79161234567"))
    assert status == 200 and ok["totals"]["accrual"] == D("13.78")  # accrual by phone only
    assert _balance(session, world) == D("1013.78")


def test_blocked_card_is_refused(client: FlaskClient, world: World, session: Session) -> None:
    session.scalars(select(Card).where(Card.number == world.card)).one().status = "blocked"
    session.flush()
    status, error = _post(client, world, "receipts/commit", receipt(card_number=world.card))
    assert (status, error["code"]) == (422, "CARD_BLOCKED")
    assert _count(session, Receipt) == 0


def test_pre_printed_card_activates_on_first_commit(
    client: FlaskClient, world: World, session: Session
) -> None:
    blank = world.blank[0]
    status, body = _post(client, world, "receipts/commit", receipt(card_number=blank))
    assert status == 200 and body["totals"]["accrual"] == D("13.78")
    card = session.scalars(select(Card).where(Card.number == blank)).one()
    assert card.status == "active" and card.customer_id is None


def test_a_pre_printed_cards_first_calculate_says_what_its_commit_gives(
    client: FlaskClient, world: World, session: Session
) -> None:
    """The account opens on the first commit, at the entry level: calculate says so before."""
    blank = world.blank[0]
    status, soft = _post(client, world, "receipts/calculate", receipt(card_number=blank))
    assert status == 200, soft
    status, body = _post(client, world, "receipts/commit", receipt(card_number=blank))
    assert status == 200, body
    assert soft["level"]["code"] == body["level"] == "base"  # the commit names its code
    assert soft["totals"] == body["totals"]


def test_anonymous_receipt_and_visit_are_registered(
    client: FlaskClient, world: World, session: Session
) -> None:
    status, body = _post(client, world, "receipts/commit", receipt())
    assert status == 200 and body["totals"]["accrual"] == 0
    assert body["totals"]["sum"] == D("639.25")
    visit_body = {"cashier": "c-01", "number": "v-1", "card_number": world.card}
    status, visit = _post(client, world, "visits", visit_body)
    assert status == 200 and visit["kind"] == "visit" and visit["lines"] == []
    assert _post(client, world, "visits", visit_body)[1]["replay"] is True
    kinds = session.scalars(select(Receipt.kind).order_by(Receipt.id)).all()
    assert kinds == ["sale", "visit"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"certificates": ["S-1"]}, "VALIDATION_ERROR"),
        ({"certificates": [{"sum": 10}]}, "VALIDATION_ERROR"),
        ({"pos": "p9"}, "POS_MISMATCH"),
        ({"currency": "USD"}, "VALIDATION_ERROR"),
        ({"lines": []}, "VALIDATION_ERROR"),
        ({"cashier": None}, "VALIDATION_ERROR"),
        ({"pay_bonus": -1}, "VALIDATION_ERROR"),
        ({"pay_bonus": 1.005}, "VALIDATION_ERROR"),
        ({"sold_at": "вчера"}, "VALIDATION_ERROR"),
        ({"lines": [{"goods": "g", "qty": -1, "price": 1, "sum": 1}]}, "VALIDATION_ERROR"),
        ({"lines": [{"goods": "g", "qty": 1.0001, "price": 1, "sum": 1}]}, "VALIDATION_ERROR"),
        ({"lines": [{"goods": "g", "qty": 10**9, "price": 1, "sum": 1}]}, "VALIDATION_ERROR"),
        ({"lines": [{"goods": "g", "qty": 1, "price": 1, "sum": 10**12}]}, "VALIDATION_ERROR"),
        # Beyond decimal's 28 digits: refused, not a crash.
        ({"pay_bonus": 10**40}, "VALIDATION_ERROR"),
        ({"lines": [{"goods": "g", "qty": 1, "price": 10**30 + 0.5, "sum": 1}]},
         "VALIDATION_ERROR"),
        ({"lines": [{"goods": "g", "qty": 1, "price": 1, "sum": "x"}]}, "VALIDATION_ERROR"),
        ({"lines": [{"line": 1, "goods": "g", "qty": 1, "price": 1, "sum": 1},
                    {"line": 1, "goods": "h", "qty": 1, "price": 1, "sum": 1}]},
         "VALIDATION_ERROR"),
    ],
)  # fmt: skip
def test_bad_receipts_are_refused_and_write_nothing(
    client: FlaskClient, world: World, session: Session, change: dict[str, Any], code: str
) -> None:
    body = {**receipt(card_number=world.card, pay_bonus=10), **change}
    for path in ("receipts/calculate", "receipts/commit"):
        status, error = _post(client, world, path, body)
        assert error["code"] == code, (path, error)
        assert status in (400, 422)
    assert _count(session, Receipt) == 0 and _count(session, SoftCalculation) == 0
    assert _balance(session, world) == D("1000.00")


def test_malformed_json_writes_nothing(client: FlaskClient, world: World, session: Session) -> None:
    response = client.post(
        "/api/v1/receipts/commit", data=b'{"cashier": "c', headers=world.auth,
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400 and response.get_json()["code"] == "MALFORMED_JSON"
    assert _count(session, Receipt) == 0


def test_one_c_sends_bom_and_local_time(
    client: FlaskClient, world: World, session: Session
) -> None:
    import json

    data = "\ufeff" + json.dumps(receipt(card_number=world.card, sold_at="2026-05-01T23:30:00"))
    response = client.post(
        "/api/v1/receipts/commit", data=data.encode("utf-8"), headers=world.auth,
        content_type="application/json; charset=utf-8",
    )  # fmt: skip
    assert response.status_code == 200, response.get_json()
    stored = session.scalars(select(Receipt)).one()
    assert stored.sold_at.isoformat() == "2026-05-01T20:30:00+00:00"  # Moscow is UTC+3
    assert stored.local_date.isoformat() == "2026-05-01"


def test_phone_switches_allow_write_off_and_level_discount(
    client: FlaskClient, world: World, session: Session
) -> None:
    set_override(session, world.account_id, "silver", rules=parse_level_rules(LEVEL_RULES),
                 reason="тест", author="t", now=T0)  # fmt: skip
    by_phone = receipt("p-1", phone="+79161234567", pay_bonus=10)
    status, error = _post(client, world, "receipts/calculate", by_phone)
    assert status == 200 and error["totals"]["discount"] == 0
    assert error["totals"]["bonus_payment"] == 0 and error["write_off_refusal"]
    tenant = session.get_one(Tenant, world.tenant_id)
    tenant.phone_write_off = True
    tenant.phone_level_discount = True
    session.flush()
    status, body = _post(client, world, "receipts/commit", by_phone)
    assert status == 200, body
    assert body["totals"]["bonus_payment"] == 10 and body["totals"]["discount"] == D("22.96")
    assert body["level"] == "silver"


def test_a_cashier_first_seen_in_a_refused_receipt_works_next_time(
    client: FlaskClient, world: World
) -> None:
    refused = receipt("n-1", cashier="c-new", card_number=world.card, pay_bonus=900)
    assert _post(client, world, "receipts/commit", refused)[0] == 422
    status, body = _post(client, world, "receipts/commit",
                         receipt("n-2", cashier="c-new", card_number=world.card))  # fmt: skip
    assert status == 200, body
    status, body = _post(client, world, "receipts/commit",
                         receipt("n-3", cashier="c-new", card_number=world.card))  # fmt: skip
    assert status == 200, body


@pytest.mark.parametrize("policy", ["nothing", "accrual_only"])
def test_the_questionnaire_policy_withholds_bonus_only_and_says_why(
    client: FlaskClient, world: World, session: Session, policy: str
) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    tenant.questionnaire_policy = policy
    customer = session.scalars(select(Card).where(Card.number == world.card)).one().customer_id
    session.get_one(Customer, customer).processing_consent = False  # questionnaire unfilled
    session.flush()
    lines = [{"line": 1, "goods": "g", "qty": 1, "price": 1000, "sum": 1000}]
    # 10,000.00 in the window: silver (5% discount, 5% accrual).
    record_purchase(session, world.account_id, T0.date(), D("10000.00"), 1)
    session.flush()
    body = receipt("q-1", card_number=world.card, lines=lines)
    status, soft = _post(client, world, "receipts/calculate", body)
    assert status == 200 and soft["totals"]["discount"] == 50  # the level discount stays
    status, sale = _post(client, world, "receipts/commit", body)
    assert status == 200 and sale["totals"]["discount"] == 50
    if policy == "accrual_only":
        assert sale["totals"]["accrual"] == D("47.50")
        return
    assert soft["totals"]["accrual"] == 0 and sale["totals"]["accrual"] == 0
    reason = "Бонусы не начисляются: анкета покупателя не заполнена."
    assert reason in soft["cashier_messages"]
    for answer in (soft, sale):
        [withheld] = [e for e in answer["lines"][0]["explanation"]
                      if e["rule"] == "bonus_accrual_withheld"]  # fmt: skip
        assert (withheld["amount"], withheld["text"]) == (D("47.50"), reason)
