"""Periodic jobs: once per slot, retried when they fail to start, enqueued into RQ with Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import load_settings
from sync.jobs import purge_job_runs
from sync.models import JobRun
from sync.runtime import Runtime, activate
from sync.schedule import PERIODIC_JOBS, PeriodicJob, dispatch_to_rq, run_due

HOURLY = PeriodicJob("hourly", "tests.nowhere.job", timedelta(hours=1))
T0 = datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)


def test_job_is_dispatched_once_per_slot() -> None:
    calls: list[str] = []
    slots: dict[str, int] = {}

    def dispatch(job: PeriodicJob, key: str) -> None:
        calls.append(key)

    run_due((HOURLY,), slots, T0, dispatch)
    run_due((HOURLY,), slots, T0 + timedelta(minutes=59), dispatch)
    run_due((HOURLY,), slots, T0 + timedelta(minutes=60), dispatch)
    assert calls == [HOURLY.run_key(HOURLY.slot(T0)), HOURLY.run_key(HOURLY.slot(T0) + 1)]
    assert calls[0] != calls[1]


def test_failed_start_is_retried_on_next_tick() -> None:
    attempts: list[str] = []
    slots: dict[str, int] = {}

    def flaky(job: PeriodicJob, key: str) -> None:
        attempts.append(key)
        if len(attempts) == 1:
            raise ConnectionError("redis down")

    assert run_due((HOURLY,), slots, T0, flaky) == []
    assert run_due((HOURLY,), slots, T0, flaky) == [attempts[0]]
    assert len(attempts) == 2


def test_every_periodic_job_resolves_and_has_an_rq_safe_name() -> None:
    for job in PERIODIC_JOBS:
        assert callable(job.resolve())
        assert job.run_key(123).replace("-", "").replace("_", "").isalnum()


@pytest.mark.committed
def test_dispatch_to_rq_enqueues_by_run_key(database_url: str, redis_url: str) -> None:
    queue_name = f"test-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RQ_QUEUE": queue_name}
    )
    send = dispatch_to_rq(Runtime(settings))
    job = PERIODIC_JOBS[0]
    key = job.run_key(job.slot(T0))
    redis = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=redis)
    try:
        send(job, key)
        assert queue.job_ids == [key]
        rq_job = queue.fetch_job(key)
        assert rq_job is not None
        assert rq_job.func_name == job.path
        assert list(rq_job.args) == [key]
    finally:
        queue.empty()
        queue.delete(delete_jobs=True)


@pytest.mark.committed
def test_purge_job_runs_keeps_recent_claims_and_runs_once(
    runtime: Runtime, session: Session
) -> None:
    activate(runtime)
    now = datetime.now(UTC)
    session.add_all(
        [
            JobRun(key="old", claimed_at=now - timedelta(days=91)),
            JobRun(key="recent", claimed_at=now - timedelta(days=89)),
        ]
    )
    session.commit()
    assert purge_job_runs("purge-job-runs-1") == 1
    assert purge_job_runs("purge-job-runs-1") == 0
    keys = set(session.scalars(select(JobRun.key)))
    assert keys == {"recent", "purge-job-runs-1"}
    assert session.scalar(select(func.count()).select_from(JobRun)) == 2


def test_segments_birthdays_and_mass_accruals_are_periodic() -> None:
    periods = {job.name: (job.path, job.every) for job in PERIODIC_JOBS}
    assert periods["refresh-segments"] == ("sync.jobs.refresh_filter_segments", timedelta(days=1))
    assert periods["birthday-bonuses"] == ("sync.jobs.birthday_bonuses", timedelta(days=1))
    assert periods["mass-accruals"] == ("sync.jobs.start_due_mass_accruals", timedelta(minutes=5))
