from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from processing.errors import ConnectorError
from processing.programs.rules import parse_bonus_rules, parse_level_rules
from processing.programs.service import add_program, add_version, rules_at
from processing.tenants.service import add_store_group
from processing.validation import InvalidProgramRules
from tests import factories
from tests.factories import BONUS_RULES, LEVEL_RULES, T0

DAY = timedelta(days=1)


def test_versions_apply_by_time_so_offline_receipts_use_their_rules(session: Session) -> None:
    tenant = factories.tenant(session)
    store = factories.store(session, tenant)
    program = add_program(session, tenant, "bonus", "bonus", "Бонусы")
    first = add_version(session, program, BONUS_RULES, T0)
    second = add_version(session, program, {**BONUS_RULES, "accrual_percent": "4"}, T0 + 10 * DAY)
    assert first.effective_to == T0 + 10 * DAY and second.effective_to is None
    assert rules_at(session, store.tenant_id, store.id, T0 - DAY).bonus is None
    assert rules_at(session, store.tenant_id, store.id, T0).bonus_version_id == first.id
    before = rules_at(session, store.tenant_id, store.id, T0 + 10 * DAY - timedelta(microseconds=1))
    assert before.bonus.default_accrual_percent == Decimal(3)  # type: ignore[union-attr]
    after = rules_at(session, store.tenant_id, store.id, T0 + 10 * DAY)
    assert after.bonus.default_accrual_percent == Decimal(4)  # type: ignore[union-attr]


def test_overlapping_versions_are_refused(session: Session) -> None:
    tenant = factories.tenant(session)
    program = add_program(session, tenant, "discount_level", "levels", "Уровни")
    add_version(session, program, LEVEL_RULES, T0, T0 + 30 * DAY)
    with pytest.raises(ConnectorError) as error:
        add_version(session, program, LEVEL_RULES, T0 + 10 * DAY, T0 + 40 * DAY)
    assert error.value.code == "PROGRAM_VERSION_OVERLAP"
    add_version(session, program, LEVEL_RULES, T0 + 30 * DAY)  # adjacent is fine


def test_scope_most_specific_wins(session: Session) -> None:
    tenant = factories.tenant(session)
    plain, grouped, named = (factories.store(session, tenant, c) for c in ("a", "b", "c"))
    group = add_store_group(session, tenant, "mall", "ТЦ", [grouped, named])
    everywhere = add_program(session, tenant, "bonus", "all", "Везде")
    add_version(session, everywhere, BONUS_RULES, T0)
    in_group = add_program(session, tenant, "bonus", "mall", "ТЦ")
    add_version(
        session, in_group, {**BONUS_RULES, "accrual_percent": "5"}, T0, store_groups=[group]
    )
    only = add_program(session, tenant, "bonus", "c", "Один")
    add_version(session, only, {**BONUS_RULES, "accrual_percent": "9"}, T0, stores=[named])
    percent = {
        s.code: rules_at(session, s.tenant_id, s.id, T0).bonus.default_accrual_percent  # type: ignore[union-attr]
        for s in (plain, grouped, named)
    }
    assert percent == {"a": 3, "b": 5, "c": 9}


@pytest.mark.parametrize(
    "rules",
    [
        {**LEVEL_RULES, "basis": "visits"},
        {**LEVEL_RULES, "window": {"kind": "rolling_days"}},
        {**LEVEL_RULES, "levels": []},
        {
            **LEVEL_RULES,
            "levels": [{"code": "a", "threshold": "10"}, {"code": "b", "threshold": "5"}],
        },
        {**LEVEL_RULES, "levels": [{"code": "a", "threshold": 1.5}]},
        {**LEVEL_RULES, "levels": [{"code": "a", "threshold": "0", "discount_percent": "101"}]},
    ],
)
def test_bad_level_rules_are_refused(rules: dict[str, Any]) -> None:
    with pytest.raises(ConnectorError) as error:
        parse_level_rules(rules)
    assert error.value.code == "INVALID_PROGRAM_RULES"


@pytest.mark.parametrize(
    "rules",
    [
        {**BONUS_RULES, "max_payment_percent": "150"},
        {**BONUS_RULES, "accrual_percent": -1},
        {**BONUS_RULES, "lifetime_days": 0},
        {**BONUS_RULES, "activation_delay_days": "14"},
        {**BONUS_RULES, "accrual_percent_by_level": {"gold": "abc"}},
    ],
)
def test_bad_bonus_rules_are_refused(rules: dict[str, Any]) -> None:
    with pytest.raises(ConnectorError) as error:
        parse_bonus_rules(rules)
    assert error.value.code == "INVALID_PROGRAM_RULES"


def test_version_rules_are_validated_when_added(session: Session) -> None:
    tenant = factories.tenant(session)
    program = add_program(session, tenant, "bonus", "b", "Бонусы")
    with pytest.raises(ConnectorError) as error:
        add_version(session, program, {"max_payment_percent": "200"}, T0)
    assert error.value.code == "INVALID_PROGRAM_RULES"
    with pytest.raises(ConnectorError):
        add_program(session, tenant, "cashback", "x", "Кэшбэк")


def test_bonus_lot_dates_follow_activation_delay_and_lifetime() -> None:
    rules = parse_bonus_rules(BONUS_RULES)
    # The lifetime runs from the accrual (the receipt's time) by default ...
    assert rules.lot_dates(T0) == (T0 + 14 * DAY, T0 + 365 * DAY)
    # ... or from the activation, when the program says so.
    from_activation = parse_bonus_rules({**BONUS_RULES, "lifetime_from": "activation"})
    assert from_activation.lot_dates(T0) == (T0 + 14 * DAY, T0 + 379 * DAY)
    forever = parse_bonus_rules({**BONUS_RULES, "lifetime_days": None, "activation_delay_days": 0})
    assert forever.lot_dates(T0) == (T0, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"lifetime_from": "purchase"}, "rules.lifetime_from"),
     ({"activation_delay_days": 365}, "rules.activation_delay_days"),
     ({"lifetime_days": 10**30}, "rules.lifetime_days"),
     ({"accrual_percent": "1e40"}, "rules.accrual_percent")],
)  # fmt: skip
def test_bonus_rules_that_cannot_work_are_refused(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidProgramRules) as refused:
        parse_bonus_rules({**BONUS_RULES, **change})
    assert refused.value.details == {"field": field}
