"""Throttling of failed logins, shared by every process that serves the app.

A ``LoginThrottle`` counts failed logins per key (e.g. tenant code and client address) in a
sliding window: once a key has ``limit`` failures within ``window_s`` seconds, ``check`` refuses
it with ``TOO_MANY_ATTEMPTS`` (HTTP 429, ``Retry-After``) until the oldest of those failures
leaves the window. Only failures count. A refused attempt checks no password and does not extend
the block; a success resets nothing, because a shop and a guesser behind one NAT address share a
key and the shop's successful calls must not hand the guesser a fresh allowance.

The counts live in Redis when ``REDIS_URL`` is set (every process and node sees the same) and in
the process otherwise (the embedded single-process mode; with several gunicorn workers and no
Redis each worker counts for itself). When Redis cannot be reached, logins go unthrottled and a
warning is logged: the throttle must not stop the shops, and PBKDF2 still makes each guess slow.
``login_throttle`` gives the app's throttle by name, so other logins (admin tokens) reuse the same
machinery with their own keys.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from flask import current_app

from connector.db import app_runtime
from processing.errors import TooManyRequests

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

EXTENSION_KEY = "login_throttles"
REDIS_PREFIX = "throttle:"


class TooManyAttempts(TooManyRequests):
    """Refused before any password check: the key had too many failures in the window."""

    code = "TOO_MANY_ATTEMPTS"
    message = (
        "Слишком много неудачных попыток входа с этого адреса. Проверьте логин и пароль "
        "в настройках подключения."
    )

    def __init__(self, retry_after_s: int = 60) -> None:
        super().__init__()
        self.retry_after_s = retry_after_s
        self.text = f"{self.message} Повторите через {math.ceil(retry_after_s / 60)} мин."
        self.details["retry_after"] = retry_after_s


class AttemptStore(Protocol):
    """Where failure times (seconds of the throttle's clock) are kept, per key."""

    def failures_since(self, key: str, since: float) -> list[float]:
        """The failures of ``key`` later than ``since``, oldest first (older ones are dropped)."""

    def add_failure(self, key: str, at: float, keep_s: float) -> None:
        """Record a failure of ``key`` at ``at``; the key may be forgotten ``keep_s`` later."""


class RedisAttemptStore:
    """One sorted set per key (score: the failure's time); Redis expires idle keys."""

    def __init__(self, redis: Redis) -> None:
        from redis.exceptions import RedisError  # imported with the client, not before

        self.redis = redis
        self._unreachable: type[Exception] = RedisError

    def failures_since(self, key: str, since: float) -> list[float]:
        pipe = self.redis.pipeline(transaction=True)
        pipe.zremrangebyscore(REDIS_PREFIX + key, "-inf", since)
        pipe.zrange(REDIS_PREFIX + key, 0, -1, withscores=True)
        try:
            _removed, members = pipe.execute()
        except self._unreachable as error:
            log.warning("login throttle: Redis unreachable, not limiting logins: %s", error)
            return []
        return sorted(float(score) for _member, score in members)

    def add_failure(self, key: str, at: float, keep_s: float) -> None:
        member = f"{at!r}:{secrets.token_hex(4)}"  # two failures in one clock tick both count
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(REDIS_PREFIX + key, {member: at})
        pipe.pexpire(REDIS_PREFIX + key, math.ceil(keep_s * 1000))
        try:
            pipe.execute()
        except self._unreachable as error:
            log.warning("login throttle: Redis unreachable, failure not counted: %s", error)


class MemoryAttemptStore:
    """The in-process store, bounded: a flood of distinct keys cannot grow it without limit."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._failures: dict[str, tuple[float, list[float]]] = {}  # key → (forget at, times)
        self._lock = threading.Lock()

    def failures_since(self, key: str, since: float) -> list[float]:
        with self._lock:
            found = self._failures.get(key)
            if found is None:
                return []
            kept = [at for at in found[1] if at > since]
            if kept:
                self._failures[key] = (found[0], kept)
            else:
                del self._failures[key]
            return kept

    def add_failure(self, key: str, at: float, keep_s: float) -> None:
        with self._lock:
            times = self._failures.pop(key, (0.0, []))[1]
            if len(self._failures) >= self.max_keys:
                self._forget_oldest(at)
            self._failures[key] = (at + keep_s, sorted([*times, at]))

    def _forget_oldest(self, now: float) -> None:
        expired = [key for key, (forget_at, _times) in self._failures.items() if forget_at <= now]
        for key in expired:
            del self._failures[key]
        if len(self._failures) >= self.max_keys:
            oldest = min(self._failures, key=lambda key: self._failures[key][0])
            del self._failures[oldest]


@dataclass
class LoginThrottle:
    name: str
    store: AttemptStore
    limit: int = 10
    window_s: float = 600.0
    clock: Callable[[], float] = field(default=time.time)  # shared across processes: wall time

    def check(self, key: str) -> None:
        """Raise ``TooManyAttempts`` when ``key`` has ``limit`` failures within the window."""
        now = self.clock()
        failures = self.store.failures_since(self._key(key), now - self.window_s)
        if len(failures) >= self.limit:
            free_at = failures[-self.limit] + self.window_s
            raise TooManyAttempts(max(1, math.ceil(free_at - now)))

    def failed(self, key: str) -> None:
        self.store.add_failure(self._key(key), self.clock(), self.window_s)

    def _key(self, key: str) -> str:
        return f"{self.name}:{key}"


def attempt_store() -> AttemptStore:
    """Redis when the service has it, else this process's memory."""
    runtime = app_runtime()
    if runtime.settings.uses_redis:
        return RedisAttemptStore(runtime.redis())
    return MemoryAttemptStore()


def login_throttle(name: str, *, limit: int, window_s: float) -> LoginThrottle:
    """The current app's throttle called ``name``, made on first use."""
    throttles: dict[str, LoginThrottle] = current_app.extensions.setdefault(EXTENSION_KEY, {})
    throttle = throttles.get(name)
    if throttle is None:  # setdefault: two first requests at once end up with one throttle
        made = LoginThrottle(name, attempt_store(), limit=limit, window_s=window_s)
        throttle = throttles.setdefault(name, made)
    return throttle
