from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.cards.models import Card
from processing.ledger.service import PostingKind, credit
from processing.programs.service import add_version, get_program
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt


def _identify(client: FlaskClient, world: World, **body: object) -> tuple[int, dict[str, object]]:
    response = client.post("/api/v1/identify", json=body, headers=world.auth)
    return response.status_code, response.get_json()


def test_identify_by_card_number(client: FlaskClient, world: World) -> None:
    status, body = _identify(client, world, card_number=world.card)
    assert status == 200
    assert body["card_status"] == "active" and body["card_status_title"] == "Активна"
    assert body["customer_name"] == "Иван П."
    # The customer's id opens the customer calls (history of the card's owner, card issue).
    assert body["customer_id"] == world.customer_id
    history = client.get(f"/api/v1/customers/{body['customer_id']}/purchases", headers=world.auth)
    assert history.status_code == 200
    assert body["balance"] == {"total": 1000.0, "active": 1000.0, "pending": 0.0}
    level = body["level"]
    assert level["code"] == "base" and level["next_code"] == "silver"  # type: ignore[index]
    assert Decimal(str(level["needed"])) == Decimal("10000")  # type: ignore[index]
    assert body["write_off_allowed"] is True
    assert body["questionnaire"] == {"filled": True, "missing": []}


def test_identify_by_track_nfc_and_spaced_number(client: FlaskClient, world: World) -> None:
    for body in (
        {"card_track": f";{world.card}=49121010000000000000?"},
        {"card_track": f"%B{world.card}^PETROV/IVAN^4912?"},
        {"card_nfc": f"\x02en{world.card}"},
        {"card_number": f"{world.card[:4]} {world.card[4:8]} {world.card[8:]}"},
    ):
        status, found = _identify(client, world, **body)
        assert status == 200, (body, found)
        assert found["card_number"] == world.card


def test_identify_by_phone_uses_virtual_card_without_write_off(
    client: FlaskClient, world: World, session: Session
) -> None:
    cards_before = session.scalar(select(func.count()).select_from(Card))
    status, body = _identify(client, world, phone="8 (916) 123-45-67")
    assert status == 200
    # A read creates nothing: the virtual card is made by the first committed receipt.
    assert body["card_number"] is None and body["customer_name"] == "Иван П."
    assert session.scalar(select(func.count()).select_from(Card)) == cards_before
    assert body["balance"]["active"] == 1000.0  # type: ignore[index]
    assert body["write_off_allowed"] is False
    assert "телефону" in str(body["write_off_refusal"])
    committed = client.post(
        "/api/v1/receipts/commit", json=receipt("p-1", phone="+79161234567"), headers=world.auth
    )
    assert committed.status_code == 200, committed.get_json()
    status, body = _identify(client, world, phone="+7 916 123 45 67")
    assert str(body["card_number"]).startswith("99")


def test_expiring_bonus_within_days(client: FlaskClient, world: World, session: Session) -> None:
    now = datetime.now(UTC)
    credit(session, world.account_id, Decimal("12.50"), PostingKind.ACCRUAL, now=now,
           expires_at=now + timedelta(days=5))  # fmt: skip
    session.flush()
    assert _identify(client, world, card_number=world.card)[1]["expiring"] == {
        "sum": 12.5, "days": 30,
    }  # fmt: skip
    assert _identify(client, world, card_number=world.card, expiring_days=3)[1]["expiring"] == {
        "sum": 0.0, "days": 3,
    }  # fmt: skip


def test_identify_errors(client: FlaskClient, world: World) -> None:
    assert _identify(client, world, card_number="0000000000000") == (
        404,
        {"code": "CARD_NOT_FOUND", "message": "Карта не найдена.",
         "details": {"number": "0000000000000"}},
    )  # fmt: skip
    status, body = _identify(client, world, phone="12345")
    assert (status, body["code"]) == (400, "INVALID_PHONE")
    status, body = _identify(client, world)
    assert (status, body["code"]) == (400, "VALIDATION_ERROR")
    status, body = _identify(client, world, card_track="garbage")
    assert (status, body["code"]) == (400, "VALIDATION_ERROR")


def test_identify_needs_a_valid_token(client: FlaskClient, world: World) -> None:
    response = client.post("/api/v1/identify", json={"card_number": world.card})
    assert response.status_code == 401
    assert response.get_json()["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.post(
        "/api/v1/identify",
        json={"card_number": world.card},
        headers={"Authorization": "Bearer nope"},
    )
    assert response.status_code == 401


def test_other_tenant_sees_not_found(client: FlaskClient, world: World, other: World) -> None:
    status, body = _identify(client, other, card_number=world.card)
    assert (status, body["code"]) == (404, "CARD_NOT_FOUND")
    status, body = _identify(client, other, phone="+79161234567")
    assert status == 200 and body["card_number"] != world.card  # its own customer


def test_below_the_first_level_the_next_level_and_the_amount_needed_are_answered(
    client: FlaskClient, world: World, session: Session
) -> None:
    program = get_program(session, session.get_one(Tenant, world.tenant_id), "levels")
    rules = {
        "basis": "sum", "window": {"kind": "rolling_days", "days": 365},
        "levels": [{"code": "silver", "name": "Серебряный", "threshold": "1500",
                    "discount_percent": "3"}],
    }  # fmt: skip
    add_version(session, program, rules, datetime.now(UTC) - timedelta(days=1))
    session.flush()
    response = client.post("/api/v1/identify", json={"card_number": world.card}, headers=world.auth)
    assert response.get_json()["level"] == {
        "code": None, "name": None, "discount_percent": 0, "manual": False,
        "next_code": "silver", "next_name": "Серебряный", "needed": 1500,
    }  # fmt: skip
    assert '"needed":1500.00' in response.get_data(as_text=True)  # money: always two decimals
