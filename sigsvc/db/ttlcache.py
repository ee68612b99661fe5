"""A small per-process cache whose entries expire after a fixed time (thread-safe).

Why: platform authentication and initiative lookups are the same for every request of a
surge; reading them from the database each time cost ~14% of a request. An entry lives at
most ``ttl`` seconds, so an operator's change (a revoked key, a closed initiative) reaches
every worker within ``ttl`` (README: 2 s; the promise is 5 s, tests/signatures/test_live.py).
Only positive answers are cached: an unknown token is looked up every time, so guessing
tokens cannot fill the cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from flask import Flask, current_app

V = TypeVar("V")

DEFAULT_TTL = 2.0


class TtlCache(Generic[V]):
    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        now = self._clock()
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found[0] <= now:
                del self._entries[key]
                return None
            return found[1]

    def put(self, key: Hashable, value: V) -> None:
        now = self._clock()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[key] = (now + self.ttl, value)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def app_cache(name: str, app: Flask | None = None) -> TtlCache[Any]:
    """The app's cache called ``name`` (one per app and process; made on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    caches: dict[str, TtlCache[Any]] = app.extensions.setdefault("sigsvc.ttlcaches", {})
    found = caches.get(name)
    if found is None:
        found = caches.setdefault(name, TtlCache(float(app.config.get("CACHE_TTL", DEFAULT_TTL))))
    return found
