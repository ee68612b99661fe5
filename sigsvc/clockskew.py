"""The server clock against the clocks of the services it talks to (CONFORMANCE C28: skew
beyond tolerance flagged).

Every answer of an outbound fetch (OCSP, CRL, issuer certificate) and of the batch TSA carries
an HTTP Date header (RFC 9110 §6.6.1, whole seconds); its offset from the middle of our request
is one measurement. Time stamps themselves are authoritative for signatures, but a server clock
that drifts dates log events and checkpoints wrongly, and the log refuses events beyond its own
clock (audit.log.MAX_CLOCK_SKEW). The last measurement of this process is what /readyz (503
beyond SIGSVC_CLOCK_SKEW_TOLERANCE) and /metrics (`sigsvc_clock_skew_seconds`) show; every
worker shares the host's clock, so any worker's measurement speaks for all of them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

DEFAULT_TOLERANCE = 10  # seconds: Date's whole seconds and a slow answer fit well inside


@dataclass(frozen=True, slots=True)
class Skew:
    seconds: float  # their clock minus ours: positive when our clock is behind
    source: str  # the host that answered
    measured_at: float  # our POSIX time at the answer


def measure(date_header: str | None, sent: float, received: float, url: str) -> Skew | None:
    """One measurement from an answer's Date header (None when absent or unreadable). Date is
    truncated to the second, so its midpoint (+0.5 s) is compared with our request's."""
    if not date_header:
        return None
    try:
        theirs = parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    if theirs.tzinfo is None:  # RFC 9110: always GMT; an undated zone is not a measurement
        return None
    ours = (sent + received) / 2
    return Skew(theirs.timestamp() + 0.5 - ours, urlsplit(url).hostname or url, received)


_LOCK = threading.Lock()
_LAST: list[Skew] = []


def record(skew: Skew | None) -> None:
    if skew is None:
        return
    with _LOCK:
        _LAST[:] = [skew]
    from sigsvc import metrics

    metrics.clock_skew(skew.seconds)


def last() -> Skew | None:
    with _LOCK:
        return _LAST[0] if _LAST else None


def reset() -> None:
    """Forget this process's measurement (tests)."""
    with _LOCK:
        _LAST.clear()


def problem(tolerance: float) -> str | None:
    """Why the clock cannot be trusted now (None: within tolerance, or never measured)."""
    found = last()
    if found is None or abs(found.seconds) <= tolerance:
        return None
    direction = "behind" if found.seconds > 0 else "ahead of"
    return (
        f"server clock is {abs(found.seconds):.0f} s {direction} {found.source}'s "
        f"(beyond SIGSVC_CLOCK_SKEW_TOLERANCE={tolerance:g} s): fix NTP on this host"
    )


def status(tolerance: float) -> dict[str, object]:
    found = last()
    doc: dict[str, object] = {"tolerance_seconds": tolerance, "skew_seconds": None}
    if found is not None:
        doc.update(skew_seconds=round(found.seconds, 1), source=found.source)
    return doc
