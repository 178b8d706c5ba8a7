"""Customer and card endpoints used by 1C extension modules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from processing.customers.models import Customer
from processing.customers.service import add_questionnaire_field, customer_history
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt

D = Decimal


def _call(client: FlaskClient, world: World, method: str, path: str, body: Any = None) -> Any:
    response = client.open(f"/api/v1/{path}", method=method, json=body, headers=world.auth)
    return response.status_code, response.get_json()


def test_register_with_card_and_consents_then_find_and_update(
    client: FlaskClient, world: World, session: Session
) -> None:
    add_questionnaire_field(session, session.get_one(Tenant, world.tenant_id), "pet", "Питомец",
                            "choice", ["кот", "пёс"])  # fmt: skip
    body = {
        "last_name": "Смирнова", "first_name": "Анна", "phone": "8 903 111-22-33",
        "email": "Anna@Example.ru", "birth_date": "1991-07-15", "gender": "female",
        "extra": {"pet": "кот"}, "consents": {"processing": True, "advertising": True},
        "card_number": world.blank[0], "source": "1c", "author": "Администратор",
    }  # fmt: skip
    status, created = _call(client, world, "POST", "customers", body)
    assert status == 201, created
    assert created["phone"] == "+79031112233" and created["email"] == "anna@example.ru"
    assert created["consents"]["advertising"]["given"] is True
    assert created["consents"]["processing"]["source"] == "1c"
    assert created["cards"] == [
        {"number": world.blank[0], "status": "active", "status_title": "Активна",
         "virtual": False},
    ]  # fmt: skip
    assert created["balance"]["total"] == 0 and created["questionnaire_filled"] is True

    status, found = _call(client, world, "GET", "customers?phone=%2B7%20903%20111%2022%2033")
    assert status == 200 and found["id"] == created["id"]
    status, updated = _call(client, world, "PATCH", f"customers/{created['id']}",
                            {"email": "anna@new.ru", "consents": {"advertising": False},
                             "source": "1c", "author": "Оператор"})  # fmt: skip
    assert status == 200, updated
    assert updated["changed"] == ["email", "consent.advertising"]
    history = customer_history(session, session.get_one(Customer, created["id"]))
    assert (history[-2].field, history[-2].old_value, history[-2].new_value) == (
        "email", "anna@example.ru", "anna@new.ru",
    )  # fmt: skip
    assert history[-1].author == "Оператор"


def test_registration_refusals_write_nothing(
    client: FlaskClient, world: World, session: Session
) -> None:
    status, error = _call(client, world, "POST", "customers", {"phone": "+79161234567"})
    assert (status, error["code"]) == (409, "PHONE_ALREADY_REGISTERED")
    status, error = _call(client, world, "POST", "customers", {"phone": "12"})
    assert (status, error["code"]) == (400, "INVALID_PHONE")
    status, error = _call(client, world, "POST", "customers",
                          {"phone": "+79035550000", "card_number": "2775000000019"})  # fmt: skip
    assert (status, error["code"]) == (400, "CARD_NUMBER_INVALID")
    session.get_one(Tenant, world.tenant_id).max_customers = 1
    session.flush()
    status, error = _call(client, world, "POST", "customers", {"phone": "+79035550001"})
    assert (status, error["code"]) == (422, "CUSTOMER_LIMIT_REACHED")
    assert len(session.query(Customer).all()) == 1
    status, error = _call(client, world, "GET", "customers?phone=%2B79990000000")
    assert (status, error["code"]) == (404, "CUSTOMER_NOT_FOUND")
    status, error = _call(client, world, "GET", "customers/999999")
    assert (status, error["code"]) == (404, "CUSTOMER_NOT_FOUND")


def test_bind_anonymous_card_moves_its_bonus(client: FlaskClient, world: World) -> None:
    anonymous = world.blank[1]
    status, _ = _call(client, world, "POST", "receipts/commit", receipt(card_number=anonymous))
    assert status == 200
    status, bound = _call(client, world, "POST", f"customers/{world.customer_id}/cards",
                          {"card_number": anonymous})  # fmt: skip
    assert status == 200, bound
    assert [c["number"] for c in bound["cards"]] == [world.card, anonymous]
    assert bound["balance"]["total"] == D("1013.78")
    # Binding it again is a no-op; binding it to someone else is refused.
    status, _ = _call(client, world, "POST", f"customers/{world.customer_id}/cards",
                      {"card_number": world.card})  # fmt: skip
    assert status == 200
    _, stranger = _call(client, world, "POST", "customers", {"phone": "+79035550000"})
    status, error = _call(client, world, "POST", f"customers/{stranger['id']}/cards",
                          {"card_number": world.card})  # fmt: skip
    assert (status, error["code"]) == (409, "CARD_ALREADY_PERSONALISED")


def test_replace_block_unblock(client: FlaskClient, world: World) -> None:
    status, new = _call(client, world, "POST", f"cards/{world.card}/replace",
                        {"new_card_number": world.blank[2], "reason": "утеряна"})  # fmt: skip
    assert (status, new["number"], new["status"]) == (200, world.blank[2], "active")
    status, identified = _call(client, world, "POST", "identify", {"card_number": world.blank[2]})
    assert identified["balance"]["total"] == 1000
    status, error = _call(client, world, "POST", "receipts/commit", receipt(card_number=world.card))
    assert (status, error["code"]) == (422, "CARD_NOT_ACTIVE")
    status, blocked = _call(client, world, "POST", f"cards/{world.blank[2]}/block",
                            {"reason": "подозрение на мошенничество"})  # fmt: skip
    assert blocked["status_title"] == "Заблокирована"
    status, error = _call(client, world, "POST", f"cards/{world.blank[2]}/block", {"reason": "x"})
    assert (status, error["code"]) == (422, "CARD_STATUS_TRANSITION_REFUSED")
    status, active = _call(client, world, "POST", f"cards/{world.blank[2]}/unblock",
                           {"reason": "проверено"})  # fmt: skip
    assert active["status"] == "active"
    status, error = _call(client, world, "POST", "cards/0000/block", {"reason": "x"})
    assert (status, error["code"]) == (404, "CARD_NOT_FOUND")


def test_purchase_history_with_line_rewards(client: FlaskClient, world: World) -> None:
    _, sale = _call(client, world, "POST", "receipts/commit",
                    receipt(card_number=world.card, pay_bonus=100))  # fmt: skip
    _call(client, world, "POST", "receipts/return",
          {"cashier": "c", "number": "r1", "original_transaction_id": sale["transaction_id"],
           "lines": [{"line": 1, "qty": 1}]})  # fmt: skip
    status, history = _call(client, world, "GET", f"customers/{world.customer_id}/purchases")
    assert status == 200 and history["total"] == 2
    returned, bought = history["purchases"]
    assert (returned["kind"], bought["kind"]) == ("return", "sale")
    assert bought["lines"][0]["accrual"] == D("7.04") and bought["lines"][0]["returned_qty"] == 1
    assert bought["lines"][0]["explanation"][0]["rule"] == "bonus_payment"
    status, page = _call(client, world, "GET",
                         f"customers/{world.customer_id}/purchases?limit=1&offset=1")  # fmt: skip
    assert [p["kind"] for p in page["purchases"]] == ["sale"]


def test_programs_description(client: FlaskClient, world: World) -> None:
    status, body = _call(client, world, "GET", "programs")
    assert status == 200
    assert {(p["program"], p["kind"], p["applies_here"]) for p in body["programs"]} == {
        ("bonus", "bonus", True), ("levels", "discount_level", True),
    }  # fmt: skip


def test_other_tenant_cannot_reach_customers_or_cards(
    client: FlaskClient, world: World, other: World
) -> None:
    status, error = _call(client, other, "GET", f"customers/{world.customer_id}")
    assert (status, error["code"]) == (404, "CUSTOMER_NOT_FOUND")
    status, error = _call(client, other, "POST", f"cards/{world.card}/block", {"reason": "x"})
    assert (status, error["code"]) == (404, "CARD_NOT_FOUND")
    status, error = _call(client, other, "GET", f"customers/{world.customer_id}/purchases")
    assert status == 404
