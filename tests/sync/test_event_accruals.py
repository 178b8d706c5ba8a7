"""Bonus outside receipts: the welcome bonus (on registration or once the questionnaire is
filled), the birthday bonus (a daily job, once a year) and mass accruals to a segment (now or
scheduled, cancellable before they start). Each is credited once per customer and event, as a
lot of its own with its own dates, and shows in the balance the POS reads."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.accruals.birthday import birthdays_in_window
from processing.ledger.models import BonusLot, Posting
from processing.tenants.models import Tenant
from sync.jobs import birthday_bonuses, run_mass_accrual, start_due_mass_accruals, welcome_bonus
from tests.admin.conftest import admin_headers, call
from tests.connector.onec_http.world import BONUS, World

D = Decimal
MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture
def admin(session: Session, world: World) -> dict[str, str]:
    return admin_headers(session, world)


def _bonus_rules(client: FlaskClient, admin: dict[str, str], **events: Any) -> None:
    """A new version of the world's bonus program, in force from an hour ago, with events."""
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    body = {"rules": {**BONUS, **events}, "effective_from": since}
    status, answer = call(client, admin, "POST", "programs/bonus/versions", body)
    assert status == 201, answer


def _register(client: FlaskClient, world: World, phone: str, **fields: Any) -> int:
    body = {"source": "pos", "first_name": "Анна", "phone": phone,
            "consents": {"processing": True}, **fields}  # fmt: skip
    response = client.post("/api/v1/customers", json=body, headers=world.auth)
    assert response.status_code == 201, response.get_json()
    customer_id: int = response.get_json()["id"]
    return customer_id


def _customer(client: FlaskClient, world: World, customer_id: int) -> Any:
    return client.get(f"/api/v1/customers/{customer_id}", headers=world.auth).get_json()


def _event_postings(session: Session, operation: str | None = None) -> list[Posting]:
    stmt = select(Posting).where(Posting.kind == "event").order_by(Posting.id)
    if operation is not None:
        stmt = stmt.where(Posting.operation == operation)
    return list(session.scalars(stmt))


def _lot(session: Session, posting: Posting) -> BonusLot:
    return session.scalars(select(BonusLot).where(BonusLot.posting_id == posting.id)).one()


def test_welcome_bonus_on_registration_once_with_its_own_lot_dates(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str]
) -> None:
    _bonus_rules(client, admin, welcome={"amount": "300.00", "activation_delay_days": 1,
                                         "lifetime_days": 30})  # fmt: skip
    anna = _register(client, world, "+79160000001")
    [posting] = _event_postings(session)
    assert (posting.amount, posting.operation, posting.reason) == (
        D("300.00"), "event:welcome", "Приветственные бонусы",
    )  # fmt: skip
    lot = _lot(session, posting)
    assert lot.activates_at == posting.created_at + timedelta(days=1)
    assert lot.expires_at == lot.activates_at + timedelta(days=30)
    assert _customer(client, world, anna)["balance"] == {
        "total": 300.0, "active": 0.0, "pending": 300.0,
    }  # fmt: skip
    # The job run again (a retry, a second enqueue) credits nothing more.
    assert welcome_bonus(anna, "registration") is False
    assert welcome_bonus(anna, "questionnaire") is False
    assert len(_event_postings(session)) == 1
    # Without the processing consent nothing is credited, not even when it is given later: the
    # welcome is for the registration.
    olga = _register(client, world, "+79160000002", consents={"processing": False})
    response = client.patch(f"/api/v1/customers/{olga}", headers=world.auth,
                            json={"source": "pos", "consents": {"processing": True}})  # fmt: skip
    assert response.status_code == 200
    assert _customer(client, world, olga)["balance"]["total"] == 0.0
    assert len(_event_postings(session)) == 1


def test_welcome_bonus_once_the_questionnaire_is_filled(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str]
) -> None:
    body = {"policy": "accrual_only", "required": ["birth_date"]}
    assert call(client, admin, "PUT", "questionnaire", body)[0] == 200
    _bonus_rules(client, admin, welcome={"amount": "100.00", "on": "questionnaire"})
    anna = _register(client, world, "+79160000001")
    assert _event_postings(session) == []
    for email in ("a@example.ru", "b@example.ru"):
        response = client.patch(f"/api/v1/customers/{anna}", headers=world.auth,
                                json={"source": "pos", "email": email})  # fmt: skip
        assert response.status_code == 200
    assert _event_postings(session) == []  # still no birth date
    for birth_date in ("1990-02-03", "1990-02-04"):
        response = client.patch(f"/api/v1/customers/{anna}", headers=world.auth,
                                json={"source": "pos", "birth_date": birth_date})  # fmt: skip
        assert response.status_code == 200
    [posting] = _event_postings(session)
    assert (posting.amount, posting.operation) == (D("100.00"), "event:welcome")
    assert _lot(session, posting).expires_at is None  # no lifetime: never expires
    assert _customer(client, world, anna)["balance"]["active"] == 100.0


def _birthday(today: date, days_ahead: int) -> str:
    day = today + timedelta(days=days_ahead)
    return day.replace(year=1992).isoformat()  # a leap year: 29 February exists


def test_birthday_bonus_once_a_year_in_the_window(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str]
) -> None:
    birthday = {"amount": "500.00", "days_before": 3, "lifetime_days": 14,
                "timezone": "Europe/Moscow"}  # fmt: skip
    _bonus_rules(client, admin, birthday=birthday)
    now = datetime.now(UTC)
    today = now.astimezone(MOSCOW).date()
    anna = _register(client, world, "+79160000001", birth_date=_birthday(today, 2))
    _register(client, world, "+79160000002", birth_date=_birthday(today, 10))  # later
    _register(client, world, "+79160000003", birth_date=_birthday(today, 1),
              consents={"processing": False})  # fmt: skip
    assert birthday_bonuses("birthday-bonuses-1", now=now) == 1
    assert birthday_bonuses("birthday-bonuses-1", now=now) == 0  # the same run
    assert birthday_bonuses("birthday-bonuses-2", now=now + timedelta(days=1)) == 0  # next day
    year = (today + timedelta(days=2)).year
    [posting] = _event_postings(session)
    assert (posting.amount, posting.operation, posting.reason) == (
        D("500.00"), f"event:birthday:{year}", "Бонусы ко дню рождения",
    )  # fmt: skip
    assert _lot(session, posting).expires_at == posting.created_at + timedelta(days=14)
    assert _customer(client, world, anna)["balance"]["active"] == 500.0
    # A year later: the next birthday's bonus.
    assert birthday_bonuses("birthday-bonuses-3", now=now + timedelta(days=365)) == 1
    assert [p.operation for p in _event_postings(session)] == [
        f"event:birthday:{year}", f"event:birthday:{year + 1}",
    ]  # fmt: skip


def test_the_birthday_window_crosses_the_new_year_and_keeps_29_february() -> None:
    assert birthdays_in_window(date(2026, 12, 30), 3) == {2026: {1230, 1231}, 2027: {101, 102}}
    assert birthdays_in_window(date(2027, 2, 27), 1) == {2027: {227, 228, 229}}
    assert birthdays_in_window(date(2028, 2, 28), 0) == {2028: {228}}


def _segment(client: FlaskClient, admin: dict[str, str], members: list[int]) -> None:
    assert call(client, admin, "POST", "segments", {"code": "vip", "name": "VIP"})[0] == 201
    status, answer = call(client, admin, "POST", "segments/vip/members", {"add": members})
    assert (status, answer["members"]) == (200, len(members))


def _identify(client: FlaskClient, world: World, card: str) -> Any:
    response = client.post("/api/v1/identify", json={"card_number": card}, headers=world.auth)
    return response.get_json()["balance"]


def test_mass_accrual_credits_each_member_once(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str]
) -> None:
    anna = _register(client, world, "+79160000001", card_number=world.blank[0])
    olga = _register(client, world, "+79160000002", consents={"processing": False})
    _segment(client, admin, [world.customer_id, anna, olga])
    body = {"segment": "VIP", "name": "Подарок постоянным", "amount": 150,
            "activation_delay_days": 2, "lifetime_days": 10}  # fmt: skip
    status, created = call(client, admin, "POST", "mass-accruals", body)
    assert (status, created["status"], created["segment"]) == (201, "scheduled", "vip"), created
    assert created["author"] == "admin-token:Администратор"
    # Due now: the job ran once the request was committed.
    status, found = call(client, admin, "GET", f"mass-accruals/{created['id']}")
    assert (status, found["status"], found["status_title"]) == (200, "done", "выполнено")
    assert (found["members"], found["credited"], found["skipped"]) == (3, 2, 1)
    postings = _event_postings(session, f"event:mass:{created['id']}")
    assert [(p.amount, p.reason) for p in postings] == [(D("150.00"), "Подарок постоянным")] * 2
    lot = _lot(session, postings[0])
    assert lot.activates_at == postings[0].created_at + timedelta(days=2)
    assert lot.expires_at == lot.activates_at + timedelta(days=10)
    assert _identify(client, world, world.card) == {
        "total": 1150.0, "active": 1000.0, "pending": 150.0,
    }  # fmt: skip
    assert _identify(client, world, world.blank[0])["pending"] == 150.0
    # Run again, and once more by the periodic job: nobody is credited twice.
    assert run_mass_accrual(created["id"]) is False
    assert start_due_mass_accruals("mass-accruals-1") == 0
    assert len(_event_postings(session, f"event:mass:{created['id']}")) == 2
    status, listed = call(client, admin, "GET", "mass-accruals")
    assert [item["id"] for item in listed["mass_accruals"]] == [created["id"]]
    status, answer = call(client, admin, "POST", f"mass-accruals/{created['id']}/cancel")
    assert (status, answer["code"]) == (409, "MASS_ACCRUAL_STARTED")


def test_scheduled_mass_accrual_runs_when_due_or_is_cancelled(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str]
) -> None:
    _segment(client, admin, [world.customer_id])
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="seconds")
    body = {"segment": "vip", "name": "Завтра", "amount": "10.00", "run_at": later}
    status, scheduled = call(client, admin, "POST", "mass-accruals", body)
    assert (status, scheduled["status"]) == (201, "scheduled")
    cancel = f"mass-accruals/{scheduled['id']}/cancel"
    status, answer = call(client, admin, "POST", cancel)
    assert (status, answer["status"]) == (200, "cancelled")
    assert answer["cancelled_at"] is not None
    assert call(client, admin, "POST", cancel)[1]["status"] == "cancelled"  # again: no change
    soon = datetime.now(UTC) + timedelta(seconds=1)
    body = {**body, "name": "Скоро", "run_at": soon.isoformat()}
    status, due = call(client, admin, "POST", "mass-accruals", body)
    assert (status, due["status"]) == (201, "scheduled")
    time.sleep(max((soon - datetime.now(UTC)).total_seconds(), 0) + 0.1)
    # The periodic job starts what is due (not the cancelled one); the job runs inline.
    assert start_due_mass_accruals("mass-accruals-2") == 1
    assert call(client, admin, "GET", f"mass-accruals/{due['id']}")[1]["status"] == "done"
    assert call(client, admin, "GET", f"mass-accruals/{scheduled['id']}")[1]["credited"] == 0
    assert [p.amount for p in _event_postings(session)] == [D("10.00")]


def test_mass_accrual_refusals(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str], other: World
) -> None:
    _segment(client, admin, [world.customer_id])
    good = {"segment": "vip", "name": "Подарок", "amount": 100}
    for change, field in (({"amount": 0}, "amount"), ({"lifetime_days": 0}, "lifetime_days"),
                          ({"name": " "}, "name")):  # fmt: skip
        status, answer = call(client, admin, "POST", "mass-accruals", {**good, **change})
        assert (status, answer["code"], answer["details"]) == (
            400, "VALIDATION_ERROR", {"field": field},
        ), answer  # fmt: skip
        assert answer["message"].endswith(f"(поле {field})") or field == "name", answer
    status, answer = call(client, admin, "POST", "mass-accruals", {**good, "amount": "1.001"})
    assert (status, list(answer["details"]["fields"]["json"])) == (400, ["amount"])
    status, answer = call(client, admin, "POST", "mass-accruals", {**good, "segment": "nope"})
    assert (status, answer["code"]) == (404, "SEGMENT_NOT_FOUND")
    for path in ("mass-accruals/999999", "mass-accruals/999999/cancel"):
        method = "GET" if path.endswith("999") else "POST"
        status, answer = call(client, admin, method, path)
        assert (status, answer["code"]) == (404, "MASS_ACCRUAL_NOT_FOUND")
    tenant = session.get_one(Tenant, world.tenant_id)
    tenant.features = [f for f in tenant.features if f != "bonus"]
    session.flush()
    status, answer = call(client, admin, "POST", "mass-accruals", good)
    assert (status, answer["code"]) == (403, "BONUS_NOT_IN_TARIFF")
    assert _event_postings(session) == []


def test_event_settings_are_validated_with_the_bonus_rules(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    since = "2026-01-01T00:00:00+03:00"
    for events, field in (
        ({"welcome": {"amount": "0"}}, "rules.welcome.amount"),
        ({"welcome": {"amount": "10.005"}}, "rules.welcome.amount"),
        ({"welcome": {"amount": "10", "on": "purchase"}}, "rules.welcome.on"),
        ({"welcome": {"amount": "10", "bonus": 1}}, "rules.welcome.bonus"),
        ({"welcome": "100"}, "rules.welcome"),
        ({"birthday": {"amount": "10", "days_before": 40}}, "rules.birthday.days_before"),
        ({"birthday": {"amount": "10", "timezone": "Moscow"}}, "rules.birthday.timezone"),
        ({"birthday": {"amount": "10", "lifetime_days": 0}}, "rules.birthday.lifetime_days"),
    ):
        body = {"rules": {**BONUS, **events}, "effective_from": since}
        status, answer = call(client, admin, "POST", "programs/bonus/versions", body)
        assert (status, answer["code"], answer["details"]) == (
            400, "INVALID_PROGRAM_RULES", {"field": field},
        ), events  # fmt: skip
