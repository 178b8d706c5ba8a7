"""Per-process resources built from settings: the database engine, sessions and Redis.

One ``Runtime`` is active per process (the app, a worker, the scheduler). The engine is made on
first use and re-made after a fork, so gunicorn workers and RQ work-horses never share the
parent's connections.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import Settings
from processing.db import make_engine

if TYPE_CHECKING:
    from redis import Redis

RUNTIME_KEY = "runtime"


class Runtime:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._engine_pid = os.getpid()
        self._redis: Redis | None = None
        self._lock = threading.Lock()
        self.sessionmaker: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is not None and self._engine_pid != os.getpid():
                # Inherited across fork: drop the parent's pooled connections without
                # closing them (the parent still owns them), then start a fresh pool.
                self._engine.dispose(close=False)
            if self._engine is None:
                self._engine = make_engine(self.settings.database_url)
            self._engine_pid = os.getpid()
            return self._engine

    def session(self) -> Session:
        """A new session whose ``info`` names this runtime (``enqueue`` reads it)."""
        if self.sessionmaker is None:
            self.sessionmaker = sessionmaker(
                bind=self.engine, expire_on_commit=False, info={RUNTIME_KEY: self}
            )
        return self.sessionmaker()

    def redis(self) -> Redis:
        if self.settings.redis_url is None:
            raise RuntimeError("REDIS_URL is not set: the embedded mode has no Redis")
        if self._redis is None:
            from redis import Redis

            self._redis = Redis.from_url(self.settings.redis_url)
        return self._redis

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self.sessionmaker = None
        if self._redis is not None:
            self._redis.close()
            self._redis = None


_active: Runtime | None = None


def activate(runtime: Runtime) -> Runtime:
    global _active
    _active = runtime
    return runtime


def current() -> Runtime:
    if _active is None:
        raise RuntimeError("no runtime is active in this process")
    return _active


@contextmanager
def job_session() -> Iterator[Session]:
    """The session of a job: the job is its own commit point, committed when the block ends."""
    session = current().session()
    try:
        with session.begin():
            yield session
    finally:
        session.close()
