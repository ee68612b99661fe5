"""Configuration from the environment (README "Configuration" lists every variable)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sigsvc.auth import MIN_TOKEN_LENGTH, token_digest

DEFAULT_MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # a qualified .edoc/PDF is far below 10 MiB


class ConfigError(Exception):
    """The environment holds a value the service refuses to start with."""


def default_database_url(instance_path: str | Path) -> str:
    return f"sqlite:///{Path(instance_path) / 'sigsvc.sqlite'}"


def from_env(env: Mapping[str, str], instance_path: str | Path) -> dict[str, Any]:
    config: dict[str, Any] = {
        "DATABASE_URL": env.get("DATABASE_URL")
        or env.get("SIGSVC_DATABASE_URL")
        or default_database_url(instance_path),
        "MAX_CONTENT_LENGTH": _int(env, "SIGSVC_MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
        "LOG_LEVEL": env.get("SIGSVC_LOG_LEVEL", "INFO"),
        "ADMIN_TOKEN_SHA256": None,
    }
    admin_token = env.get("SIGSVC_ADMIN_TOKEN")
    if admin_token:
        if len(admin_token) < MIN_TOKEN_LENGTH:
            raise ConfigError(
                f"SIGSVC_ADMIN_TOKEN must be at least {MIN_TOKEN_LENGTH} random characters"
            )
        # Only the digest is kept in memory, like tokens in the database.
        config["ADMIN_TOKEN_SHA256"] = token_digest(admin_token)
    return config


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(f"{name} must be a positive integer (bytes)")
    return int(raw)
