from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from processing.ledger.models import Posting
from processing.ledger.service import PostingKind, balance, credit, open_account
from sync.jobs import expire_bonuses
from sync.runtime import Runtime, activate
from tests import factories
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
