"""Housekeeping jobs of the background machinery itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

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
