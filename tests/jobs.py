"""Jobs used by the job tests; module-level so an RQ worker imports them by path."""

from __future__ import annotations

from redis import Redis
from sqlalchemy import select

from processing.tenants.models import Tenant
from sync.queue import claim_job
from sync.runtime import job_session

# (tenant code, whether the job's own session saw the tenant the request created)
INLINE_RUNS: list[tuple[str, bool]] = []


def note_tenant(code: str) -> None:
    with job_session() as session:
        seen = session.scalar(select(Tenant.id).where(Tenant.code == code)) is not None
    INLINE_RUNS.append((code, seen))


def count_once(identity: str, redis_url: str, counter: str) -> None:
    """Increment ``counter`` in Redis, at most once per ``identity``."""
    with job_session() as session:
        if claim_job(session, f"count-{identity}"):
            Redis.from_url(redis_url).incr(counter)
