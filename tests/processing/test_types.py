"""Money columns in kopecks, aware UTC timestamps, the dialect helpers — on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from processing.db import insert_ignore, is_postgresql, lock_rows, make_engine, upsert
from processing.money import from_kopecks, round_money, to_kopecks
from processing.types import Money, UtcDateTime

metadata = MetaData()
sample = Table(
    "type_samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True),
    Column("amount", Money()),
    Column("at", UtcDateTime()),
    Column("hits", BigInteger, default=0),
)


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    if request.param == "postgresql":
        connection = request.getfixturevalue("connection")
        metadata.create_all(connection)
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            yield session
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 't.db'}")
    metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_money_round_trips_as_kopecks(db: Session) -> None:
    db.execute(sample.insert().values(id=1, amount=Decimal("1234567.89")))
    assert db.scalar(select(sample.c.amount)) == Decimal("1234567.89")
    raw = db.connection().exec_driver_sql("SELECT amount FROM type_samples").scalar()
    assert raw == 123456789


def test_money_refuses_fractions_of_a_kopeck_and_floats(db: Session) -> None:
    with pytest.raises(StatementError, match="kopecks"):
        db.execute(sample.insert().values(id=1, amount=Decimal("0.005")))
    db.rollback()
    with pytest.raises(StatementError, match="Decimal"):
        db.execute(sample.insert().values(id=2, amount=0.1))


def test_utc_datetime_is_aware_and_normalised(db: Session) -> None:
    moscow = timezone(timedelta(hours=3))
    db.execute(sample.insert().values(id=1, at=datetime(2026, 3, 1, 12, 0, tzinfo=moscow)))
    stored = db.scalar(select(sample.c.at))
    assert stored == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_utc_datetime_refuses_naive_values(db: Session) -> None:
    with pytest.raises(StatementError, match="timezone-aware"):
        db.execute(sample.insert().values(id=1, at=datetime(2026, 3, 1, 12, 0)))


def test_insert_ignore_counts_only_new_rows(db: Session) -> None:
    rows = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert insert_ignore(db, sample, rows, ["id"]) == 2
    assert insert_ignore(db, sample, [*rows, {"id": 3, "name": "c"}], ["id"]) == 1
    assert insert_ignore(db, sample, [], ["id"]) == 0


def test_upsert_updates_named_columns(db: Session) -> None:
    upsert(db, sample, {"id": 1, "name": "a", "hits": 1}, ["id"], ["hits"])
    upsert(db, sample, {"id": 1, "name": "zzz", "hits": 5}, ["id"], ["hits"])
    assert db.execute(select(sample.c.name, sample.c.hits)).one() == ("a", 5)


def test_lock_rows_renders_for_update_only_on_postgresql(db: Session) -> None:
    sql = str(lock_rows(select(sample)).compile(bind=db.get_bind()))
    assert ("FOR UPDATE" in sql) == is_postgresql(db)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_kopecks_round_trip(kopecks: int) -> None:
    assert to_kopecks(from_kopecks(kopecks)) == kopecks


@given(st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=4))
def test_round_money_is_half_up_to_the_kopeck(value: Decimal) -> None:
    rounded = round_money(value)
    assert abs(rounded - value) <= Decimal("0.005")
    if abs(rounded - value) == Decimal("0.005"):
        assert abs(rounded) > abs(value)  # ties go away from zero
