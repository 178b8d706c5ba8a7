"""Processing settings, questionnaire rules and extra fields, and the read-only tariff through
the management API; each change is seen by the POS API of the same process at once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from processing.tenants.models import Tenant
from tests.admin.conftest import call, fields_of
from tests.connector.onec_http.world import World, receipt

DEFAULTS = {
    "phone_write_off": False,
    "phone_level_discount": False,
    "return_policy": "cap_at_zero",
    "rollback_window_hours": 24,
    "sums_tolerance": Decimal("0.01"),
    "line_sum_tolerance": Decimal("0.01"),
    "sold_at_ahead_minutes": 10,
    "offline_window_days": 36500,  # seed_world accepts its old receipts
}


def test_settings_read_and_change_only_what_differs(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:
    assert call(client, admin, "GET", "settings") == (200, DEFAULTS)
    status, answer = call(
        client, admin, "PATCH", "settings",
        {"phone_write_off": True, "rollback_window_hours": 24, "sums_tolerance": 0.05,
         "return_policy": "allow_negative"},
    )  # fmt: skip
    assert status == 200, answer
    assert answer["changed"] == ["phone_write_off", "return_policy", "sums_tolerance"]
    assert answer["sums_tolerance"] == Decimal("0.05") and answer["phone_write_off"] is True
    tenant = session.get_one(Tenant, world.tenant_id)
    assert (tenant.sums_tolerance, tenant.return_policy) == (Decimal("0.05"), "allow_negative")
    again = call(client, admin, "PATCH", "settings", {"sums_tolerance": "0.05"})
    assert again[0] == 200 and again[1]["changed"] == []
    assert call(client, admin, "PATCH", "settings", {})[1]["changed"] == []


def test_a_tolerance_set_here_applies_to_the_next_receipt(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    computed = client.post(
        "/api/v1/receipts/calculate", json=receipt("0", card_number=world.card), headers=world.auth
    ).get_json()["lines"]
    # Every line printed a kopeck off what we compute: within the default tolerance only.
    lines = [
        {**line, "final_sum": Decimal(str(ours["final_sum"])) + Decimal("0.01")}
        for line, ours in zip(receipt()["lines"], computed, strict=True)
    ]

    def commit(number: str) -> Any:
        body = receipt(number, card_number=world.card, lines=lines)
        return client.post("/api/v1/receipts/commit", json=body, headers=world.auth)

    assert commit("1").status_code == 200
    assert call(client, admin, "PATCH", "settings", {"sums_tolerance": 0})[0] == 200
    refused = commit("2")
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "RECEIPT_SUMS_MISMATCH"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sums_tolerance": 100.01}, "sums_tolerance"),
        ({"sums_tolerance": -0.01}, "sums_tolerance"),
        ({"line_sum_tolerance": 0.005}, "line_sum_tolerance"),
        ({"sold_at_ahead_minutes": 1441}, "sold_at_ahead_minutes"),
        ({"sold_at_ahead_minutes": -1}, "sold_at_ahead_minutes"),
        ({"offline_window_days": 0}, "offline_window_days"),
        ({"offline_window_days": 366}, "offline_window_days"),
        ({"rollback_window_hours": 721}, "rollback_window_hours"),
        ({"return_policy": "refund_all"}, "return_policy"),
        ({"phone_write_off": "maybe"}, "phone_write_off"),
        ({"rollback_window_hours": "a day"}, "rollback_window_hours"),
        ({"sum_tolerance": 1}, "sum_tolerance"),  # a typo is refused, not ignored
    ],
)
def test_a_refused_setting_is_named_and_nothing_changes(
    client: FlaskClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    status, answer = call(client, admin, "PATCH", "settings", {"phone_write_off": True, **body})
    assert status == 400
    named = fields_of(answer)
    assert list(named) == [field]
    assert all(isinstance(message, str) and message for message in named[field])
    assert call(client, admin, "GET", "settings")[1]["phone_write_off"] is False


def test_every_refused_setting_is_named_at_once(client: FlaskClient, admin: dict[str, str]) -> None:
    status, answer = call(
        client, admin, "PATCH", "settings", {"sums_tolerance": 500, "offline_window_days": 0}
    )
    assert status == 400
    named = fields_of(answer)
    assert set(named) == {"sums_tolerance", "offline_window_days"}
    assert named["sums_tolerance"] == ["Сумма от 0,00 до 100,00 ₽ с точностью до копейки."]


def test_settings_are_the_callers_tenants_only(
    client: FlaskClient, admin: dict[str, str], other: World, session: Session
) -> None:
    assert call(client, admin, "PATCH", "settings", {"phone_write_off": True})[0] == 200
    assert session.get_one(Tenant, other.tenant_id).phone_write_off is False


def test_extra_fields_and_questionnaire_rules(client: FlaskClient, admin: dict[str, str]) -> None:
    assert call(client, admin, "GET", "questionnaire") == (
        200, {"policy": "full", "required": [], "fields": []},
    )  # fmt: skip
    field = {"code": "pet", "label": " Питомец ", "kind": "choice", "choices": ["кошка", "собака"]}
    status, answer = call(client, admin, "POST", "questionnaire/fields", field)
    assert status == 201, answer
    assert answer == {**field, "label": "Питомец"}
    rules = {"policy": "accrual_only", "required": ["email", "extra.pet"]}
    status, answer = call(client, admin, "PUT", "questionnaire", rules)
    assert status == 200, answer
    assert answer == {**rules, "fields": [{**field, "label": "Питомец"}]}
    assert call(client, admin, "GET", "questionnaire")[1] == answer


def test_the_questionnaire_policy_applies_to_the_next_identification(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    def identify() -> Any:
        body = {"card_number": world.card}
        return client.post("/api/v1/identify", json=body, headers=world.auth).get_json()

    before = identify()
    assert before["questionnaire"]["filled"] is True and before["write_off_allowed"] is True
    rules = {"policy": "accrual_only", "required": ["email"]}
    assert call(client, admin, "PUT", "questionnaire", rules)[0] == 200
    after = identify()
    assert after["questionnaire"] == {"filled": False, "missing": ["email"]}
    assert after["write_off_allowed"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"policy": "sometimes", "required": []}, "policy"),
        ({"policy": "full", "required": ["extra.pet"]}, "required"),  # no such extra field
        ({"policy": "full", "required": ["id"]}, "required"),  # a column, not a questionnaire field
        ({"policy": "full", "required": "email"}, "required"),
        ({"required": []}, "policy"),
    ],
)
def test_questionnaire_refusals_name_the_field(
    client: FlaskClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    status, answer = call(client, admin, "PUT", "questionnaire", body)
    assert status == 400
    assert list(fields_of(answer)) == [field]
    assert call(client, admin, "GET", "questionnaire")[1]["policy"] == "full"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"code": "pet", "label": "  ", "kind": "string"}, "label"),
        ({"code": "pet", "kind": "string"}, "label"),
        ({"code": "pet", "label": "Питомец", "kind": "string", "size": 3}, "size"),
        ({"code": "pet", "label": "Питомец", "kind": "colour"}, None),
        ({"code": "Pet!", "label": "Питомец", "kind": "string"}, None),
        ({"code": "phone", "label": "Телефон", "kind": "string"}, None),  # a standard field
        ({"code": "pet", "label": "Питомец", "kind": "choice"}, None),  # no choices
    ],
)
def test_extra_field_refusals(
    client: FlaskClient, admin: dict[str, str], body: dict[str, Any], named: str | None
) -> None:
    status, answer = call(client, admin, "POST", "questionnaire/fields", body)
    assert status == 400
    assert answer["code"] == "VALIDATION_ERROR"
    if named:
        assert list(fields_of(answer)) == [named]
    assert call(client, admin, "GET", "questionnaire")[1]["fields"] == []


def test_an_extra_field_code_is_taken_once(client: FlaskClient, admin: dict[str, str]) -> None:
    field = {"code": "pet", "label": "Питомец", "kind": "string"}
    assert call(client, admin, "POST", "questionnaire/fields", field)[0] == 201
    status, answer = call(client, admin, "POST", "questionnaire/fields", field)
    assert (status, answer["code"]) == (409, "CODE_EXISTS")


def test_the_tariff_is_shown_read_only(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    status, answer = call(client, admin, "GET", "tariff")
    assert status == 200
    assert answer["tariff"] == "network" and answer["title"] == "Сетевой"
    assert answer["addons"] == [] and "bonus" in answer["features"]
    assert answer["limits"] == {"stores": 20, "pos": None, "customers": None}
    for method in ("PATCH", "PUT", "POST"):
        refused = call(client, admin, method, "tariff", {"tariff": "start"})
        assert refused[0] == 405 and refused[1]["code"] == "METHOD_NOT_ALLOWED"
