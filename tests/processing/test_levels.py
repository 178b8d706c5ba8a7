from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from processing.errors import ConnectorError
from processing.ledger.service import open_account
from processing.levels.compute import decide_level, window_bounds
from processing.levels.service import (
    account_level,
    clear_override,
    override_history,
    record_purchase,
    set_override,
)
from processing.programs.rules import Window, parse_level_rules
from tests import factories
from tests.factories import LEVEL_RULES, T0

D = Decimal
RULES = parse_level_rules(LEVEL_RULES)
COUNT_RULES = parse_level_rules(
    {
        "basis": "count",
        "window": {"kind": "calendar_month"},
        "levels": [
            {"code": "new", "threshold": "0"},
            {"code": "regular", "threshold": "3", "discount_percent": "2"},
        ],
    }
)


@pytest.mark.parametrize(
    ("window", "today", "bounds"),
    [
        (Window("rolling_days", 365), date(2026, 5, 1), (date(2025, 5, 2), date(2026, 5, 1))),
        (Window("rolling_days", 1), date(2026, 5, 1), (date(2026, 5, 1), date(2026, 5, 1))),
        (Window("calendar_month"), date(2026, 2, 14), (date(2026, 2, 1), date(2026, 2, 28))),
        (Window("calendar_month", previous=True), date(2026, 1, 5),
         (date(2025, 12, 1), date(2025, 12, 31))),
        (Window("calendar_quarter"), date(2026, 11, 30), (date(2026, 10, 1), date(2026, 12, 31))),
        (Window("calendar_quarter", previous=True), date(2026, 2, 1),
         (date(2025, 10, 1), date(2025, 12, 31))),
        (Window("calendar_year"), date(2026, 7, 1), (date(2026, 1, 1), date(2026, 12, 31))),
        (Window("calendar_year", previous=True), date(2026, 7, 1),
         (date(2025, 1, 1), date(2025, 12, 31))),
    ],
)  # fmt: skip
def test_window_bounds(window: Window, today: date, bounds: tuple[date, date]) -> None:
    assert window_bounds(window, today) == bounds


def test_level_by_sum_with_next_level_and_what_is_needed() -> None:
    decision = decide_level(RULES, D("9999.99"), None)
    assert decision.level is not None and decision.level.code == "base"
    assert decision.next_level is not None and decision.next_level.code == "silver"
    assert decision.needed == D("0.01")
    top = decide_level(RULES, D("50000"), None)
    assert top.level.code == "gold" and top.next_level is None and top.needed == 0  # type: ignore[union-attr]


def test_override_raises_but_is_never_lowered_by_recalculation() -> None:
    vip = decide_level(RULES, D("0"), "gold")
    assert vip.level.code == "gold" and vip.computed.code == "base"  # type: ignore[union-attr]
    # Computed above the override: the computed level applies, the override does not lower it.
    above = decide_level(RULES, D("60000"), "silver")
    assert above.level.code == "gold"  # type: ignore[union-attr]


def test_rolling_window_edges_and_exclusion(session: Session) -> None:
    account = open_account(session, factories.tenant(session).id)
    today = date(2026, 5, 1)
    record_purchase(session, account.id, today - timedelta(days=365), D("40000.00"), 1)
    record_purchase(session, account.id, today - timedelta(days=364), D("9000.00"), 1)
    record_purchase(session, account.id, today, D("1000.00"), 1)
    record_purchase(session, account.id, today + timedelta(days=1), D("90000.00"), 1)
    # 365 days ago is outside, 364 days ago and today inside, tomorrow not yet.
    decision = account_level(session, account.id, RULES, today)
    assert decision.value == D("10000.00") and decision.level.code == "silver"  # type: ignore[union-attr]
    record_purchase(session, account.id, today, D("-0.01"), 0)  # a return lowers it
    assert account_level(session, account.id, RULES, today).level.code == "base"  # type: ignore[union-attr]


def test_level_by_purchase_count_in_calendar_month(session: Session) -> None:
    account = open_account(session, factories.tenant(session).id)
    for day in (1, 15, 31):
        record_purchase(session, account.id, date(2026, 3, day), D("10.00"), 1)
    record_purchase(session, account.id, date(2026, 2, 28), D("10.00"), 1)
    assert account_level(session, account.id, COUNT_RULES, date(2026, 3, 31)).value == 3
    assert (
        account_level(session, account.id, COUNT_RULES, date(2026, 3, 31)).level.code == "regular"
    )  # type: ignore[union-attr]
    assert account_level(session, account.id, COUNT_RULES, date(2026, 4, 1)).level.code == "new"  # type: ignore[union-attr]


def test_manual_override_with_history(session: Session) -> None:
    account = open_account(session, factories.tenant(session).id)
    set_override(
        session, account.id, "silver", rules=RULES, reason="сотрудник", author="hr", now=T0
    )
    set_override(session, account.id, "gold", rules=RULES, reason="VIP", author="director", now=T0)
    assert account_level(session, account.id, RULES, date(2026, 5, 1)).level.code == "gold"  # type: ignore[union-attr]
    clear_override(session, account.id, author="director", now=T0 + timedelta(days=30))
    assert account_level(session, account.id, RULES, date(2026, 5, 1)).level.code == "base"  # type: ignore[union-attr]
    history = override_history(session, account.id)
    assert [(h.level_code, h.author, h.cleared_by) for h in history] == [
        ("silver", "hr", "director"),
        ("gold", "director", "director"),
    ]
    with pytest.raises(ConnectorError):
        set_override(session, account.id, "platinum", rules=RULES, reason="x", author="y", now=T0)
