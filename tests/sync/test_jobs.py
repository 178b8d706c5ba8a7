from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from processing.ledger.models import Posting
from processing.ledger.service import PostingKind, balance, credit, open_account
from processing.receipts.models import SoftCalculation
from processing.tenants.models import Pos
from sync import exchange
from sync.jobs import expire_bonuses, purge_exchange_files, purge_soft_calculations
from sync.models import ExchangeChunk, ExchangeFile, SyncRun
from sync.runtime import Runtime, activate
from tests import factories
from tests.connector.onec_http.world import seed_world
from tests.factories import T0


@pytest.mark.committed
def test_expiry_job_expires_due_bonus_once_per_run_key(runtime: Runtime, engine: Engine) -> None:
    activate(runtime)
    with Session(engine) as session:
        tenant = factories.tenant(session)
        accounts = [open_account(session, tenant.id) for _ in range(3)]
        for i, account in enumerate(accounts):
            credit(session, account.id, Decimal("10.00"), PostingKind.ACCRUAL, now=T0,
                   expires_at=T0 + timedelta(days=i + 1))  # fmt: skip
        session.commit()
        ids = [account.id for account in accounts]
    when = T0 + timedelta(days=2)
    assert expire_bonuses("expire-bonuses-1", now=when) == 2
    assert expire_bonuses("expire-bonuses-1", now=when) == 0
    assert expire_bonuses("expire-bonuses-2", now=when) == 0  # nothing left to expire
    with Session(engine) as session:
        totals = [balance(session, account_id, when).total for account_id in ids]
        assert totals == [Decimal("0.00"), Decimal("0.00"), Decimal("10.00")]
        kinds = session.scalars(select(Posting.kind).order_by(Posting.id)).all()
        assert kinds.count("expiry") == 2


@pytest.mark.committed
def test_old_soft_results_are_purged(runtime: Runtime, engine: Engine) -> None:
    activate(runtime)
    with Session(engine) as session:
        world = seed_world(session)
        now = datetime.now(UTC)
        tenant_id = world.tenant_id
        pos_id = session.scalars(select(Pos.id)).first()
        for key, age in (("old", timedelta(days=3)), ("new", timedelta(hours=1))):
            soft = SoftCalculation(
                id=key, tenant_id=tenant_id, pos_id=pos_id, input_hash="x", result={},
                created_at=now - age,
            )  # fmt: skip
            session.add(soft)
        session.commit()
    assert purge_soft_calculations("purge-soft-calculations-1") == 1
    assert purge_soft_calculations("purge-soft-calculations-1") == 0
    with Session(engine) as session:
        assert session.scalars(select(SoftCalculation.id)).all() == ["new"]


@pytest.mark.committed
def test_exchange_files_are_purged_after_the_retention(runtime: Runtime, engine: Engine) -> None:
    activate(runtime)
    now = datetime.now(UTC)
    with Session(engine) as session:
        tenant = factories.tenant(session)
        kept = {}
        for name, age in (("old", timedelta(days=15)), ("new", timedelta(days=13))):
            opened = exchange.open_session(session, tenant.id, "catalog", now - age)
            stored = exchange.append(
                session, opened.exchange, f"{name}.xml", io.BytesIO(b"<x/>" * 10),
                max_bytes=1_000, now=now - age,
            )  # fmt: skip
            kept[name] = stored.id
        run = SyncRun(
            tenant_id=tenant.id, source="commerceml", session_id=session.get_one(
                ExchangeFile, kept["old"]).session_id, file_id=kept["old"], file_name="old.xml",
            stored_name="old.xml", status="done", started_at=now - timedelta(days=15),
        )  # fmt: skip
        session.add(run)
        session.commit()
        run_id = run.id
    assert purge_exchange_files("purge-exchange-files-1") == 1
    assert purge_exchange_files("purge-exchange-files-1") == 0
    with Session(engine) as session:
        assert session.scalars(select(ExchangeFile.id)).all() == [kept["new"]]
        chunks = session.scalars(select(ExchangeChunk.file_id).distinct()).all()
        assert chunks == [kept["new"]]
        run = session.get_one(SyncRun, run_id)  # the log keeps the run, without its file
        assert (run.file_id, run.session_id, run.file_name) == (None, None, "old.xml")
