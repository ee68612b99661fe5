"""What the pages need from the running service's configuration, read without side effects:
the log's public key and origin, and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sigsvc.intake import config as intake_config


@dataclass(frozen=True, slots=True)
class LogKey:
    vkey: str
    origin: str


def log_key() -> LogKey | None:
    """The log's verifier key (C2SP vkey) and checkpoint origin; None when not configured."""
    try:
        intake = intake_config.get()
    except intake_config.IntakeConfigError:
        return None
    return LogKey(intake.log_signer.verifier().vkey, intake.log_origin)


def now() -> datetime:
    return datetime.now(UTC)
