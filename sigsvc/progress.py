"""Progress of long operator runs (batch export, log export, retention purge) on a terminal.

Domain code reports `(stage, done, total)` through `report`, which costs nothing unless a CLI
command has installed a reporter with `on_terminal()`; that one writes to stderr only when
stderr is a terminal, so pipes and logs stay clean (JSON on stdout is never mixed with it).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

Reporter = Callable[[str, int, int], None]
_REPORTER: ContextVar[Reporter | None] = ContextVar("sigsvc_progress", default=None)
EVERY_SECONDS = 0.2  # redraw at most this often


def report(stage: str, done: int, total: int) -> None:
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter(stage, done, total)


@contextmanager
def on_terminal(stream: TextIO | None = None) -> Iterator[None]:
    out = stream or sys.stderr
    if not out.isatty():
        yield
        return
    drawn_at, drawn_stage = 0.0, ""

    def draw(stage: str, done: int, total: int) -> None:
        nonlocal drawn_at, drawn_stage
        now = time.monotonic()
        if done < total and now - drawn_at < EVERY_SECONDS and stage == drawn_stage:
            return
        drawn_at, drawn_stage = now, stage
        percent = 100 * done // total if total else 100
        out.write(f"\r{stage}: {done}/{total} ({percent}%)\033[K")
        if done >= total:
            out.write("\n")
        out.flush()

    token = _REPORTER.set(draw)
    try:
        yield
    finally:
        _REPORTER.reset(token)
