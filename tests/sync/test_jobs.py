from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from processing.ledger.models import Posting
from processing.ledger.service import PostingKind, balance, credit, open_account
from processing.receipts.models import SoftCalculation
from processing.tenants.models import Pos
from sync.jobs import expire_bonuses, purge_soft_calculations
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
