"""Card series, the programs they carry and pre-printed cards through the management API."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.cards.models import Card, CardStatusChange
from processing.cards.numbers import has_valid_check_digit
from tests.admin.conftest import call
from tests.connector.onec_http.world import World

SERIES = {
    "code": "gold5", "name": "Золотая 5%", "card_type": "5%", "prefix": "4600",
    "number_length": 13, "check_digit": "ean13", "range_end": 500, "validity_days": 730,
}  # fmt: skip


def _add_fixed_program(client: FlaskClient, admin: dict[str, str]) -> None:
    program = {"kind": "fixed_discount", "code": "fixed5", "name": "Скидка 5%"}
    assert call(client, admin, "POST", "programs", program)[0] == 201
    version = {"rules": {"discount_percent": "5"}, "effective_from": "2026-01-01T00:00:00Z"}
    assert call(client, admin, "POST", "programs/fixed5/versions", version)[0] == 201


def test_card_series_listed_and_created(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    status, answer = call(client, admin, "GET", "card-templates")
    assert status == 200
    [main] = answer["card_templates"]
    assert (main["code"], main["prefix"], main["next_serial"], main["programs"]) == (
        "main", "2775", 7, [],
    )  # fmt: skip
    _add_fixed_program(client, admin)
    status, created = call(
        client, admin, "POST", "card-templates", {**SERIES, "programs": ["fixed5"]}
    )
    assert status == 201, created
    assert created == {
        **SERIES, "range_start": 1, "next_serial": 1, "free": 500, "programs": ["fixed5"],
    }  # fmt: skip
    listed = call(client, admin, "GET", "card-templates")[1]["card_templates"]
    assert [t["code"] for t in listed] == ["gold5", "main"]


def test_the_programs_a_series_carries(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    _add_fixed_program(client, admin)
    status, answer = call(
        client, admin, "PUT", "card-templates/main/programs", {"programs": ["fixed5", "bonus"]}
    )
    assert status == 200, answer
    assert answer["programs"] == ["bonus", "fixed5"]
    cleared = call(client, admin, "PUT", "card-templates/main/programs", {"programs": []})
    assert cleared[0] == 200 and cleared[1]["programs"] == []


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("card-templates/nope/programs", {"programs": []}, 404, "NOT_FOUND"),
        ("card-templates/main/programs", {"programs": ["nope"]}, 404, "PROGRAM_NOT_FOUND"),
        (
            "card-templates/main/programs",
            {"programs": ["levels", "fixed5"]},
            400,
            "VALIDATION_ERROR",
        ),
        ("card-templates/main/programs", {}, 400, "VALIDATION_ERROR"),
    ],
)
def test_series_programs_refusals(
    client: FlaskClient,
    world: World,
    admin: dict[str, str],
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    _add_fixed_program(client, admin)
    answer = call(client, admin, "PUT", path, body)
    assert (answer[0], answer[1]["code"]) == (status, code)
    main = call(client, admin, "GET", "card-templates")[1]["card_templates"][0]
    assert main["programs"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "main"}, 409, "CODE_EXISTS"),
        ({"prefix": "46a0"}, 400, "VALIDATION_ERROR"),
        ({"number_length": 12}, 400, "VALIDATION_ERROR"),  # EAN-13 has 13 digits
        ({"range_end": 10**9}, 400, "VALIDATION_ERROR"),  # beyond the serial digits
        ({"check_digit": "mod97"}, 400, "VALIDATION_ERROR"),
        ({"validity_days": 0}, 400, "VALIDATION_ERROR"),
        ({"programs": ["nope"]}, 404, "PROGRAM_NOT_FOUND"),
        ({"programs": ["bonus", "bonus"]}, 201, None),  # named twice, carried once
    ],
)
def test_series_refusals(
    client: FlaskClient,
    world: World,
    admin: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    answer = call(client, admin, "POST", "card-templates", {**SERIES, **body})
    assert answer[0] == status, answer
    templates = call(client, admin, "GET", "card-templates")[1]["card_templates"]
    if code is None:
        assert answer[1]["programs"] == ["bonus"]
        return
    assert answer[1]["code"] == code
    assert [t["code"] for t in templates] == ["main"]


def test_generate_pre_printed_cards(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:
    assert call(client, admin, "POST", "card-templates", SERIES)[0] == 201
    status, answer = call(client, admin, "POST", "card-templates/gold5/cards", {"count": 3})
    assert status == 201, answer
    assert answer["card_template"] == "gold5" and answer["count"] == 3
    numbers = answer["numbers"]
    assert numbers[0] == "4600000000015" and all(has_valid_check_digit(n, "ean13") for n in numbers)
    cards = session.scalars(select(Card).where(Card.number.in_(numbers)).order_by(Card.number))
    assert [(card.number, card.status) for card in cards] == [(n, "new") for n in numbers]
    [author] = set(
        session.scalars(select(CardStatusChange.author).join(Card).where(Card.number.in_(numbers)))
    )
    assert author == "admin-token:Администратор"
    after = call(client, admin, "GET", "card-templates")[1]["card_templates"][0]
    assert (after["next_serial"], after["free"]) == (4, 497)


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("card-templates/nope/cards", {"count": 1}, 404, "NOT_FOUND"),
        ("card-templates/gold5/cards", {"count": 0}, 400, "VALIDATION_ERROR"),
        ("card-templates/gold5/cards", {"count": 10_001}, 400, "VALIDATION_ERROR"),
        ("card-templates/gold5/cards", {"count": 501}, 422, "CARD_RANGE_EXHAUSTED"),
    ],
)
def test_generate_refusals(
    client: FlaskClient,
    world: World,
    admin: dict[str, str],
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    assert call(client, admin, "POST", "card-templates", SERIES)[0] == 201
    answer = call(client, admin, "POST", path, body)
    assert (answer[0], answer[1]["code"]) == (status, code)
    gold = call(client, admin, "GET", "card-templates")[1]["card_templates"][0]
    assert gold["next_serial"] == 1


def test_numbers_taken_by_an_overlapping_series_are_refused(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    # "2775" + serial 00000001 and "27750" + serial 0000001 are the same number: seed_world's
    # series "main" has issued it.
    overlapping = {**SERIES, "code": "main2", "prefix": "27750"}
    assert call(client, admin, "POST", "card-templates", overlapping)[0] == 201
    status, answer = call(client, admin, "POST", "card-templates/main2/cards", {"count": 2})
    assert (status, answer["code"]) == (409, "CARD_EXISTS")
    # The request's transaction stayed usable: the refusal is answered, nothing was kept.
    main2 = call(client, admin, "GET", "card-templates")[1]["card_templates"][1]
    assert main2["next_serial"] == 1
