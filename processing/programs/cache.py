"""The per-process cache of program rules.

Every receipt needs the rules; they change a few times a year. Each process keeps a tenant's
parsed versions for RULES_TTL_S: a change made through this process applies at once, one made
elsewhere within RULES_TTL_S.
"""

from __future__ import annotations

import threading

RULES_TTL_S = 30.0


class _Cache:
    def __init__(self) -> None:
        self._items: dict[int, object] = {}
        self._lock = threading.Lock()

    def get(self, key: int) -> object | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: int, value: object) -> None:
        with self._lock:
            self._items[key] = value

    def forget(self, key: int | None = None) -> None:
        with self._lock:
            if key is None:
                self._items.clear()
            else:
                self._items.pop(key, None)


rules_cache = _Cache()


def forget_cached_rules(tenant_id: int | None = None) -> None:
    rules_cache.forget(tenant_id)
