"""Promotions through the management API: created and versioned as programs of kind
``promotion``, paused, resumed and archived, combined by the tenant's groups, tried on a
receipt body without writing anything."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.customers.models import Customer
from processing.customers.service import add_questionnaire_field
from processing.receipts.models import Receipt, SoftCalculation
from processing.tenants.models import Tenant
from tests.admin.conftest import call
from tests.connector.onec_http.world import World, receipt

D = Decimal
FROM = "2026-04-01T00:00:00+03:00"
TEN_ON_G100 = {
    "receipt": {"goods": {"goods": ["g-100"]}},
    "reward": {"kind": "percent", "value": "10"},
}


def _discount(client: FlaskClient, world: World) -> Any:
    body = receipt("1", card_number=world.card)
    answer = client.post("/api/v1/receipts/calculate", json=body, headers=world.auth).get_json()
    return answer["totals"]["discount"]


def _create(client: FlaskClient, admin: dict[str, str], code: str, rules: Any) -> None:
    body = {"kind": "promotion", "code": code, "name": f"Акция {code}"}
    assert call(client, admin, "POST", "programs", body)[0] == 201
    status, answer = call(client, admin, "POST", f"programs/{code}/versions",
                          {"rules": rules, "effective_from": FROM})  # fmt: skip
    assert status == 201, answer


def test_pause_resume_and_archive(client: FlaskClient, world: World, admin: dict[str, str]) -> None:
    _create(client, admin, "g100", TEN_ON_G100)
    assert _discount(client, world) == 30  # 10% of line 1 (300.00)
    status, answer = call(client, admin, "POST", "programs/g100/status", {"status": "paused"})
    assert status == 200 and answer["status"] == "paused"
    assert _discount(client, world) == 0
    call(client, admin, "POST", "programs/g100/status", {"status": "active"})
    assert _discount(client, world) == 30
    call(client, admin, "POST", "programs/g100/status", {"status": "archived"})
    status, answer = call(client, admin, "POST", "programs/g100/status", {"status": "active"})
    assert (status, answer["code"]) == (400, "PROGRAM_ARCHIVED")
    assert _discount(client, world) == 0


def test_invalid_promotion_rules_name_the_field(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    call(client, admin, "POST", "programs", {"kind": "promotion", "code": "bad", "name": "x"})
    rules = {"reward": {"kind": "m_for_n", "n": 3, "m": 5}}
    status, answer = call(client, admin, "POST", "programs/bad/versions",
                          {"rules": rules, "effective_from": FROM})  # fmt: skip
    assert (status, answer["code"]) == (400, "INVALID_PROGRAM_RULES")
    assert answer["details"]["field"] == "rules.reward.m"
    assert "Оплачиваемых единиц" in answer["message"]


def test_groups_change_how_promotions_combine(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    status, answer = call(client, admin, "GET", "promotion-groups")
    assert status == 200 and [g["code"] for g in answer["groups"]] == ["main"]
    _create(client, admin, "g100", TEN_ON_G100)
    _create(client, admin, "more", {"receipt": {"goods": {"goods": ["g-100"]}},
                                     "reward": {"kind": "fixed", "value": "5.00"}})  # fmt: skip
    assert _discount(client, world) == 30  # "max" per line: 30.00 beats 5.00
    groups = [{"code": "main", "mode": "sum", "level_discount": True}]
    status, answer = call(client, admin, "PUT", "promotion-groups", {"groups": groups})
    assert status == 200, answer
    assert answer["groups"] == [{"code": "main", "name": "main", "mode": "sum", "order": 100,
                                 "level_discount": True}]  # fmt: skip
    assert _discount(client, world) == 35
    bad = [{"code": "a", "level_discount": True}, {"code": "b", "level_discount": True}]
    status, answer = call(client, admin, "PUT", "promotion-groups", {"groups": bad})
    assert (status, answer["code"]) == (400, "INVALID_PROGRAM_RULES")


def test_dry_run_writes_nothing(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:
    rules = {"receipt": {"sum": {"min": "1000.00"}}, "reward": {"kind": "percent", "value": "5"}}
    body = {"rules": rules, "store": "s1", "receipt": receipt("9")}
    status, answer = call(client, admin, "POST", "promotions/dry-run", body)
    assert status == 200, answer
    assert answer["totals"]["discount"] == 0
    assert answer["promotions"][0]["reason"] == "Сумма покупки меньше 1000,00 ₽."
    rules["receipt"] = {"sum": {"min": "600.00"}}
    status, answer = call(client, admin, "POST", "promotions/dry-run", body)
    # 5% of the discountable 459.27 = 22.96 (half-up); the no-discount line keeps its sum.
    assert status == 200 and answer["totals"]["discount"] == D("22.96")
    assert session.scalar(select(func.count()).select_from(Receipt)) == 0
    assert session.scalar(select(func.count()).select_from(SoftCalculation)) == 0


def test_promotions_need_the_tariff_and_a_known_group(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:

    body = {"kind": "promotion", "code": "typo", "name": "Опечатка"}
    assert call(client, admin, "POST", "programs", body)[0] == 201
    rules = {"group": "mian", "reward": {"kind": "percent", "value": "5"}}
    status, answer = call(client, admin, "POST", "programs/typo/versions",
                          {"rules": rules, "effective_from": FROM})  # fmt: skip
    assert (status, answer["code"], answer["details"]["field"]) == (
        400, "INVALID_PROGRAM_RULES", "rules.group",
    )  # fmt: skip
    tenant = session.get(Tenant, world.tenant_id)
    assert tenant is not None
    tenant.features = [f for f in tenant.features if f != "promotions"]
    session.flush()
    body = {"kind": "promotion", "code": "later", "name": "Позже"}
    status, answer = call(client, admin, "POST", "programs", body)
    assert (status, answer["code"]) == (403, "PROMOTIONS_NOT_IN_TARIFF")


def test_group_fields_are_json_types(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    for bad in ({"code": "a", "level_discount": 0}, {"code": "a", "order": 1.5}):
        status, answer = call(client, admin, "PUT", "promotion-groups", {"groups": [bad]})
        assert (status, answer["code"]) == (400, "VALIDATION_ERROR"), bad


STATIC = {"kind": "static", "status": "active", "filter": None, "refreshed_at": None}


def test_segments_limit_promotions_to_their_members(
    client: FlaskClient, world: World, admin: dict[str, str], other: World
) -> None:
    body = {"code": "students", "name": "Студенты"}
    assert call(client, admin, "POST", "segments", body) == (
        201, {**body, **STATIC, "members": 0},
    )  # fmt: skip
    _create(client, admin, "seg", {"customer": {"segments": ["students"]}, **TEN_ON_G100})
    assert _discount(client, world) == 0
    add = {"add": [world.customer_id]}
    status, answer = call(client, admin, "POST", "segments/students/members", add)
    assert (status, answer["members"]) == (200, 1)
    assert _discount(client, world) == 30
    # Another tenant's customer is not found; nothing changes.
    status, answer = call(client, admin, "POST", "segments/students/members",
                          {"add": [other.customer_id]})  # fmt: skip
    assert (status, answer["code"]) == (400, "VALIDATION_ERROR")
    assert answer["details"]["customers"] == [other.customer_id]
    status, answer = call(client, admin, "GET", "segments")
    assert answer["segments"] == [{**body, **STATIC, "members": 1}]
    # Codes are found in any case; a code differing only in case is taken.
    assert call(client, admin, "GET", "segments/STUDENTS")[1]["members"] == 1
    status, answer = call(client, admin, "POST", "segments", {"code": "Students", "name": "x"})
    assert (status, answer["code"], answer["details"]) == (409, "CONFLICT", {"segment": "students"})
    call(client, admin, "POST", "segments/students/members", {"remove": [world.customer_id]})
    assert _discount(client, world) == 0
    status, answer = call(client, admin, "POST", "segments/nope/members", add)
    assert (status, answer["code"]) == (404, "SEGMENT_NOT_FOUND")


def test_customer_conditions_name_what_the_tenant_has(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:
    """A level the tenant's discount programs never had, a questionnaire field it does not
    have, a value the field never holds: refused, naming the field, nothing saved."""
    tenant = session.get(Tenant, world.tenant_id)
    assert tenant is not None
    add_questionnaire_field(session, tenant, "pet", "Питомец", "choice", ["кот", "пёс"])
    add_questionnaire_field(session, tenant, "vip", "VIP", "boolean")
    add_questionnaire_field(session, tenant, "kids", "Дети", "number")
    session.flush()
    body = {"kind": "promotion", "code": "pets", "name": "Для котов"}
    assert call(client, admin, "POST", "programs", body)[0] == 201
    refused = [
        ({"levels": ["platinum"]}, "rules.customer.levels"),
        ({"fields": {"pets": "кот"}}, "rules.customer.fields.pets"),
        ({"fields": {"pet": "хомяк"}}, "rules.customer.fields.pet"),
        ({"fields": {"vip": "да"}}, "rules.customer.fields.vip"),
        ({"fields": {"gender": "м"}}, "rules.customer.fields.gender"),
        ({"fields": {"first_name": True}}, "rules.customer.fields.first_name"),
        ({"fields": {"first_name": "Я" * 101}}, "rules.customer.fields.first_name"),
        ({"fields": {"kids": "Infinity"}}, "rules.customer.fields.kids"),
    ]
    for customer, field in refused:
        rules = {"customer": customer, "reward": {"kind": "percent", "value": "5"}}
        status, answer = call(client, admin, "POST", "programs/pets/versions",
                              {"rules": rules, "effective_from": FROM})  # fmt: skip
        assert (status, answer["code"], answer["details"]["field"]) == (
            400, "INVALID_PROGRAM_RULES", field,
        ), answer  # fmt: skip
    rules = {
        "customer": {"levels": ["gold"], "fields": {"pet": "кот", "vip": True, "gender": "female"}},
        "reward": {"kind": "percent", "value": "5"},
    }
    status, answer = call(client, admin, "POST", "programs/pets/versions",
                          {"rules": rules, "effective_from": FROM})  # fmt: skip
    assert status == 201, answer


def test_questionnaire_conditions_match_the_values_as_stored(
    client: FlaskClient, world: World, admin: dict[str, str], session: Session
) -> None:
    tenant = session.get(Tenant, world.tenant_id)
    customer = session.get(Customer, world.customer_id)
    assert tenant is not None and customer is not None
    add_questionnaire_field(session, tenant, "pet", "Питомец", "choice", ["кот", "пёс"])
    add_questionnaire_field(session, tenant, "vip", "VIP", "boolean")
    session.flush()
    without = _discount(client, world)
    _create(client, admin, "cats", {
        "customer": {"fields": {"pet": "кот", "vip": True}},
        "reward": {"kind": "percent", "value": "50"},
    })  # fmt: skip
    assert _discount(client, world) == without
    customer.extra = {"pet": "кот", "vip": False}
    session.flush()
    assert _discount(client, world) == without
    customer.extra = {"pet": "кот", "vip": True}
    session.flush()
    assert _discount(client, world) > without
