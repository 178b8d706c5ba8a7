"""enqueue(): inline after commit without Redis, RQ with a real worker with it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from redis import Redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import load_settings
from processing.tenants.models import Tenant
from sync.models import JobRun
from sync.queue import claim_job, enqueue
from sync.runtime import Runtime
from tests import jobs
from tests.conftest import REPO_ROOT, build_app


@pytest.fixture(autouse=True)
def _clear_runs() -> Iterator[None]:
    jobs.INLINE_RUNS.clear()
    yield
    jobs.INLINE_RUNS.clear()


@pytest.mark.committed
def test_inline_job_runs_only_after_commit(runtime: Runtime, engine: Engine) -> None:
    client = build_app(runtime).test_client()
    assert client.post("/test/tenants", json={"code": "shop-a"}).status_code == 201
    # The job read through its own connection: it saw the committed tenant.
    assert jobs.INLINE_RUNS == [("shop-a", True)]


@pytest.mark.committed
def test_inline_job_does_not_run_after_rollback(runtime: Runtime, engine: Engine) -> None:
    client = build_app(runtime).test_client()
    response = client.post("/test/tenants", json={"code": "shop-b", "fail_after_enqueue": True})
    assert response.status_code == 400
    assert jobs.INLINE_RUNS == []
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Tenant)) == 0


@pytest.mark.committed
def test_a_job_enqueued_in_a_savepoint_waits_for_the_outer_commit(runtime: Runtime) -> None:
    """A released savepoint is not a commit: the job runs after the outer transaction's commit
    (it then sees what it was enqueued for), and never when the outer one rolls back."""
    with runtime.session() as session:
        session.add(Tenant(code="shop-c", name="shop-c"))
        with session.begin_nested():
            enqueue(session, jobs.note_tenant, "shop-c")
        assert jobs.INLINE_RUNS == []
        session.commit()
    assert jobs.INLINE_RUNS == [("shop-c", True)]
    with runtime.session() as session:
        with session.begin_nested():
            enqueue(session, jobs.note_tenant, "shop-d")
        session.rollback()
    assert jobs.INLINE_RUNS == [("shop-c", True)]


def test_job_id_must_be_rq_safe(session: Session) -> None:
    with pytest.raises(ValueError, match="job id"):
        enqueue(session, jobs.note_tenant, "x", job_id="sync:1")


def test_enqueue_outside_a_runtime_session_is_refused(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(RuntimeError):
        enqueue(session, jobs.note_tenant, "x")


def test_claim_job_claims_once(session: Session) -> None:
    assert claim_job(session, "k-1") is True
    assert claim_job(session, "k-1") is False
    assert claim_job(session, "k-2") is True
    assert session.scalar(select(func.count()).select_from(JobRun)) == 2


def _worker_burst(database_url: str, redis_url: str, queue: str) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RQ_QUEUE": queue,
        "PYTHONPATH": str(REPO_ROOT),
    }
    subprocess.run(
        [sys.executable, "-m", "connector", "worker", "--burst"],
        env=env,
        cwd=REPO_ROOT,
        check=True,
        timeout=120,
        capture_output=True,
    )


@pytest.mark.committed
def test_rq_worker_runs_job_once_per_identity(
    database_url: str, engine: Engine, redis_url: str
) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    counter = f"test-counter-{queue}"
    settings = load_settings(
        {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RQ_QUEUE": queue}
    )
    client = build_app(Runtime(settings, engine=engine)).test_client()
    redis = Redis.from_url(redis_url)
    try:
        payload = {"identity": f"{queue}-1", "redis_url": redis_url, "counter": counter}
        assert client.post("/test/count", json=payload).status_code == 202
        assert client.post("/test/count", json=payload).status_code == 202
        assert redis.get(counter) is None, "with REDIS_URL nothing runs inline"

        _worker_burst(database_url, redis_url, queue)
        assert int(redis.get(counter) or 0) == 1

        # The same identity enqueued again after it ran: the worker runs it, the guard skips it.
        assert client.post("/test/count", json=payload).status_code == 202
        _worker_burst(database_url, redis_url, queue)
        assert int(redis.get(counter) or 0) == 1

        other = {**payload, "identity": f"{queue}-2"}
        assert client.post("/test/count", json=other).status_code == 202
        _worker_burst(database_url, redis_url, queue)
        assert int(redis.get(counter) or 0) == 2
    finally:
        redis.delete(counter)
        for key in redis.scan_iter(f"rq:*{queue}*"):
            redis.delete(key)
