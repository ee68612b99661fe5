"""What a run has besides HTTP (each check that needs one says so, and SKIPs without it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    database_url: str | None = None  # C16, C25
    retention_command: str | None = None  # C26
    ca_file: str | None = None  # C24 (https target)
    env_file: str | None = None  # environment for retention_command
    app_log: str | None = None  # C18, C27: the target's application log output
