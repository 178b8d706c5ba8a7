"""``enqueue()``: the one way to start background work, and the once-only job guard.

Jobs are dispatched only after the enqueuing session commits and are dropped when it rolls
back, so a job never sees data that was not committed. With ``REDIS_URL`` the job goes to RQ;
without it, it runs inline right after the commit (RQ cannot run without a Redis server).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from processing.db import insert_ignore
from sync.models import JobRun
from sync.runtime import RUNTIME_KEY, Runtime

log = logging.getLogger(__name__)

PENDING_KEY = "pending_jobs"
JOB_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
DEFAULT_TIMEOUT_S = 600
RETRY_INTERVALS_S = (10, 60, 300)


@dataclass(frozen=True)
class PendingJob:
    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    job_id: str | None = None
    timeout_s: int = DEFAULT_TIMEOUT_S

    @property
    def path(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


def enqueue(
    session: Session,
    func: Callable[..., Any],
    *args: Any,
    job_id: str | None = None,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    **kwargs: Any,
) -> None:
    """Run ``func(*args, **kwargs)`` in the background once ``session`` commits.

    ``func`` must be a module-level function (workers import it by path). ``job_id`` names the
    job in RQ; it does not prevent a second run: the job guards itself with ``claim_job``.
    """
    if job_id is not None and not JOB_ID_RE.fullmatch(job_id):
        raise ValueError(f"job id {job_id!r} may contain only [A-Za-z0-9_-]")
    if RUNTIME_KEY not in session.info:
        raise RuntimeError("enqueue() needs a session made by a Runtime")
    session.info.setdefault(PENDING_KEY, []).append(
        PendingJob(func, args, kwargs, job_id, timeout_s)
    )


def dispatch(runtime: Runtime, job: PendingJob) -> None:
    if runtime.settings.uses_redis:
        _send_to_rq(runtime, job)
    else:
        run_inline(job)


def _send_to_rq(runtime: Runtime, job: PendingJob) -> None:
    from rq import Queue, Retry

    queue = Queue(runtime.settings.queue_name, connection=runtime.redis())
    queue.enqueue(
        job.path,
        args=job.args,
        kwargs=job.kwargs,
        job_id=job.job_id,
        job_timeout=job.timeout_s,
        retry=Retry(max=len(RETRY_INTERVALS_S), interval=list(RETRY_INTERVALS_S)),
        failure_ttl=7 * 24 * 3600,
    )


def run_inline(job: PendingJob) -> None:
    # The enqueuing transaction is already committed: a failing job is logged, as a worker
    # would record it, and never undoes or fails the request that enqueued it.
    try:
        job.func(*job.args, **job.kwargs)
    except Exception:
        log.exception("inline job failed", extra={"job": job.path, "job_id": job.job_id})


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the jobs wait for the outer transaction's commit
    jobs: list[PendingJob] = session.info.pop(PENDING_KEY, [])
    if not jobs:
        return
    runtime: Runtime = session.info[RUNTIME_KEY]
    for job in jobs:
        try:
            dispatch(runtime, job)
        except Exception:
            log.exception("could not dispatch job", extra={"job": job.path, "job_id": job.job_id})


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


def claim_job(session: Session, key: str) -> bool:
    """Claim a job identity in the job's own transaction; False when it already ran.

    On PostgreSQL a concurrent claim of the same key waits for the first transaction and then
    finds the row, so exactly one run does the work. A failed run rolls its claim back.
    """
    inserted = insert_ignore(
        session, JobRun, [{"key": key, "claimed_at": datetime.now(UTC)}], ["key"]
    )
    return inserted == 1
