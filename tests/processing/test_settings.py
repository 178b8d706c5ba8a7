"""The tenant settings domain: each processing policy's bounds and types, all-or-none changes,
the questionnaire's required fields and extra fields. Refusals name their fields as the API's
validation errors do."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from processing.customers.questionnaire import add_extra_field, questionnaire, set_questionnaire
from processing.errors import ConnectorError, InvalidInput
from processing.tenants.models import Tenant
from processing.tenants.settings import SETTINGS, tenant_settings, update_settings
from tests import factories


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return factories.tenant(session)


def _named(error: pytest.ExceptionInfo[InvalidInput]) -> dict[str, list[str]]:
    assert error.value.code == "VALIDATION_ERROR"
    named: dict[str, list[str]] = error.value.details["fields"]["json"]
    return named


@pytest.mark.parametrize(
    ("name", "accepted", "refused"),
    [
        ("phone_write_off", [True, False], [1, "true", None]),
        ("phone_level_discount", [True, False], [0, "false"]),
        ("return_policy", ["cap_at_zero", "allow_negative"], ["negative", "", None, 1]),
        ("rollback_window_hours", [0, 1, 720], [-1, 721, True, 1.5, "24", Decimal(24)]),
        (
            "sums_tolerance",
            [Decimal("0"), Decimal("0.01"), Decimal("100.00"), 5],
            [Decimal("-0.01"), Decimal("100.01"), Decimal("0.005"), 0.01, "0.01", True,
             Decimal("NaN"), Decimal("Infinity")],
        ),
        (
            "line_sum_tolerance",
            [Decimal("0"), Decimal("100")],
            [Decimal("100.001"), Decimal("-1")],
        ),
        ("sold_at_ahead_minutes", [0, 1440], [-1, 1441, False]),
        ("offline_window_days", [1, 365], [0, 366, None]),
    ],
)  # fmt: skip
def test_each_setting_has_its_bounds(
    session: Session, tenant: Tenant, name: str, accepted: list[Any], refused: list[Any]
) -> None:
    for value in accepted:
        update_settings(session, tenant, {name: value})
        assert tenant_settings(tenant)[name] == value
        assert type(tenant_settings(tenant)[name]) is type(SETTINGS[name](value))
    kept = getattr(tenant, name)
    for value in refused:
        with pytest.raises(InvalidInput) as error:
            update_settings(session, tenant, {name: value})
        assert list(_named(error)) == [name], value
        assert getattr(tenant, name) == kept


def test_money_is_kept_as_decimal(session: Session, tenant: Tenant) -> None:
    update_settings(session, tenant, {"sums_tolerance": 5})
    session.expire(tenant)
    assert tenant.sums_tolerance == Decimal("5.00")
    assert isinstance(tenant_settings(tenant)["sums_tolerance"], Decimal)


def test_changes_are_all_or_none_and_report_what_changed(session: Session, tenant: Tenant) -> None:
    before = tenant_settings(tenant)
    with pytest.raises(InvalidInput) as error:
        update_settings(
            session, tenant,
            {"phone_write_off": True, "offline_window_days": 0, "color": "red",
             "sums_tolerance": Decimal("1000")},
        )  # fmt: skip
    assert set(_named(error)) == {"offline_window_days", "color", "sums_tolerance"}
    assert _named(error)["color"] == ["Неизвестная настройка."]
    assert "offline_window_days" in error.value.text  # the CLI prints the text alone
    assert tenant_settings(tenant) == before
    changed = update_settings(
        session, tenant, {"sums_tolerance": Decimal("0.01"), "offline_window_days": 7,
                          "phone_write_off": True},
    )  # fmt: skip
    assert changed == ["phone_write_off", "offline_window_days"]  # 0.01 is the default
    session.expire(tenant)
    assert (tenant.offline_window_days, tenant.phone_write_off) == (7, True)
    assert update_settings(session, tenant, {"offline_window_days": 7}) == []


def test_required_fields_must_exist(session: Session, tenant: Tenant) -> None:
    with pytest.raises(InvalidInput) as error:
        set_questionnaire(session, tenant, "nothing", ["phone", "extra.pet", "tenant_id"])
    [message] = _named(error)["required"]
    assert "extra.pet, tenant_id" in message
    assert tenant.questionnaire_policy == "full"
    add_extra_field(session, tenant, "pet", "Питомец", "string")
    found = set_questionnaire(session, tenant, "nothing", ["phone", "extra.pet", "phone"])
    assert (found.policy, found.required) == ("nothing", ["phone", "extra.pet"])
    assert [field.code for field in found.fields] == ["pet"]
    assert questionnaire(session, tenant) == found


def test_policy_is_one_of_three(session: Session, tenant: Tenant) -> None:
    with pytest.raises(InvalidInput) as error:
        set_questionnaire(session, tenant, "partial", [])
    assert list(_named(error)) == ["policy"]


def test_extra_fields_are_per_tenant_and_unique(session: Session, tenant: Tenant) -> None:
    other = factories.tenant(session, "other")
    add_extra_field(session, tenant, "pet", " Питомец ", "choice", ["кошка"])
    add_extra_field(session, other, "pet", "Питомец", "string")
    with pytest.raises(ConnectorError) as taken:
        add_extra_field(session, tenant, "pet", "Снова", "string")
    assert taken.value.code == "CODE_EXISTS"
    with pytest.raises(InvalidInput) as blank:
        add_extra_field(session, tenant, "size", " ", "string")
    assert list(_named(blank)) == ["label"]
    [field] = questionnaire(session, tenant).fields
    assert (field.label, field.kind, field.choices) == ("Питомец", "choice", ["кошка"])
