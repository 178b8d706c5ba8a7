"""Per-process caches hold only committed reads: a value read in a transaction that rolls back
(or in a savepoint that rolls back) never reaches the cache, nor one read before a change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from processing import cache
from processing.cache import ProcessCache
from processing.programs.service import add_program, add_version, rules_at
from processing.tenants.callers import caller_by_token, callers_cache
from processing.tenants.models import Cashier, Tenant
from processing.tenants.service import add_pos, add_store, add_tenant, cashier_id, cashiers_cache
from tests.factories import T0

pytestmark = pytest.mark.committed
BONUS = {"accrual_percent": "3", "max_payment_percent": "50"}


@pytest.fixture
def probe() -> Iterator[ProcessCache[str, int]]:
    made = ProcessCache[str, int]("probe", 60.0, watches=(Cashier,))
    yield made
    ProcessCache.registry.remove(made)


def test_a_staged_value_is_published_only_when_the_transaction_commits(
    engine: Engine, probe: ProcessCache[str, int]
) -> None:
    with Session(engine) as session:
        probe.stage(session, "a", 1)
        assert probe.get("a") is None
        session.commit()
    assert probe.get("a") == 1


def test_a_rolled_back_transaction_publishes_nothing(
    engine: Engine, probe: ProcessCache[str, int]
) -> None:
    with Session(engine) as session:
        probe.stage(session, "a", 1)
        session.rollback()
        session.commit()
    with Session(engine) as session:
        probe.stage(session, "b", 2)
    # closed without commit: abandoned
    assert probe.get("a") is None and probe.get("b") is None


def test_a_rolled_back_savepoint_drops_only_what_it_staged(
    engine: Engine, probe: ProcessCache[str, int]
) -> None:
    with Session(engine) as session:
        probe.stage(session, "outer", 1)
        savepoint = session.begin_nested()
        probe.stage(session, "inner", 2)
        savepoint.rollback()
        kept = session.begin_nested()
        probe.stage(session, "kept", 3)
        kept.commit()
        assert probe.get("kept") is None  # a savepoint's release is not the commit
        session.commit()
    assert (probe.get("outer"), probe.get("inner"), probe.get("kept")) == (1, None, 3)


def test_a_value_read_before_a_change_of_a_watched_model_is_not_published(
    engine: Engine, probe: ProcessCache[str, int]
) -> None:
    with Session(engine) as session:
        tenant = add_tenant(session, "t1", "T")
        probe.stage(session, "stale", 1)
        session.add(Cashier(tenant_id=tenant.id, code="c", name="c"))
        session.flush()  # a watched model changes after the read
        session.commit()
    assert probe.get("stale") is None


def test_entries_expire(
    engine: Engine, probe: ProcessCache[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(engine) as session:
        probe.stage(session, "a", 1)
        session.commit()
    later = cache.time.monotonic() + 61
    monkeypatch.setattr(cache.time, "monotonic", lambda: later)
    assert probe.get("a") is None


def test_a_cashier_created_by_a_rolled_back_transaction_is_not_cached(engine: Engine) -> None:
    with Session(engine) as session:
        tenant_id = add_tenant(session, "t1", "T").id
        session.commit()
    with Session(engine) as session:
        cashier_id(session, tenant_id, "new")
        cashier_id(session, tenant_id, "new")  # seen again in the same transaction
        session.rollback()
    assert cashiers_cache.get((tenant_id, "new")) is None
    with Session(engine) as session:
        created = cashier_id(session, tenant_id, "new")
        session.commit()
    assert cashiers_cache.get((tenant_id, "new")) == (created, "new")
    with Session(engine) as session:
        assert session.get(Cashier, created) is not None


def test_a_pos_read_in_a_rolled_back_transaction_is_not_cached(engine: Engine) -> None:
    with Session(engine) as session:
        tenant = add_tenant(session, "t1", "T")
        store = add_store(session, tenant, "s1", "S")
        add_pos(session, store, "p1", token="tok-rolled-back")
        assert caller_by_token(session, "tok-rolled-back") is not None
        session.rollback()
    with Session(engine) as session:
        assert caller_by_token(session, "tok-rolled-back") is None
    assert not any(callers_cache.get(key) for key in ("tok-rolled-back",))


def test_rules_read_in_a_rolled_back_transaction_are_not_cached(engine: Engine) -> None:
    with Session(engine) as session:
        tenant = add_tenant(session, "t1", "T")
        store = add_store(session, tenant, "s1", "S")
        tenant_id, store_id = tenant.id, store.id
        session.commit()
    with Session(engine) as session:
        program = add_program(session, session.get_one(Tenant, tenant_id), "bonus", "b", "B")
        add_version(session, program, BONUS, T0 - timedelta(days=1))
        assert rules_at(session, tenant_id, store_id, T0).bonus is not None
        session.rollback()
    with Session(engine) as session:
        assert rules_at(session, tenant_id, store_id, T0).bonus is None
