"""The ledger's pure rules: usable and pending lots, FIFO by expiry, taking an amount, repaying a
debt. The ORM ledger and the receipt hot path both decide with them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processing.ledger.rules import (
    LotsRunShort,
    LotState,
    active_total,
    credited_remaining,
    pending_total,
    take_from,
    usable_lots,
)
from tests.factories import T0

D = Decimal
DAY = timedelta(days=1)

lots_strategy = st.lists(
    st.builds(
        LotState,
        id=st.integers(1, 10_000),
        remaining=st.integers(0, 50_000).map(lambda k: D(k).scaleb(-2)),
        activates_at=st.integers(-5, 5).map(lambda d: T0 + d * DAY),
        expires_at=st.one_of(st.none(), st.integers(-5, 400).map(lambda d: T0 + d * DAY)),
    ),
    max_size=12,
    unique_by=lambda lot: lot.id,
)


def test_lots_are_spent_soonest_expiry_first_and_never_expiring_last() -> None:
    lots = [
        LotState(1, D("5.00"), T0, None),
        LotState(2, D("5.00"), T0, T0 + 30 * DAY),
        LotState(3, D("5.00"), T0, T0 + 10 * DAY),
        LotState(4, D("5.00"), T0 + DAY, T0 + 5 * DAY),  # pending
        LotState(5, D("5.00"), T0 - DAY, T0),  # expired at T0
    ]
    assert [lot.id for lot in usable_lots(lots, T0)] == [3, 2, 1]
    assert take_from(usable_lots(lots, T0), D("7.50")) == [(3, D("5.00")), (2, D("2.50"))]
    assert (active_total(lots, T0), pending_total(lots, T0)) == (D("15.00"), D("5.00"))
    with pytest.raises(LotsRunShort):
        take_from(usable_lots(lots, T0), D("15.01"))


@given(lots_strategy, st.integers(0, 100_000))
def test_taking_adds_up_and_never_overdraws_a_lot(lots: list[LotState], kopecks: int) -> None:
    ordered = usable_lots(lots, T0)
    amount = min(D(kopecks).scaleb(-2), active_total(lots, T0))
    takes = take_from(ordered, amount)
    assert sum((taken for _, taken in takes), D(0)) == amount
    remaining = {lot.id: lot.remaining for lot in ordered}
    assert all(D(0) < taken <= remaining[lot_id] for lot_id, taken in takes)
    # Every lot but the last touched is emptied: nothing later is spent before an earlier lot.
    assert all(taken == remaining[lot_id] for lot_id, taken in takes[:-1])


@pytest.mark.parametrize(
    ("balance", "amount", "kept"),
    [("10.00", "5.00", "5.00"), ("-3.00", "5.00", "2.00"), ("-8.00", "5.00", "0.00")],
)
def test_a_credit_repays_a_debt_first(balance: str, amount: str, kept: str) -> None:
    assert credited_remaining(D(balance), D(amount)) == D(kept)
