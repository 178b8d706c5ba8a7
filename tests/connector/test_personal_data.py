"""152-FZ through the public surface: every customer endpoint logs its access to personal
data, the tenant's administrator reads that log and erases a customer (API and CLI)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connector.cli import main
from processing.customers.access import CUSTOMER_RECORD_FIELDS
from processing.customers.models import Customer, CustomerChange, PersonalDataAccess
from processing.tenants.models import Tenant
from processing.tenants.service import add_admin_token
from tests.connector.onec_http.world import World, receipt, seed_world

PERSON = {
    "last_name": "Вишневская", "first_name": "Снежана", "phone": "8 903 555-01-23",
    "email": "snezhana@example.ru", "consents": {"processing": True}, "source": "1c",
}  # fmt: skip
PERSON_VALUES = ("Вишневская", "Снежана", "9035550123", "snezhana@example.ru")


def _admin_token(session: Session, world: World, name: str = "Поддержка") -> dict[str, str]:
    issued = add_admin_token(session, session.get_one(Tenant, world.tenant_id), name)
    session.flush()
    return {"Authorization": f"Bearer {issued.secret}"}


def _call(
    client: FlaskClient, headers: dict[str, str], method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    response = client.open(f"/api/v1/{path}", method=method, json=body, headers=headers)
    return response.status_code, response.get_json()


def _rows(session: Session) -> list[tuple[int, str, list[str]]]:
    rows = session.scalars(select(PersonalDataAccess).order_by(PersonalDataAccess.id))
    return [(row.customer_id, row.action, row.fields) for row in rows]


def _assert_no_values_logged(session: Session, values: tuple[str, ...]) -> None:
    for row in session.scalars(select(PersonalDataAccess)):
        stored = " ".join(str(getattr(row, c.key)) for c in PersonalDataAccess.__table__.c)
        assert not any(value in stored for value in values), stored


def test_every_customer_endpoint_logs_its_access(
    client: FlaskClient, world: World, session: Session
) -> None:
    me, auth = world.customer_id, world.auth
    response = client.get(f"/api/v1/customers/{me}", headers=auth)
    assert response.status_code == 200
    [row] = session.scalars(select(PersonalDataAccess)).all()
    assert (row.tenant_id, row.customer_id, row.action, row.actor, row.channel) == (
        world.tenant_id, me, "read", "pos:s1/p1", "api",
    )  # fmt: skip
    assert row.fields == list(CUSTOMER_RECORD_FIELDS)
    assert row.request_id == response.headers["X-Request-ID"]

    assert _call(client, auth, "GET", "customers?phone=89161234567")[0] == 200
    status, registered = _call(client, auth, "POST", "customers", PERSON)
    assert status == 201, registered
    new = registered["id"]
    status, carded = _call(client, auth, "POST", "customers",
                           {"phone": "+79035550124", "card_number": world.blank[0]})  # fmt: skip
    assert status == 201, carded
    status, _ = _call(client, auth, "PATCH", f"customers/{new}",
                      {"email": "new@example.ru", "consents": {"advertising": True}})  # fmt: skip
    assert status == 200
    assert _call(client, auth, "PATCH", f"customers/{new}", {"email": "new@example.ru"})[0] == 200
    status, _ = _call(client, auth, "POST", f"customers/{new}/cards",
                      {"card_number": world.blank[1]})  # fmt: skip
    assert status == 200
    assert _call(client, auth, "GET", f"customers/{me}/purchases")[0] == 200
    assert _call(client, auth, "POST", f"cards/{world.card}/block", {"reason": "x"})[0] == 200

    record = list(CUSTOMER_RECORD_FIELDS)
    assert _rows(session) == [
        (me, "read", record),
        (me, "read", record),
        (new, "register", ["last_name", "first_name", "phone", "email", "consent.processing"]),
        (carded["id"], "register", ["phone"]),
        (carded["id"], "card", ["cards"]),
        (new, "update", ["email"]),
        (new, "consent", ["consent.advertising"]),
        (new, "read", record),  # a PATCH that changed nothing still showed the record
        (new, "card", ["cards"]),
        (me, "read", ["purchases"]),
        (me, "card", ["cards"]),
    ]
    _assert_no_values_logged(session, (*PERSON_VALUES, "Иван", "Петров", "9161234567"))


def test_registration_makes_a_virtual_card_unless_a_card_is_bound(
    client: FlaskClient, world: World
) -> None:
    status, body = _call(client, world.auth, "POST", "customers", PERSON)
    assert status == 201, body
    [card] = body["cards"]
    assert card["virtual"] is True and card["status"] == "active"
    status, found = _call(client, world.auth, "POST", "identify", {"phone": "+79035550123"})
    assert status == 200 and found["card_number"] == card["number"]
    status, body = _call(client, world.auth, "POST", "customers",
                         {"phone": "+79035550124", "card_number": world.blank[0]})  # fmt: skip
    assert [(c["number"], c["virtual"]) for c in body["cards"]] == [(world.blank[0], False)]


def test_refused_or_missing_customers_log_nothing(
    client: FlaskClient, world: World, other: World, session: Session
) -> None:
    auth = world.auth
    assert _call(client, auth, "GET", "customers/999999")[0] == 404
    assert _call(client, auth, "GET", "customers?phone=%2B79990000000")[0] == 404
    assert _call(client, auth, "GET", "customers/999999/purchases")[0] == 404
    assert _call(client, auth, "POST", "customers", {"phone": "+79161234567"})[0] == 409
    assert _call(client, auth, "PATCH", f"customers/{world.customer_id}",
                 {"phone": "+7916"})[0] == 400  # fmt: skip
    assert _call(client, other.auth, "GET", f"customers/{world.customer_id}")[0] == 404
    assert _call(client, auth, "POST", f"cards/{world.blank[0]}/block", {"reason": "x"})[0] == 422
    assert _rows(session) == []


def test_admin_reads_the_access_log_of_its_own_tenant(
    client: FlaskClient, world: World, other: World, session: Session
) -> None:
    admin = _admin_token(session, world)
    _call(client, world.auth, "GET", f"customers/{world.customer_id}")
    _call(client, world.auth, "GET", f"customers/{world.customer_id}/purchases")
    _call(client, other.auth, "GET", f"customers/{other.customer_id}")

    status, body = _call(client, admin, "GET", "pd-access-log")
    assert status == 200
    purchases, record = body["entries"]
    assert (purchases["customer_id"], purchases["action"], purchases["fields"]) == (
        world.customer_id, "read", ["purchases"],
    )  # fmt: skip
    assert (record["actor"], record["channel"]) == ("pos:s1/p1", "api")
    assert record["request_id"] and record["at"].endswith("+00:00")
    status, body = _call(client, admin, "GET", "pd-access-log?limit=1&offset=1")
    assert [entry["id"] for entry in body["entries"]] == [record["id"]]
    status, body = _call(client, admin, "GET", f"pd-access-log?customer={other.customer_id}")
    assert (status, body["entries"]) == (200, [])
    status, body = _call(client, admin, "GET", "pd-access-log?since=2999-01-01T00:00:00Z")
    assert (status, body["entries"]) == (200, [])

    status, error = _call(client, {}, "GET", "pd-access-log")
    assert (status, error["code"]) == (401, "UNAUTHORIZED")
    status, error = _call(client, world.auth, "GET", "pd-access-log")  # a POS token is no admin
    assert (status, error["code"]) == (401, "UNAUTHORIZED")
    status, error = _call(client, admin, "GET", "pd-access-log?customer=x")
    assert (status, error["code"]) == (400, "VALIDATION_ERROR")


def test_erasure_needs_confirmation_and_keeps_the_ledger(
    client: FlaskClient, world: World, other: World, session: Session
) -> None:
    admin = _admin_token(session, world)
    me = world.customer_id
    erase = f"admin/customers/{me}/erase"

    for body in (None, {}, {"confirm": me + 1}, {"confirm": True}):
        status, error = _call(client, admin, "POST", erase, body)
        assert (status, error["code"]) == (400, "ERASURE_NOT_CONFIRMED"), body
        assert f"({me})" in error["message"]
    assert _call(client, {}, "POST", erase, {"confirm": me})[0] == 401
    status, error = _call(
        client, admin, "POST", "admin/customers/999999/erase", {"confirm": 999999}
    )
    assert (status, error["code"]) == (404, "CUSTOMER_NOT_FOUND")
    status, error = _call(client, admin, "POST", f"admin/customers/{other.customer_id}/erase",
                          {"confirm": other.customer_id})  # fmt: skip
    assert (status, error["code"]) == (404, "CUSTOMER_NOT_FOUND")
    assert session.get_one(Customer, me).first_name == "Иван"
    assert _rows(session) == []

    status, erased = _call(client, admin, "POST", erase, {"confirm": me})
    assert status == 200, erased
    assert erased["erased_fields"] == ["last_name", "first_name", "phone", "consent.processing"]
    assert erased["history_removed"] == 4 and erased["already_erased"] is False
    assert "удалены" in erased["message"]
    session.expire_all()
    assert (
        session.scalars(select(CustomerChange).where(CustomerChange.customer_id == me)).all() == []
    )

    status, shown = _call(client, world.auth, "GET", f"customers/{me}")
    assert (shown["first_name"], shown["last_name"], shown["phone"]) == (None, None, None)
    assert shown["balance"]["total"] == 1000
    status, identified = _call(client, world.auth, "POST", "identify", {"card_number": world.card})
    assert status == 200
    assert identified["customer_name"] is None and identified["balance"]["total"] == 1000
    assert _call(client, world.auth, "POST", "receipts/commit",
                 receipt(card_number=world.card, sold_at=_now()))[0] == 200  # fmt: skip
    assert _call(client, world.auth, "GET", "customers?phone=89161234567")[0] == 404

    status, again = _call(client, admin, "POST", erase, {"confirm": str(me)})
    assert status == 200
    assert (again["already_erased"], again["erased_fields"], again["erased_at"]) == (
        True, [], erased["erased_at"],
    )  # fmt: skip
    erasures = session.scalars(
        select(PersonalDataAccess).where(PersonalDataAccess.action == "erase")
    ).all()
    assert [(row.actor, row.channel, row.fields) for row in erasures] == [
        (
            "admin-token:Поддержка",
            "api",
            ["last_name", "first_name", "phone", "consent.processing"],
        ),
        ("admin-token:Поддержка", "api", []),
    ]


@pytest.mark.committed
def test_cli_erases_after_confirmation_and_shows_the_log(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    with Session(engine) as session:
        world = seed_world(session)
        session.commit()
    cli, me = CliRunner(), str(world.customer_id)

    declined = cli.invoke(main, ["customer", "erase", "acme", me], input="n\n")
    assert declined.exit_code == 1 and "cannot be undone" in declined.output
    missing = cli.invoke(main, ["customer", "erase", "acme", "999999", "--yes"])
    assert missing.exit_code == 1 and "CUSTOMER_NOT_FOUND" in missing.output
    with Session(engine) as session:
        assert session.get_one(Customer, world.customer_id).first_name == "Иван"
        assert _rows(session) == []

    confirmed = cli.invoke(main, ["customer", "erase", "acme", me], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert f"Customer {me} of acme erased: last_name, first_name, phone" in confirmed.output
    assert "4 change-history rows removed" in confirmed.output
    repeated = cli.invoke(main, ["customer", "erase", "acme", me, "--yes"])
    assert repeated.exit_code == 0 and "already erased" in repeated.output
    with Session(engine) as session:
        stored = session.get_one(Customer, world.customer_id)
        assert (stored.first_name, stored.phone) == (None, None)
        assert stored.anonymised_at is not None
        rows = session.scalars(select(PersonalDataAccess).order_by(PersonalDataAccess.id)).all()
        assert [(row.action, row.actor, row.channel) for row in rows] == [
            ("erase", "cli", "cli"), ("erase", "cli", "cli"),
        ]  # fmt: skip

    shown = cli.invoke(main, ["pd-log", "--tenant", "acme", "--customer", me])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert len(lines) == 2 and all(f"customer {me} erase" in line for line in lines)
    assert "[last_name, first_name, phone, consent.processing]" in lines[1]
    later = cli.invoke(main, ["pd-log", "--tenant", "acme", "--since", "2999-01-01"])
    assert (later.exit_code, later.output) == (0, "")
    unknown = cli.invoke(main, ["pd-log", "--tenant", "nobody"])
    assert unknown.exit_code == 1 and "TENANT_NOT_FOUND" in unknown.output


def _now() -> str:
    """A receipt time the service accepts whatever the day the tests run on."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
