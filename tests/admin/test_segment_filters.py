"""Segments as saved filters through the management API: membership computed by a job on real
customers and receipts (registered and committed through the POS API), refreshed idempotently,
followed by promotions; static lists and filters kept apart; every refusal names its field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.promotions.models import Segment, SegmentMember
from processing.promotions.segments import check_segment_codes
from processing.tenants.models import Tenant
from processing.validation import InvalidProgramRules
from tests.admin.conftest import call
from tests.connector.onec_http.world import World, receipt

MOSCOW = ZoneInfo("Europe/Moscow")


def _years_ago(years: int) -> str:
    today = datetime.now(MOSCOW).date()
    return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()


def _days_ago(days: int) -> str:
    """A store-local receipt time (as 1C sends it) ``days`` days back."""
    return (datetime.now(MOSCOW) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")


def _register(client: FlaskClient, world: World, **fields: Any) -> int:
    body = {"source": "pos", "consents": {"processing": True}, **fields}
    response = client.post("/api/v1/customers", json=body, headers=world.auth)
    assert response.status_code == 201, response.get_json()
    customer_id: int = response.get_json()["id"]
    return customer_id


def _buy(client: FlaskClient, world: World, card: str, number: str, days_ago: int) -> None:
    body = receipt(number, card_number=card, sold_at=_days_ago(days_ago))
    response = client.post("/api/v1/receipts/commit", json=body, headers=world.auth)
    assert response.status_code == 200, response.get_json()


def _members(session: Session, world: World, code: str) -> set[int]:
    segment = session.scalar(
        select(Segment).where(Segment.tenant_id == world.tenant_id, Segment.code == code)
    )
    assert segment is not None
    return set(
        session.scalars(
            select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment.id)
        )
    )


@pytest.fixture
def shoppers(client: FlaskClient, world: World, admin: dict[str, str]) -> dict[str, int]:
    """Three customers besides the world's Ivan (male by no gender, no purchases): Anna (20,
    cat, advertising, two purchases in the last week), Olga (40, dog, one purchase 100 days
    ago) and Petr (no birthday, no purchases)."""
    field = {"code": "pet", "label": "Питомец", "kind": "choice", "choices": ["кот", "собака"]}
    assert call(client, admin, "POST", "questionnaire/fields", field)[0] == 201
    anna = _register(
        client, world, first_name="Анна", phone="+79160000001", gender="female",
        birth_date=_years_ago(20), extra={"pet": "кот"}, card_number=world.blank[0],
        consents={"processing": True, "advertising": True},
    )  # fmt: skip
    olga = _register(
        client, world, first_name="Ольга", phone="+79160000002", gender="female",
        birth_date=_years_ago(40), extra={"pet": "собака"}, card_number=world.blank[1],
    )  # fmt: skip
    petr = _register(client, world, first_name="Пётр", phone="+79160000003", gender="male",
                     card_number=world.blank[2])  # fmt: skip
    _buy(client, world, world.blank[0], "a-1", 2)
    _buy(client, world, world.blank[0], "a-2", 5)
    _buy(client, world, world.blank[1], "o-1", 100)
    return {"anna": anna, "olga": olga, "petr": petr, "ivan": world.customer_id}


FILTERS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("young-women", {"gender": "female", "age": {"max": 30}}, {"anna"}),
    ("women", {"gender": "female", "age": {"min": 18}}, {"anna", "olga"}),
    ("frequent", {"purchases": {"days": 30, "count": {"min": 2}}}, {"anna"}),
    ("spenders", {"purchases": {"days": 365, "sum": {"min": "500.00"}}}, {"anna", "olga"}),
    ("no-purchases", {"purchases": {"days": 365, "count": {"max": 0}}}, {"petr", "ivan"}),
    ("sleeping", {"last_purchase_days": {"min": 60}}, {"olga"}),
    ("recent", {"last_purchase_days": {"max": 7}}, {"anna"}),
    ("cats", {"fields": {"pet": "кот"}, "advertising_consent": True}, {"anna"}),
    ("no-ads", {"advertising_consent": False}, {"olga", "petr", "ivan"}),
    ("series", {"card_templates": ["main"]}, {"anna", "olga", "petr", "ivan"}),
    # Ivan was registered with the world, 400 days before its receipts' day
    ("new", {"registered_days": {"max": 0}}, {"anna", "olga", "petr"}),
    ("old", {"registered_days": {"min": 1}}, {"ivan"}),
    ("base-level", {"levels": ["base"]}, {"anna", "olga"}),
    ("everyone", {}, {"anna", "olga", "petr", "ivan"}),
]


def test_filter_membership_is_computed_on_real_customers_and_receipts(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str],
    shoppers: dict[str, int],
) -> None:  # fmt: skip
    born = date.fromisoformat(_years_ago(20)).month
    cases = [
        *FILTERS,
        (
            "born-this-month",
            {"birthday_months": [born]},
            {"anna"} | ({"olga"} if date.fromisoformat(_years_ago(40)).month == born else set()),
        ),
    ]
    for code, conditions, expected in cases:
        body = {"code": code, "name": code, "filter": conditions}
        status, answer = call(client, admin, "POST", "segments", body)
        # The answer comes before the refresh job: the members are counted once it ran.
        assert (status, answer["kind"], answer["members"]) == (201, "filter", 0), answer
        assert answer["filter"] == conditions
        ids = {shoppers[name] for name in expected}
        assert _members(session, world, code) == ids, code
        status, answer = call(client, admin, "GET", f"segments/{code}")
        assert answer["members"] == len(ids) and answer["refreshed_at"] is not None, code


def test_refresh_is_idempotent_and_follows_new_purchases_and_filter_changes(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str],
    shoppers: dict[str, int],
) -> None:  # fmt: skip
    body = {"code": "frequent", "name": "Частые", "filter": FILTERS[2][1]}
    assert call(client, admin, "POST", "segments", body)[0] == 201
    assert _members(session, world, "frequent") == {shoppers["anna"]}
    for _ in range(2):
        status, answer = call(client, admin, "POST", "segments/frequent/refresh")
        assert (status, answer["status"]) == (202, "queued")
        assert _members(session, world, "frequent") == {shoppers["anna"]}
    assert call(client, admin, "GET", "segments/frequent")[1]["members"] == 1
    # Petr buys twice: the next refresh adds him; Anna's purchases fall out of a 3-day window.
    _buy(client, world, world.blank[2], "p-1", 0)
    _buy(client, world, world.blank[2], "p-2", 1)
    call(client, admin, "POST", "segments/frequent/refresh")
    assert _members(session, world, "frequent") == {shoppers["anna"], shoppers["petr"]}
    change = {"filter": {"purchases": {"days": 3, "count": {"min": 2}}}, "name": "Свежие"}
    status, answer = call(client, admin, "PATCH", "segments/frequent", change)
    assert (status, answer["name"], answer["filter"]) == (200, "Свежие", change["filter"])
    assert _members(session, world, "frequent") == {shoppers["petr"]}
    assert call(client, admin, "GET", "segments/frequent")[1]["members"] == 1


def test_a_promotion_limited_to_a_filter_segment_applies_to_its_members(
    client: FlaskClient, world: World, admin: dict[str, str], shoppers: dict[str, int]
) -> None:
    body = {"code": "cats", "name": "Кошатники", "filter": {"fields": {"pet": "кот"}}}
    assert call(client, admin, "POST", "segments", body)[0] == 201
    call(client, admin, "POST", "programs", {"kind": "promotion", "code": "c", "name": "Кошки"})
    rules = {"customer": {"segments": ["cats"]}, "receipt": {"goods": {"goods": ["g-100"]}},
             "reward": {"kind": "percent", "value": "10"}}  # fmt: skip
    version = {"rules": rules, "effective_from": "2026-01-01T00:00:00+03:00"}
    status, answer = call(client, admin, "POST", "programs/c/versions", version)
    assert status == 201, answer

    def discount(card: str) -> Any:
        body = receipt("x", card_number=card, sold_at=_days_ago(0))
        response = client.post("/api/v1/receipts/calculate", json=body, headers=world.auth)
        return response.get_json()["totals"]["discount"]

    assert discount(world.blank[0]) == 30  # Anna: 10% of 300.00
    assert discount(world.blank[1]) == 0  # Olga has a dog


def test_static_and_filter_segments_refuse_each_others_operations(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    call(client, admin, "POST", "segments", {"code": "list", "name": "Список"})
    call(client, admin, "POST", "segments", {"code": "f", "name": "Ф", "filter": {}})
    status, answer = call(client, admin, "POST", "segments/f/members",
                          {"add": [world.customer_id]})  # fmt: skip
    assert (status, answer["code"]) == (409, "SEGMENT_IS_FILTER")
    assert "условиям" in answer["message"]
    status, answer = call(client, admin, "POST", "segments/list/refresh")
    assert (status, answer["code"]) == (409, "SEGMENT_IS_STATIC")
    status, answer = call(client, admin, "PATCH", "segments/list", {"filter": {}})
    assert (status, answer["code"]) == (409, "SEGMENT_IS_STATIC")
    status, answer = call(client, admin, "POST", "segments/nope/refresh")
    assert (status, answer["code"]) == (404, "SEGMENT_NOT_FOUND")


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ({"age": {"min": -1}}, "filter.age.min"),
        ({"age": {"min": 40, "max": 20}}, "filter.age.min"),
        ({"age": {}}, "filter.age"),
        ({"colour": "red"}, "filter.colour"),
        ({"gender": "other"}, "filter.gender"),
        ({"birthday_months": [13]}, "filter.birthday_months"),
        ({"registered": {"from": "2026-13-01"}}, "filter.registered.from"),
        ({"registered": {"from": "2026-05-01", "to": "2026-04-01"}}, "filter.registered.to"),
        ({"purchases": {"count": {"min": 1}}}, "filter.purchases.days"),
        ({"purchases": {"days": 30}}, "filter.purchases"),
        ({"purchases": {"days": 30, "sum": {"min": "10.001"}}}, "filter.purchases.sum.min"),
        ({"purchases": {"days": 30, "count": {"min": "1.5"}}}, "filter.purchases.count"),
        ({"advertising_consent": "yes"}, "filter.advertising_consent"),
        ({"levels": "gold"}, "filter.levels"),
        ({"timezone": "Mars/Olympus"}, "filter.timezone"),
        ({"fields": {"pet": "кот"}}, "filter.fields.pet"),  # no such extra field
        ({"fields": {"pet": ""}}, "filter.fields.pet"),
        ({"fields": ["pet"]}, "filter.fields"),
    ],
)
def test_invalid_filters_are_refused_naming_the_field(
    client: FlaskClient, world: World, admin: dict[str, str], conditions: Any, field: str
) -> None:
    status, answer = call(client, admin, "POST", "segments",
                          {"code": "bad", "name": "Плохой", "filter": conditions})  # fmt: skip
    assert (status, answer["code"], answer["details"]) == (
        400, "INVALID_SEGMENT_FILTER", {"field": field},
    ), answer  # fmt: skip
    assert f"(поле {field})" in answer["message"]
    assert call(client, admin, "GET", "segments")[1]["segments"] == []


def test_a_filter_that_is_no_object_is_refused_by_the_schema(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    status, answer = call(client, admin, "POST", "segments",
                          {"code": "bad", "name": "x", "filter": "all"})  # fmt: skip
    assert (status, answer["details"]["fields"]["json"]) == (400, {"filter": ["Ожидается объект."]})


def test_extra_field_values_are_checked_against_the_questionnaire(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    field = {"code": "pet", "label": "Питомец", "kind": "choice", "choices": ["кот", "собака"]}
    call(client, admin, "POST", "questionnaire/fields", field)
    body = {"code": "bad", "name": "x", "filter": {"fields": {"pet": "хомяк"}}}
    status, answer = call(client, admin, "POST", "segments", body)
    assert (status, answer["code"], answer["details"]["field"]) == (
        400, "INVALID_SEGMENT_FILTER", "filter.fields.pet",
    )  # fmt: skip
    assert "кот, собака" in answer["message"]
    status, answer = call(client, admin, "PATCH", "segments/nope", {"filter": {}})
    assert (status, answer["code"]) == (404, "SEGMENT_NOT_FOUND")


def test_promotions_must_name_existing_segments_exactly(session: Session, world: World) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    session.add(Segment(tenant_id=tenant.id, code="students", name="Студенты"))
    session.flush()
    check_segment_codes(session, tenant.id, ["students"])
    with pytest.raises(InvalidProgramRules) as unknown:
        check_segment_codes(session, tenant.id, ["students", "pensioners"])
    assert unknown.value.details == {"field": "rules.customer.segments"}
    assert "pensioners" in unknown.value.text
    with pytest.raises(InvalidProgramRules) as cased:
        check_segment_codes(session, tenant.id, ["Students"])
    assert "«students»" in cased.value.text


def test_segments_of_another_tenant_are_not_found(
    client: FlaskClient, world: World, admin: dict[str, str], other: World, session: Session
) -> None:
    session.add(Segment(tenant_id=other.tenant_id, code="theirs", name="Чужой", kind="filter",
                        filter={}, refreshed_at=datetime.now(UTC)))  # fmt: skip
    session.flush()
    for method, path in (("GET", "segments/theirs"), ("POST", "segments/theirs/refresh")):
        status, answer = call(client, admin, method, path)
        assert (status, answer["code"]) == (404, "SEGMENT_NOT_FOUND")


def test_length_refusals_are_in_russian(client: FlaskClient, admin: dict[str, str]) -> None:
    """Marshmallow's validators answer in Russian in every schema (found by the hostile probe)."""
    status, answer = call(client, admin, "POST", "segments", {"code": "x" * 65, "name": "Длинный"})
    assert status == 400
    assert answer["details"]["fields"]["json"]["code"] == ["Длина — от 1 до 64."]
