from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.errors import ConnectorError
from processing.ledger.models import Account, BonusLot, LotMovement, Posting
from processing.ledger.service import (
    PostingKind,
    balance,
    correct,
    credit,
    debit,
    expire_due,
    expiring,
    open_account,
)
from processing.types import money_total
from tests import factories
from tests.factories import T0

D = Decimal
DAY = timedelta(days=1)


@pytest.fixture
def account(session: Session) -> Account:
    return open_account(session, factories.tenant(session).id)


def _lots(session: Session, account: Account) -> list[tuple[Decimal, Decimal]]:
    rows = session.scalars(
        select(BonusLot).where(BonusLot.account_id == account.id).order_by(BonusLot.id)
    )
    return [(lot.amount, lot.remaining) for lot in rows]


def _check_invariants(session: Session, account_id: int) -> None:
    stored = session.scalar(select(Account.balance).where(Account.id == account_id))
    postings = session.scalar(
        select(money_total(Posting.amount)).where(Posting.account_id == account_id)
    )
    lots = session.scalar(
        select(money_total(BonusLot.remaining)).where(BonusLot.account_id == account_id)
    )
    assert stored == postings
    assert lots == max(stored, D(0))  # type: ignore[type-var]
    assert stored >= 0  # type: ignore[operator]


def test_write_off_takes_lots_fifo_by_expiry(session: Session, account: Account) -> None:
    credit(session, account.id, D("100.00"), PostingKind.ACCRUAL, now=T0, expires_at=T0 + 30 * DAY)
    credit(session, account.id, D("50.00"), PostingKind.ACCRUAL, now=T0, expires_at=T0 + 10 * DAY)
    credit(session, account.id, D("70.00"), PostingKind.OPENING, now=T0)  # never expires: last
    credit(session, account.id, D("20.00"), PostingKind.ACCRUAL, now=T0, expires_at=T0 + 20 * DAY)
    posting = debit(session, account.id, D("90.00"), PostingKind.WRITE_OFF, now=T0 + DAY)
    assert _lots(session, account) == [
        (D("100.00"), D("80.00")),
        (D("50.00"), D("0.00")),
        (D("70.00"), D("70.00")),
        (D("20.00"), D("0.00")),
    ]
    moved = session.scalars(select(LotMovement.amount).where(LotMovement.posting_id == posting.id))
    assert sorted(moved) == [D("-50.00"), D("-20.00"), D("-20.00")]
    assert posting.balance_after == D("150.00")
    _check_invariants(session, account.id)


def test_write_off_never_overdraws(session: Session, account: Account) -> None:
    credit(session, account.id, D("10.00"), PostingKind.ACCRUAL, now=T0)
    with pytest.raises(ConnectorError) as error:
        debit(session, account.id, D("10.01"), PostingKind.WRITE_OFF, now=T0)
    assert error.value.code == "NOT_ENOUGH_BONUS"
    assert error.value.details == {"available": "10.00", "requested": "10.01"}
    for bad in (D("0"), D("-1.00"), D("0.001")):
        with pytest.raises(ConnectorError) as error:
            debit(session, account.id, bad, PostingKind.WRITE_OFF, now=T0)
        assert error.value.code == "INVALID_BONUS_AMOUNT"
    assert balance(session, account.id, T0).total == D("10.00")


def test_activation_delay_keeps_bonus_pending(session: Session, account: Account) -> None:
    credit(session, account.id, D("30.00"), PostingKind.ACCRUAL, now=T0, activates_at=T0 + 14 * DAY)
    assert balance(session, account.id, T0) == balance(session, account.id, T0 + 13 * DAY)
    pending = balance(session, account.id, T0)
    assert (pending.total, pending.active, pending.pending) == (D("30.00"), D("0.00"), D("30.00"))
    with pytest.raises(ConnectorError):
        debit(session, account.id, D("1.00"), PostingKind.WRITE_OFF, now=T0 + 13 * DAY)
    active = balance(session, account.id, T0 + 14 * DAY)
    assert (active.active, active.pending) == (D("30.00"), D("0.00"))
    debit(session, account.id, D("30.00"), PostingKind.WRITE_OFF, now=T0 + 14 * DAY)


def test_expiry_at_the_boundary(session: Session, account: Account) -> None:
    expires = T0 + 30 * DAY
    credit(session, account.id, D("40.00"), PostingKind.ACCRUAL, now=T0, expires_at=expires)
    just_before = expires - timedelta(microseconds=1)
    assert balance(session, account.id, just_before).active == D("40.00")
    assert expire_due(session, just_before) == 0
    debit(session, account.id, D("15.00"), PostingKind.WRITE_OFF, now=just_before)
    assert balance(session, account.id, expires).active == D("0.00")
    with pytest.raises(ConnectorError):
        debit(session, account.id, D("1.00"), PostingKind.WRITE_OFF, now=expires)
    assert expire_due(session, expires) == 1
    assert expire_due(session, expires) == 0  # idempotent
    expired = session.scalars(
        select(Posting).where(Posting.account_id == account.id, Posting.kind == "expiry")
    ).one()
    assert expired.amount == D("-25.00") and expired.balance_after == D("0.00")
    _check_invariants(session, account.id)


def test_expiring_within_n_days(session: Session, account: Account) -> None:
    credit(session, account.id, D("5.00"), PostingKind.ACCRUAL, now=T0, expires_at=T0 + 3 * DAY)
    credit(session, account.id, D("6.00"), PostingKind.ACCRUAL, now=T0, expires_at=T0 + 8 * DAY)
    credit(session, account.id, D("7.00"), PostingKind.ACCRUAL, now=T0)
    soon = expiring(session, account.tenant_id, T0, 7 * DAY)
    assert [(e.amount, e.expires_at) for e in soon] == [(D("5.00"), T0 + 3 * DAY)]
    assert len(expiring(session, account.tenant_id, T0, 8 * DAY)) == 2


def test_manual_correction_needs_reason_and_author(session: Session, account: Account) -> None:
    posting = correct(session, account.id, D("12.00"), reason="жалоба", author="admin", now=T0)
    assert (posting.kind, posting.reason, posting.author) == ("correction", "жалоба", "admin")
    correct(session, account.id, D("-2.00"), reason="ошибка", author="admin", now=T0)
    assert balance(session, account.id, T0).total == D("10.00")
    with pytest.raises(ConnectorError):
        correct(session, account.id, D("1.00"), reason=" ", author="admin", now=T0)
    with pytest.raises(ConnectorError) as error:
        correct(session, account.id, D("-11.00"), reason="x", author="admin", now=T0)
    assert error.value.code == "NOT_ENOUGH_BONUS"


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("credit"),
            st.integers(1, 50_000),
            st.integers(0, 20),  # activation delay, days
            st.one_of(st.none(), st.integers(1, 40)),  # lifetime, days
        ),
        st.tuples(st.just("debit"), st.integers(1, 60_000), st.just(0), st.none()),
        st.tuples(st.just("wait"), st.integers(1, 15), st.just(0), st.none()),
        st.tuples(st.just("expire"), st.just(0), st.just(0), st.none()),
    ),
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
def test_balance_is_the_sum_of_postings_and_lots(
    session: Session, account: Account, ops: list[tuple[str, int, int, int | None]]
) -> None:
    """Random credits, FIFO debits, expiry and time: the stored balance equals the postings'
    sum and the lots' remainders, the active balance equals a simple model's, never < 0."""
    account = open_account(session, account.tenant_id)  # a fresh account per example
    now = T0
    model: list[list[object]] = []  # [remaining kopecks, activates, expires]
    for kind, amount, delay, lifetime in ops:
        if kind == "credit":
            activates = now + delay * DAY
            expires = activates + lifetime * DAY if lifetime else None
            credit(session, account.id, D(amount).scaleb(-2), PostingKind.ACCRUAL, now=now,
                   activates_at=activates, expires_at=expires)  # fmt: skip
            model.append([amount, activates, expires])
        elif kind == "debit":
            usable = [
                lot for lot in model
                if lot[0] and lot[1] <= now and (lot[2] is None or lot[2] > now)  # type: ignore[operator]
            ]  # fmt: skip
            if sum(int(lot[0]) for lot in usable) < amount:  # type: ignore[call-overload]
                with pytest.raises(ConnectorError):
                    debit(session, account.id, D(amount).scaleb(-2), PostingKind.WRITE_OFF, now=now)
                continue
            debit(session, account.id, D(amount).scaleb(-2), PostingKind.WRITE_OFF, now=now)
            usable.sort(key=lambda lot: (lot[2] is None, lot[2] or now))
            left = amount
            for lot in usable:
                take = min(int(lot[0]), left)  # type: ignore[call-overload]
                lot[0] = int(lot[0]) - take  # type: ignore[call-overload]
                left -= take
        elif kind == "wait":
            now += amount * DAY
        else:
            expire_due(session, now)
            for lot in model:
                if lot[2] is not None and lot[2] <= now:  # type: ignore[operator]
                    lot[0] = 0
        _check_invariants(session, account.id)
        active = sum(
            int(lot[0]) for lot in model  # type: ignore[call-overload]
            if lot[1] <= now and (lot[2] is None or lot[2] > now)  # type: ignore[operator]
        )  # fmt: skip
        assert balance(session, account.id, now).active == D(active).scaleb(-2)


@pytest.mark.committed
def test_parallel_write_offs_never_overdraw_or_deadlock(engine: Engine) -> None:
    with Session(engine) as session:
        tenant = factories.tenant(session)
        account = open_account(session, tenant.id)
        credit(session, account.id, D("1000.00"), PostingKind.ACCRUAL, now=T0)
        session.commit()
        account_id = account.id
    outcomes: list[str] = []
    barrier = threading.Barrier(50)

    def write_off() -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                debit(session, account_id, D("30.00"), PostingKind.WRITE_OFF, now=T0)
                session.commit()
                outcomes.append("ok")
            except ConnectorError as error:
                session.rollback()
                outcomes.append(error.code)

    threads = [threading.Thread(target=write_off) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("ok") == 33 and outcomes.count("NOT_ENOUGH_BONUS") == 17
    with Session(engine) as session:
        assert balance(session, account_id, T0).total == D("10.00")
        _check_invariants(session, account_id)
        writes = session.scalar(
            select(func.count()).select_from(Posting).where(Posting.kind == "write_off")
        )
        assert writes == 33
