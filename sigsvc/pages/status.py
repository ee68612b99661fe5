"""What the pages need from the running service's configuration, read without side effects:
the log's public key and origin, and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app

from sigsvc import services


@dataclass(frozen=True, slots=True)
class LogKey:
    vkey: str
    origin: str


def log_key() -> LogKey | None:
    """The log's verifier key (C2SP vkey) and checkpoint origin; None when not configured."""
    try:
        log = services.get(current_app._get_current_object()).log  # type: ignore[attr-defined]
    except services.IntakeConfigError:
        return None
    assert log.signer is not None  # a configured service signs its log
    return LogKey(log.signer.verifier().vkey, log.origin)


def now() -> datetime:
    return datetime.now(UTC)
