"""Programs and their versions through the management API: a version added here is the one the
POS API computes with, in the stores it names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.admin.conftest import call, fields_of
from tests.connector.onec_http.world import BONUS, World, receipt

# seed_world's versions start 2025-03-27 and are open-ended; its receipts are of 2026-05-01.
FROM = "2026-04-01T00:00:00+03:00"


def _accrual(client: FlaskClient, world: World) -> Decimal:
    body = receipt("1", card_number=world.card)
    answer = client.post("/api/v1/receipts/calculate", json=body, headers=world.auth).get_json()
    return Decimal(str(answer["totals"]["accrual"]))


def test_programs_with_their_versions(
    client: FlaskClient, world: World, admin: dict[str, str], other: World
) -> None:
    status, answer = call(client, admin, "GET", "programs")
    assert status == 200
    assert [(p["code"], p["kind"]) for p in answer["programs"]] == [
        ("bonus", "bonus"), ("levels", "discount_level"),
    ]  # fmt: skip
    [version] = answer["programs"][0]["versions"]
    assert version["rules"] == BONUS and version["effective_to"] is None
    assert version["effective_from"] == "2025-03-27T09:00:00+00:00"
    assert (version["stores"], version["store_groups"]) == ([], [])


def test_create_a_program_and_its_first_version(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    body = {"kind": "fixed_discount", "code": "fixed5", "name": "Скидка 5%"}
    created = {**body, "status": "active", "versions": []}
    assert call(client, admin, "POST", "programs", body) == (201, created)
    version = {"rules": {"discount_percent": 5}, "effective_from": FROM, "stores": ["s1"]}
    status, answer = call(client, admin, "POST", "programs/fixed5/versions", version)
    assert status == 201, answer
    [added] = answer["versions"]
    assert added["effective_from"] == "2026-03-31T21:00:00+00:00"
    assert (added["rules"], added["stores"], added["store_groups"]) == (
        {"discount_percent": 5}, ["s1"], [],
    )  # fmt: skip


def test_a_new_version_closes_the_open_one_and_applies_to_the_next_receipt(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    before = _accrual(client, world)
    rules = {**BONUS, "accrual_percent": 10, "accrual_percent_by_level": {}}
    version = {"rules": rules, "effective_from": FROM, "stores": ["s1"]}
    status, answer = call(client, admin, "POST", "programs/bonus/versions", version)
    assert status == 201, answer
    old, new = answer["versions"]
    assert old["effective_to"] == new["effective_from"] == "2026-03-31T21:00:00+00:00"
    assert new["rules"]["accrual_percent"] == 10
    after = _accrual(client, world)
    # 3%, then 10% of the 459.27 paid on the lines that accrue (the no_discount line does not).
    assert (before, after) == (Decimal("13.78"), Decimal("45.93"))


def test_decimal_rules_are_stored_as_text(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    rules = {**BONUS, "accrual_percent": 2.5}
    version = {"rules": rules, "effective_from": FROM}
    status, answer = call(client, admin, "POST", "programs/bonus/versions", version)
    assert status == 201, answer
    assert answer["versions"][-1]["rules"]["accrual_percent"] == "2.5"


def test_a_version_scoped_to_a_store_group(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    group = {"code": "moscow", "name": "Москва", "stores": ["s1"]}
    assert call(client, admin, "POST", "store-groups", group)[0] == 201
    version = {"rules": BONUS, "effective_from": FROM, "store_groups": ["moscow", "moscow"]}
    status, answer = call(client, admin, "POST", "programs/bonus/versions", version)
    assert status == 201, answer
    assert answer["versions"][-1]["store_groups"] == ["moscow"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "bonus", "code": "bonus", "name": "Снова"}, 409, "CONFLICT"),
        ({"kind": "cashback", "code": "cb", "name": "Кешбэк"}, 400, "VALIDATION_ERROR"),
        ({"kind": "bonus", "code": "b 2", "name": "Бонусы"}, 400, "VALIDATION_ERROR"),
        ({"kind": "bonus", "code": "b2"}, 400, "VALIDATION_ERROR"),
    ],
)
def test_program_refusals(
    client: FlaskClient,
    world: World,
    admin: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    answer = call(client, admin, "POST", "programs", body)
    assert (answer[0], answer[1]["code"]) == (status, code)
    assert len(call(client, admin, "GET", "programs")[1]["programs"]) == 2


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("programs/nope/versions", {}, 404, "PROGRAM_NOT_FOUND"),
        ("programs/bonus/versions", {"stores": ["nowhere"]}, 404, "STORE_NOT_FOUND"),
        ("programs/bonus/versions", {"store_groups": ["nowhere"]}, 404, "STORE_GROUP_NOT_FOUND"),
        ("programs/bonus/versions", {"rules": {"lifetime_days": 0}}, 400, "INVALID_PROGRAM_RULES"),
        ("programs/levels/versions", {"rules": BONUS}, 400, "INVALID_PROGRAM_RULES"),
        (
            "programs/bonus/versions",
            {"effective_to": "2026-03-01T00:00:00+03:00"},
            400,
            "VALIDATION_ERROR",
        ),
        (
            # Closed and earlier than the open version's start: it would overlap that version.
            "programs/bonus/versions",
            {"effective_from": "2025-01-01T00:00:00Z", "effective_to": "2025-06-01T00:00:00Z"},
            409,
            "PROGRAM_VERSION_OVERLAP",
        ),
    ],
)
def test_version_refusals(
    client: FlaskClient,
    world: World,
    admin: dict[str, str],
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    version = {"rules": BONUS, "effective_from": FROM, **body}
    answer = call(client, admin, "POST", path, version)
    assert (answer[0], answer[1]["code"]) == (status, code)
    programs = call(client, admin, "GET", "programs")[1]["programs"]
    assert [len(p["versions"]) for p in programs] == [1, 1]
    assert programs[0]["versions"][0]["effective_to"] is None


def test_invalid_rules_name_the_rule(client: FlaskClient, admin: dict[str, str]) -> None:
    rules = {**BONUS, "max_payment_percent": "150"}
    version = {"rules": rules, "effective_from": FROM}
    status, answer = call(client, admin, "POST", "programs/bonus/versions", version)
    assert status == 400
    assert answer["details"] == {"field": "rules.max_payment_percent"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"effective_from": "2026-04-01T00:00:00"}, "effective_from"),  # no offset
        ({"effective_from": "0001-01-01T00:00:00+00:00"}, "effective_from"),
        ({"effective_from": "3000-01-01T00:00:00+00:00"}, "effective_from"),
        ({"effective_to": "tomorrow"}, "effective_to"),
        ({"rules": [1, 2]}, "rules"),
        ({"rules": None}, "rules"),
        ({"stores": "s1"}, "stores"),
        ({"scope": "all"}, "scope"),
    ],
)
def test_version_fields_are_checked(
    client: FlaskClient, world: World, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    version = {"rules": BONUS, "effective_from": FROM, **body}
    status, answer = call(client, admin, "POST", "programs/bonus/versions", version)
    assert status == 400
    assert list(fields_of(answer)) == [field]
