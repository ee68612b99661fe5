"""A short-lived in-process cache for what anonymous public pages compute from the database.

Why: at 155,000 signatures one initiative's counts and per-day chart cost ~0.8 s on SQLite
(`make bench ONLY=pages`); public pages can be hit by anyone, often. Counts a few seconds old
are fine on a public dashboard (the open-data files say `max-age=60`). The operator console
never reads through this cache.

PAGES_CACHE_SECONDS (app config, default 10; 0 turns it off). Per worker process; bounded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import Flask, current_app

T = TypeVar("T")
DEFAULT_SECONDS = 10.0
MAX_ENTRIES = 1024
_LOCK = threading.Lock()
_EXTENSION = "sigsvc.pages.cache"


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    ttl = float(app.config.get("PAGES_CACHE_SECONDS", DEFAULT_SECONDS))
    if ttl <= 0:
        return compute()
    now = time.monotonic()
    with _LOCK:
        store: dict[Hashable, tuple[float, Any]] = app.extensions.setdefault(_EXTENSION, {})
        hit = store.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
    value = compute()  # outside the lock: a slow query does not block other pages
    with _LOCK:
        if len(store) >= MAX_ENTRIES:
            store.clear()
        store[key] = (now + ttl, value)
    return value
