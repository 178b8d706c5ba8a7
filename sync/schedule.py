"""Periodic jobs and the loop that starts them when due.

Time is cut into slots of each job's period; a job is due once per slot, and the slot number
is part of its run key, so several schedulers (or a restart) never run one slot twice: the job's
``claim_job`` guard drops the duplicates. With Redis the scheduler only enqueues into RQ; in
embedded mode ``serve`` runs the same loop in a thread and calls the jobs inline.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.runtime import Runtime

log = logging.getLogger(__name__)

TICK_S = 30.0


@dataclass(frozen=True)
class PeriodicJob:
    name: str  # [A-Za-z0-9_-]: it becomes part of RQ job ids
    path: str  # "module.function", called with the run key
    every: timedelta

    def slot(self, now: datetime) -> int:
        return int(now.timestamp() // self.every.total_seconds())

    def run_key(self, slot: int) -> str:
        return f"{self.name}-{slot}"

    def resolve(self) -> Callable[[str], Any]:
        module, _, func = self.path.rpartition(".")
        target: Callable[[str], Any] = getattr(importlib.import_module(module), func)
        return target


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("purge-job-runs", "sync.jobs.purge_job_runs", timedelta(days=1)),
    PeriodicJob("expire-bonuses", "sync.jobs.expire_bonuses", timedelta(days=1)),
    PeriodicJob("finish-expired-cards", "sync.jobs.finish_expired_cards", timedelta(days=1)),
    PeriodicJob("expire-coupons", "sync.jobs.expire_coupons", timedelta(days=1)),
    PeriodicJob("purge-soft-calculations", "sync.jobs.purge_soft_calculations", timedelta(hours=6)),
    PeriodicJob("refresh-segments", "sync.jobs.refresh_filter_segments", timedelta(days=1)),
    PeriodicJob("birthday-bonuses", "sync.jobs.birthday_bonuses", timedelta(days=1)),
    PeriodicJob("mass-accruals", "sync.jobs.start_due_mass_accruals", timedelta(minutes=5)),
    PeriodicJob("purge-exchange-files", "sync.jobs.purge_exchange_files", timedelta(days=1)),
)

Dispatch = Callable[[PeriodicJob, str], None]


def dispatch_to_rq(runtime: Runtime) -> Dispatch:
    from rq import Queue

    queue = Queue(runtime.settings.queue_name, connection=runtime.redis())

    def send(job: PeriodicJob, run_key: str) -> None:
        queue.enqueue(job.path, args=(run_key,), job_id=run_key, job_timeout=3600)

    return send


def dispatch_inline(job: PeriodicJob, run_key: str) -> None:
    job.resolve()(run_key)


def run_due(
    jobs: tuple[PeriodicJob, ...],
    last_slots: dict[str, int],
    now: datetime,
    dispatch: Dispatch,
) -> list[str]:
    """Dispatch every job whose current slot has not been dispatched yet; returns run keys."""
    started = []
    for job in jobs:
        slot = job.slot(now)
        if last_slots.get(job.name) == slot:
            continue
        run_key = job.run_key(slot)
        try:
            dispatch(job, run_key)
        except Exception:
            log.exception("periodic job failed to start", extra={"job": job.name})
            continue
        last_slots[job.name] = slot
        started.append(run_key)
    return started


def run_schedule(
    dispatch: Dispatch,
    stop: threading.Event,
    jobs: tuple[PeriodicJob, ...] = PERIODIC_JOBS,
    tick_s: float = TICK_S,
) -> None:
    last_slots: dict[str, int] = {}
    while not stop.is_set():
        run_due(jobs, last_slots, datetime.now(UTC), dispatch)
        stop.wait(tick_s)
