"""A CPU budget per verification: hostile input that slips past every structural bound still
ends in UNSAFE_INPUT instead of occupying a worker.

CPU time of the verifying thread (`time.thread_time`), not wall time: waiting on a fetcher or on
a busy machine does not count, only work this input makes us do. Checked at the steps that loop
over attacker-controlled material (path search, revocation entries, pipeline steps).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from crypto.errors import UnsafeInput

_CURRENT: ContextVar[Budget | None] = ContextVar("verification_budget", default=None)


class Budget:
    def __init__(self, cpu_seconds: float) -> None:
        self.cpu_seconds = cpu_seconds
        self._start = time.thread_time()

    def used(self) -> float:
        return time.thread_time() - self._start

    def check(self, step: str) -> None:
        used = self.used()
        if used > self.cpu_seconds:
            raise UnsafeInput(
                f"verification exceeded its CPU budget of {self.cpu_seconds:g} s "
                f"({used:.2f} s used, at {step})"
            )


@contextmanager
def running(cpu_seconds: float) -> Iterator[Budget]:
    budget = Budget(cpu_seconds)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def check(step: str) -> None:
    """Raise UNSAFE_INPUT when the current verification (if any) is over its budget."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.check(step)
