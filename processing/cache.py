"""Per-process caches of committed data: one helper, one rule.

A value read inside a transaction is *staged* on that session and goes into the cache only when
the session's outermost transaction commits; a rollback (of the transaction, or of the savepoint it
was staged in) drops it. So a cache never holds a row that a refused request created and rolled
back. Every entry lives ``ttl_s`` seconds.

Invalidation: a cache ``watches`` model classes; when a session flushes a change of one of them,
the cache is cleared at once and again when that session commits, and its generation moves on, so a
value staged before the change (possibly stale) is never published after it. A change made by
another process is seen when the entry expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_STAGED = "process_cache_staged"
_DIRTY = "process_cache_dirty"


@dataclass(frozen=True)
class _Staged:
    cache: ProcessCache[Any, Any]
    generation: int
    key: Hashable
    value: Any
    transaction: SessionTransaction | None


class ProcessCache(Generic[K, V]):
    """A small TTL cache that only publishes committed reads (see the module docstring)."""

    registry: ClassVar[list[ProcessCache[Any, Any]]] = []

    def __init__(
        self,
        name: str,
        ttl_s: float,
        *,
        watches: tuple[type | str, ...] = (),
        max_items: int = 100_000,
    ) -> None:
        self.name = name
        self.ttl_s = ttl_s
        self.watches = watches
        self.max_items = max_items
        self._items: dict[K, tuple[float, V]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        ProcessCache.registry.append(self)

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
        if found is None or found[0] <= time.monotonic():
            return None
        return found[1]

    def stage(self, session: Session, key: K, value: V) -> None:
        """Remember ``value``, read in ``session``'s transaction, once that transaction commits."""
        if not session.in_transaction():
            session.connection()  # the read it came from belongs to this transaction
        transaction = session.get_nested_transaction() or session.get_transaction()
        with self._lock:
            generation = self._generation
        staged = session.info.setdefault(_STAGED, [])
        staged.append(_Staged(self, generation, key, value, transaction))

    def invalidate(self) -> None:
        with self._lock:
            self._items.clear()
            self._generation += 1

    def _publish(self, generation: int, key: K, value: V) -> None:
        with self._lock:
            if generation != self._generation:
                return  # read before a change this process made: may be stale
            if len(self._items) >= self.max_items:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.ttl_s, value)

    @classmethod
    def invalidate_all(cls) -> None:
        for cache in cls.registry:
            cache.invalidate()


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _watched(obj: object, watches: tuple[type | str, ...]) -> bool:
    """A model class, or a table name (when importing the class would make a cycle)."""
    table = getattr(obj, "__tablename__", None)
    return any(
        watch == table if isinstance(watch, str) else isinstance(obj, watch) for watch in watches
    )


@event.listens_for(Session, "after_flush")
def _changes_flushed(session: Session, _context: Any) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    for cache in ProcessCache.registry:
        if cache.watches and any(_watched(obj, cache.watches) for obj in changed):
            cache.invalidate()
            session.info.setdefault(_DIRTY, set()).add(cache.name)


def mark_changed(session: Session, model: type) -> None:
    """What a flush of ``model`` rows does to the caches, for rows written in bulk through
    Core (no unit of work sees them): the caches watching it are cleared now and at commit."""
    for cache in ProcessCache.registry:
        if any(watch is model or watch == getattr(model, "__tablename__", None)
               for watch in cache.watches):  # fmt: skip
            cache.invalidate()
            session.info.setdefault(_DIRTY, set()).add(cache.name)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction may still roll back
    dirty = session.info.pop(_DIRTY, set())
    for cache in ProcessCache.registry:
        if cache.name in dirty:
            cache.invalidate()
    for item in session.info.pop(_STAGED, []):
        item.cache._publish(item.generation, item.key, item.value)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    staged = session.info.get(_STAGED)
    if staged:
        session.info[_STAGED] = [s for s in staged if not _within(s.transaction, previous)]


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        # Published at commit already; whatever is left was rolled back or abandoned.
        session.info.pop(_STAGED, None)
        session.info.pop(_DIRTY, None)
