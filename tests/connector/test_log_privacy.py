"""No card number, phone, e-mail or name reaches the service's logs (152-FZ), whatever the
request does: a real flow through the app, with the service's JSON handler on a captured
stream next to an unredacted one that shows the data was there to leak."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.orm import Session

from connector.logs import json_handler, mask_number, redact
from processing.cards import service as cards
from processing.cards.models import Card
from processing.cards.service import add_template, generate_cards, issue_card
from processing.customers import service as customers
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt, seed_world
from tests.factories import T0

PERSON = {
    "last_name": "Вишневская", "first_name": "Снежана", "middle_name": "Olegovna",
    "phone": "8 (903) 555-01-23", "email": "snezhana@example.ru",
    "consents": {"processing": True}, "source": "1c",
}  # fmt: skip
# A second registration of the same person racing the first one: Latin spelling this time.
RACER = {**PERSON, "last_name": "Vishnevskaya", "first_name": "Snezhana", "email": "s@ex.ru"}
SECRETS = (
    "Вишневская", "Снежана", "Vishnevskaya", "Snezhana", "Olegovna", "9035550123",
    "903 555-01-23", "555-01-23", "snezhana@example.ru", "s@ex.ru",
)  # fmt: skip


@pytest.fixture
def logs() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """(the service's handler output, an unredacted JSON handler's output)."""
    service, raw = io.StringIO(), io.StringIO()
    unredacted = logging.StreamHandler(raw)
    unredacted.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handlers = [json_handler(service), unredacted]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    yield service, raw
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def _call(client: FlaskClient, world: World, method: str, path: str, body: Any = None) -> Any:
    response = client.open(path, method=method, json=body, headers=world.auth)
    return response.status_code, response.get_json()


def test_a_real_flow_leaves_no_personal_data_in_the_logs(
    client: FlaskClient,
    world: World,
    logs: tuple[io.StringIO, io.StringIO],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    card = world.blank[0]
    status, person = _call(client, world, "POST", "/api/v1/customers", PERSON)
    assert status == 201, person
    virtual = person["cards"][0]["number"]
    flow = [
        ("POST", f"/api/v1/customers/{person['id']}/cards", {"card_number": card}, 200),
        ("POST", "/api/v1/identify", {"card_number": card}, 200),
        ("POST", "/api/v1/identify", {"phone": "+7 903 555 01 23"}, 200),
        ("GET", "/api/v1/customers?phone=89035550123", None, 200),
        ("POST", "/api/v1/receipts/commit", receipt(card_number=card, sold_at=_now()), 200),
        ("POST", f"/api/v1/cards/{card}/block", {"reason": "заявление Вишневской"}, 200),
        ("POST", f"/api/v1/cards/{card}/block", {"reason": "повторно"}, 422),
        ("GET", f"/api/v1/card/{card}", None, 404),  # a mistyped URL
    ]
    for method, path, body, expected in flow:
        status, answer = _call(client, world, method, path, body)
        assert status == expected, (path, answer)
    # Two registrations of one phone at once: the uniqueness check of each passes, the
    # database refuses the second, and its error repeats the whole row.
    monkeypatch.setattr(customers, "_refuse_taken", lambda *_args: None)
    status, error = _call(client, world, "POST", "/api/v1/customers", RACER)
    assert (status, error["code"]) == (500, "INTERNAL_ERROR")
    # Any other exception whose text quotes what it was given (as library errors do).
    monkeypatch.setattr(cards, "unblock", _quoting_failure)
    status, error = _call(client, world, "POST", f"/api/v1/cards/{card}/unblock", {"reason": "x"})
    assert (status, error["code"]) == (500, "INTERNAL_ERROR")

    service, raw = (stream.getvalue() for stream in logs)
    lines = [json.loads(line) for line in service.splitlines()]
    paths = [line["path"] for line in lines if line["message"] == "request"]
    assert len(paths) == len(flow) + 3
    assert f"/api/v1/cards/*********{card[-4:]}/block" in paths
    assert f"/api/v1/card/*********{card[-4:]}" in paths
    failures = [line for line in lines if line["level"] == "ERROR"]
    assert len(failures) == 2 and all(line["request_id"] for line in failures)
    assert "UniqueViolation" in json.dumps(failures[0])
    assert "RuntimeError" in failures[1]["exc_info"]
    # The unredacted handler saw the data: the test would catch a leak.
    assert all(secret in _readable(raw) for secret in ("9035550123", "Вишневская", card))
    for secret in (*SECRETS, card, virtual):
        assert secret not in service and secret not in _readable(service), secret


def _readable(stream: str) -> str:
    """JSON lines with non-ASCII characters unescaped (a name is written as \\u0412...)."""
    lines = (json.loads(line) for line in stream.splitlines())
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)


def _quoting_failure(_session: object, card: Card, **_kwargs: object) -> None:
    raise RuntimeError(f"cannot unblock {card.number} of Вишневская, +79035550123")


def test_redact_masks_what_may_be_personal_data() -> None:
    text = (
        "DETAIL:  Key (tenant_id, phone)=(1, +79035550123) already exists.\n"
        "[parameters: {'last_name': 'Smith', 'email': 'a@b.ru'}]\n"
        "card 2775000000012, phone 8 (903) 555-01-23, +7 903 555 01 23, mail x.y@mail.ru, "
        "name Снежана; line 120, id 42, at 2026-11-23 12:00:00"
    )
    redacted = redact(text)
    assert redacted == (
        "DETAIL:  Key (tenant_id, phone)=(hidden) already exists.\n"
        "[parameters: hidden]\n"
        "card *********0012, phone <phone>, <phone>, mail <e-mail>, "
        "name <text>; line 120, id 42, at 2026-11-23 12:00:00"
    )
    assert (mask_number("2775000000012"), mask_number("123456")) == ("*********0012", "******")


def test_short_card_numbers_are_masked_in_paths_by_route(
    client: FlaskClient, session: Session, logs: tuple[io.StringIO, io.StringIO]
) -> None:
    world = seed_world(session)
    tenant = session.get_one(Tenant, world.tenant_id)
    template = add_template(session, tenant, code="short", name="Короткие", card_type="1%",
                            prefix="5", number_length=5, check_digit="luhn")  # fmt: skip
    [short] = generate_cards(session, template, 1, author="t", now=T0)
    owner = customers.get_customer(session, tenant, world.customer_id)
    issue_card(session, tenant, short.number, owner, author="t", now=T0)
    session.flush()
    status, _ = _call(client, world, "POST", f"/api/v1/cards/{short.number}/block", {"reason": "x"})
    assert status == 200
    lines = [json.loads(line) for line in logs[0].getvalue().splitlines()]
    assert [line["path"] for line in lines if line["message"] == "request"] == [
        "/api/v1/cards/*****/block"
    ]


def _now() -> str:
    """A receipt time the service accepts whatever the day the tests run on."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
