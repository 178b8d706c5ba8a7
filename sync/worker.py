"""The RQ worker process (``loyalty-connector worker``)."""

from __future__ import annotations

from sync.runtime import Runtime


def run_worker(runtime: Runtime, *, burst: bool = False) -> bool:
    """Run an RQ worker with its scheduler (retries and delayed jobs need it)."""
    from rq import Queue, Worker

    redis = runtime.redis()
    worker = Worker([Queue(runtime.settings.queue_name, connection=redis)], connection=redis)
    return bool(worker.work(burst=burst, with_scheduler=True))
