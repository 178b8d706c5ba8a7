"""Pure level computation (no I/O): window bounds and the level a set of purchases reaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from processing.programs.rules import Level, LevelRules, Window


def window_bounds(window: Window, today: date) -> tuple[date, date]:
    """Inclusive store-local dates the window covers on ``today``.

    ``rolling_days`` N covers today and the N - 1 days before it; calendar kinds cover the
    current month, quarter or year (the previous one with ``previous``).
    """
    if window.kind == "rolling_days":
        return today - timedelta(days=window.days - 1), today
    if window.kind == "calendar_year":
        year = today.year - 1 if window.previous else today.year
        return date(year, 1, 1), date(year, 12, 31)
    months = 3 if window.kind == "calendar_quarter" else 1
    start_month = (today.month - 1) // months * months + 1
    year = today.year
    if window.previous:
        start_month -= months
        if start_month < 1:
            start_month += 12
            year -= 1
    start = date(year, start_month, 1)
    end_month = start_month + months
    end = date(year + (end_month > 12), (end_month - 1) % 12 + 1, 1) - timedelta(days=1)
    return start, end


@dataclass(frozen=True)
class LevelDecision:
    level: Level | None  # what applies: the higher of computed and override
    computed: Level | None
    override: Level | None
    value: Decimal  # the sum or count the window holds
    next_level: Level | None
    needed: Decimal  # what is missing to reach next_level (0 when at the top)


def decide_level(rules: LevelRules, value: Decimal, override_code: str | None) -> LevelDecision:
    """The level ``value`` reaches, raised to the override (never lowered by it)."""
    computed = None
    for level in rules.levels:
        if value >= level.threshold:
            computed = level
    override = rules.by_code(override_code)
    applied = computed
    if override is not None and rules.rank(override.code) > rules.rank(
        computed.code if computed else None
    ):
        applied = override
    rank = rules.rank(applied.code if applied else None)
    next_level = rules.levels[rank + 1] if rank + 1 < len(rules.levels) else None
    needed = max(next_level.threshold - value, Decimal(0)) if next_level else Decimal(0)
    return LevelDecision(applied, computed, override, value, next_level, needed)
