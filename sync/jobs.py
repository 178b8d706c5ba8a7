"""Periodic housekeeping jobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mappings.pos import OfflineReceiptSchema, offline_receipts, offline_result
from processing.cards.service import finish_expired
from processing.db import lock_rows
from processing.ledger.service import expire_due
from processing.receipts.inputs import PosContext
from processing.receipts.models import OfflineBatch, SoftCalculation
from processing.receipts.offline import CHUNK, commit_offline
from processing.receipts.rows import SOFT_RESULT_TTL
from processing.tenants.models import Pos, Store, Tenant
from sync.models import JobRun
from sync.queue import claim_job
from sync.runtime import job_session

JOB_RUN_RETENTION = timedelta(days=90)


def purge_job_runs(run_key: str) -> int:
    """Forget job claims older than the retention; returns how many were removed."""
    with job_session() as session:
        if not claim_job(session, run_key):
            return 0
        cutoff = datetime.now(UTC) - JOB_RUN_RETENTION
        result = session.execute(
            delete(JobRun).where(JobRun.claimed_at < cutoff, JobRun.key != run_key)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _in_batches(run_key: str, step: Callable[[Session], int]) -> int:
    """Run ``step`` (work on one batch, return how many items) a transaction at a time until
    nothing is left; returns the total. For work that is idempotent in itself, so a crash
    mid-way is finished by the next run; the run key marks completion."""
    with job_session() as session:
        if session.scalar(select(JobRun.key).where(JobRun.key == run_key)) is not None:
            return 0
    total = 0
    while True:
        with job_session() as session:
            done = step(session)
        total += done
        if done == 0:
            break
    with job_session() as session:
        claim_job(session, run_key)
    return total


def expire_bonuses(run_key: str, now: datetime | None = None) -> int:
    """Expire every bonus lot due by ``now``, a batch of accounts per transaction; returns how
    many accounts were touched (an expired lot is left at zero, so this is idempotent)."""
    moment = now or datetime.now(UTC)
    return _in_batches(run_key, lambda session: expire_due(session, moment))


def finish_expired_cards(run_key: str, now: datetime | None = None) -> int:
    """Record Завершена for every card past its validity date, a batch per transaction; returns
    how many (a finished card is not selected again)."""
    moment = now or datetime.now(UTC)
    return _in_batches(run_key, lambda session: finish_expired(session, moment))


def process_offline_batch(batch_id: str) -> None:
    """Commit a large offline upload received by the API, a chunk of receipts per transaction
    with its results, so account locks are short and a retried job resumes where it stopped
    (and a receipt committed twice replays anyway)."""
    with job_session() as session:
        batch = session.get(OfflineBatch, batch_id)
        if batch is None or batch.status == "done":
            return
        items = OfflineReceiptSchema(many=True).load(batch.receipts)
        done = len(batch.results)
        batch.status = "running"
    for start in range(done, len(items), CHUNK):
        with job_session() as session:
            batch = session.scalar(
                lock_rows(select(OfflineBatch).where(OfflineBatch.id == batch_id))
            )
            if batch is None or len(batch.results) != start:
                return  # another run of this job is ahead
            pos = session.get_one(Pos, batch.pos_id)
            store = session.get_one(Store, pos.store_id)
            ctx = PosContext.of(session.get_one(Tenant, pos.tenant_id), store, pos)
            prepared = offline_receipts(items[start : start + CHUNK], store.timezone)
            outcomes = commit_offline(session, ctx, prepared, now=datetime.now(UTC))
            batch.results = [*batch.results, *(offline_result(o) for o in outcomes)]
    with job_session() as session:
        batch = session.get_one(OfflineBatch, batch_id)
        batch.status = "done"
        batch.finished_at = datetime.now(UTC)
        batch.receipts = []  # the bodies may hold phones (152-FZ): only the results are kept


def purge_soft_calculations(run_key: str) -> int:
    """Drop soft results older than their TTL: a commit that late recomputes anyway."""
    with job_session() as session:
        if not claim_job(session, run_key):
            return 0
        cutoff = datetime.now(UTC) - SOFT_RESULT_TTL
        result = session.execute(delete(SoftCalculation).where(SoftCalculation.created_at < cutoff))
        return int(result.rowcount)  # type: ignore[attr-defined]
