"""Background jobs: periodic housekeeping, offline batches, segment refreshes and the accruals
outside receipts (welcome, birthday, mass accruals)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mappings.pos import OfflineReceiptSchema, offline_receipts, offline_result
from processing.accruals import mass
from processing.accruals.birthday import birthday_batch, birthday_rules
from processing.accruals.welcome import grant_welcome
from processing.cards.service import finish_expired
from processing.coupons.lifecycle import expire_coupons as expire_due_coupons
from processing.db import lock_rows
from processing.ledger.service import expire_due
from processing.promotions.models import Segment
from processing.promotions.segments import (
    FILTER,
    filter_segment_ids,
    finish_refresh,
    refresh_batch,
)
from processing.receipts.inputs import PosContext
from processing.receipts.models import OfflineBatch, SoftCalculation
from processing.receipts.offline import CHUNK, commit_offline
from processing.receipts.rows import SOFT_RESULT_TTL
from processing.tenants.models import Pos, Store, Tenant
from sync.exchange import purge_before
from sync.models import JobRun
from sync.queue import DEFAULT_TIMEOUT_S, claim_job, enqueue
from sync.runtime import current, job_session

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


def expire_coupons(run_key: str, now: datetime | None = None) -> int:
    """Mark unused coupons past their series' end as expired, a batch per transaction; returns
    how many (an expired coupon is not selected again)."""
    moment = now or datetime.now(UTC)
    return _in_batches(run_key, lambda session: expire_due_coupons(session, moment))


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


def _claimed(run_key: str) -> bool:
    with job_session() as session:
        return session.scalar(select(JobRun.key).where(JobRun.key == run_key)) is not None


def _claim(run_key: str) -> None:
    with job_session() as session:
        claim_job(session, run_key)


def refresh_segment(segment_id: int, now: datetime | None = None) -> int | None:
    """Materialise a filter segment's members, a batch of customers per transaction; answers
    the member count (None: no such filter segment). Idempotent: a second run, or one running
    alongside, inserts and deletes nothing the first did not, so no guard row is needed."""
    moment = now or datetime.now(UTC)
    after: int | None = 0
    while after is not None:
        with job_session() as session:
            segment = session.get(Segment, segment_id)
            if segment is None or segment.kind != FILTER:
                return None
            after = refresh_batch(session, segment, after, moment)
    with job_session() as session:
        return finish_refresh(session, session.get_one(Segment, segment_id), moment)


def refresh_filter_segments(run_key: str, now: datetime | None = None) -> int:
    """The daily refresh of every filter segment; answers how many were refreshed."""
    if _claimed(run_key):
        return 0
    moment = now or datetime.now(UTC)
    with job_session() as session:
        ids = filter_segment_ids(session)
    for segment_id in ids:
        refresh_segment(segment_id, moment)
    _claim(run_key)
    return len(ids)


def welcome_bonus(customer_id: int, trigger: str, now: datetime | None = None) -> bool:
    """Credit a customer's welcome bonus if due (``processing.accruals.welcome``); once per
    customer however often it runs: its event row is the guard."""
    with job_session() as session:
        return grant_welcome(session, customer_id, trigger, now or datetime.now(UTC)) is not None


def birthday_bonuses(run_key: str, now: datetime | None = None) -> int:
    """The daily birthday bonuses of every tenant whose bonus program has them, a batch of
    customers per transaction; answers how many were credited (once a year each: the event
    row is the guard)."""
    if _claimed(run_key):
        return 0
    moment = now or datetime.now(UTC)
    with job_session() as session:
        tenants = [t.id for t in session.scalars(select(Tenant).order_by(Tenant.id))
                   if birthday_rules(session, t, moment) is not None]  # fmt: skip
    credited = 0
    for tenant_id in tenants:
        after: int | None = 0
        while after is not None:
            with job_session() as session:
                tenant = session.get_one(Tenant, tenant_id)
                rules = birthday_rules(session, tenant, moment)
                if rules is None:
                    break
                after, done = birthday_batch(session, tenant, rules, after, moment)
            credited += done
    _claim(run_key)
    return credited


def mass_accrual_timeout(members: int) -> int:
    """A mass accrual's job timeout: a few milliseconds per member on top of the default."""
    return DEFAULT_TIMEOUT_S + members // 50


def run_mass_accrual(accrual_id: int, now: datetime | None = None) -> bool:
    """Run a due mass accrual to the end: a filter segment is refreshed first, then its members
    are credited a batch per transaction from the checkpoint. Answers whether it ran. A second
    job of the same accrual waits for each batch's row lock and goes on from the checkpoint."""
    moment = now or datetime.now(UTC)
    with job_session() as session:
        start = mass.prepare(session, accrual_id, moment)
    if start is None or not start.due:
        return False
    if start.refresh:
        refresh_segment(start.segment_id, moment)
    more = True
    while more:
        with job_session() as session:
            more = mass.run_batch(session, accrual_id, moment)
    return True


def start_due_mass_accruals(run_key: str, now: datetime | None = None) -> int:
    """Enqueue a job for every mass accrual due (or left running by a lost worker); answers
    how many."""
    moment = now or datetime.now(UTC)
    with job_session() as session:
        if not claim_job(session, run_key):
            return 0
        due = mass.due_mass_accruals(session, moment)
        for accrual_id, members in due:
            enqueue(session, run_mass_accrual, accrual_id, job_id=f"mass-accrual-{accrual_id}",
                    timeout_s=mass_accrual_timeout(members))  # fmt: skip
    return len(due)


def purge_exchange_files(run_key: str) -> int:
    """Remove 1C's exchange sessions and their uploaded files older than the retention
    (``EXCHANGE_RETENTION_DAYS``); the sync runs stay. Returns how many files went."""
    with job_session() as session:
        if not claim_job(session, run_key):
            return 0
        days = current().settings.exchange_retention_days
        return purge_before(session, datetime.now(UTC) - timedelta(days=days))
