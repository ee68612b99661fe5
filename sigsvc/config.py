"""Configuration from the environment (README "Configuration" lists every variable)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sigsvc import clockskew
from sigsvc.web.auth import MIN_TOKEN_LENGTH, token_digest

_KEY_VARIABLES = (
    "SIGSVC_KEK_FILE",
    "SIGSVC_KEK",
    "SIGSVC_PSEUDONYM_KEY_FILE",
    "SIGSVC_PSEUDONYM_KEY",
)
_SEAL_VARIABLES = (
    "SIGSVC_BATCH_SEAL_KEY",
    "SIGSVC_BATCH_SEAL_CERT",
    "SIGSVC_BATCH_SEAL_KEY_PASSWORD",
    "SIGSVC_BATCH_TSA_URL",
)
# Keys in a PKCS#11 token (sigsvc.keys.config): token, log key label/name, seal key label.
_TOKEN_KEY_VARIABLES = (
    "SIGSVC_PKCS11_MODULE",
    "SIGSVC_PKCS11_TOKEN",
    "SIGSVC_PKCS11_PIN_FILE",
    "SIGSVC_LOG_KEY_LABEL",
    "SIGSVC_LOG_KEY_NAME",
    "SIGSVC_BATCH_SEAL_KEY_LABEL",
)
DEFAULT_MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # a qualified .edoc/PDF is far below 10 MiB
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Every SIGSVC_* variable anything reads; any other is refused, so a typo cannot silently leave
# a default in force. tests/service/test_config.py checks this list against the source tree.
KNOWN_VARIABLES = frozenset(
    {
        "SIGSVC_DATABASE_URL",
        "SIGSVC_INSTANCE_PATH",
        "SIGSVC_ADMIN_TOKEN",
        "SIGSVC_MAX_CONTENT_LENGTH",
        "SIGSVC_LOG_LEVEL",
        "SIGSVC_SCHEMAS_DIR",
        "SIGSVC_LOG_KEY_FILE",
        "SIGSVC_LOG_ORIGIN",
        "SIGSVC_TRUSTED_LISTS",
        "SIGSVC_TL_SIGNERS",
        "SIGSVC_ANCHORS",
        "SIGSVC_TEST_CLOCK",
        "SIGSVC_TEST_ALLOW_NOW",
        "SIGSVC_CHECKPOINT_INTERVAL",
        "SIGSVC_RATE_PLATFORM",
        "SIGSVC_RATE_SIGNER",
        "SIGSVC_MAX_SIGNATURE_BYTES",
        "SIGSVC_BATCH_DIR",
        "SIGSVC_HANDOVER_URL",
        "SIGSVC_RECEIVER_KEY",
        "SIGSVC_RETENTION_DAYS",
        "SIGSVC_DOWNLOAD_TOKEN_TTL_HOURS",
        *_KEY_VARIABLES,
        *_SEAL_VARIABLES,
        # `sigsvc serve` (sigsvc.serve)
        "SIGSVC_BIND",
        "SIGSVC_WORKERS",
        "SIGSVC_THREADS",
        "SIGSVC_TIMEOUT",
        "SIGSVC_GRACEFUL_TIMEOUT",
        "SIGSVC_KEEPALIVE",
        "SIGSVC_REQUEST_BODY_TIMEOUT",
        # keys in a PKCS#11 token (sigsvc/keys)
        "SIGSVC_PKCS11_MODULE",
        "SIGSVC_PKCS11_TOKEN",
        "SIGSVC_PKCS11_PIN_FILE",
        "SIGSVC_LOG_KEY_LABEL",
        "SIGSVC_LOG_KEY_NAME",
        "SIGSVC_BATCH_SEAL_KEY_LABEL",
        # periodic purge of idempotency records and rate-limit state (sigsvc/housekeeping.py)
        "SIGSVC_HOUSEKEEPING_INTERVAL",
        "SIGSVC_IDEMPOTENCY_RETENTION_HOURS",
        # trusted lists refreshed from the EU LOTL (sigsvc/intake/trustlists.py)
        "SIGSVC_LOTL_URL",
        "SIGSVC_LOTL_SIGNERS",
        "SIGSVC_TRUST_DIR",
        "SIGSVC_TRUST_GRACE",
        "SIGSVC_CLOCK_SKEW_TOLERANCE",
        "SIGSVC_TRUST_REFRESH_INTERVAL",
        "SIGSVC_TRUST_TEST_HTTP",
        "SIGSVC_TRUST_CA_FILE",
        # operator console (sigsvc/pages), fetcher test switch (issue 9)
        "SIGSVC_CONSOLE_KEY",
        "SIGSVC_CONSOLE_KEY_FILE",
        "SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES",
        # clients and tools, not the service: README's shell variable, test and bench knobs
        "SIGSVC_URL",
        "SIGSVC_SCREENSHOTS",
        "SIGSVC_TEST_POSTGRES_URL",
        "SIGSVC_BENCH_LOG_ENTRIES",
    }
)


class ConfigError(Exception):
    """The environment holds a value the service refuses to start with."""


def default_database_url(instance_path: str | Path) -> str:
    return f"sqlite:///{Path(instance_path) / 'sigsvc.sqlite'}"


def check_names(env: Mapping[str, str]) -> None:
    unknown = sorted(n for n in env if n.startswith("SIGSVC_") and n not in KNOWN_VARIABLES)
    if unknown:
        raise ConfigError(
            f"{unknown[0]}: unknown variable (misspelt? README's Configuration lists them)"
        )


def from_env(env: Mapping[str, str], instance_path: str | Path) -> dict[str, Any]:
    check_names(env)
    level = env.get("SIGSVC_LOG_LEVEL", "INFO")
    if level.upper() not in LOG_LEVELS:
        raise ConfigError(f"SIGSVC_LOG_LEVEL: {level!r} is not one of {', '.join(LOG_LEVELS)}")
    config: dict[str, Any] = {
        "DATABASE_URL": env.get("DATABASE_URL")
        or env.get("SIGSVC_DATABASE_URL")
        or default_database_url(instance_path),
        "MAX_CONTENT_LENGTH": _int(env, "SIGSVC_MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
        "LOG_LEVEL": level.upper(),
        "ADMIN_TOKEN_SHA256": None,
        # Signature intake (sigsvc.intake.config builds these once per process).
        "INTAKE_KEYS": {name: env.get(name, "") for name in _KEY_VARIABLES},
        "LOG_KEY_FILE": env.get("SIGSVC_LOG_KEY_FILE", ""),
        "LOG_ORIGIN": env.get("SIGSVC_LOG_ORIGIN", ""),
        "TOKEN_KEYS": {name: env.get(name, "") for name in _TOKEN_KEY_VARIABLES},
        "TRUSTED_LISTS": env.get("SIGSVC_TRUSTED_LISTS", ""),
        "TL_SIGNERS": env.get("SIGSVC_TL_SIGNERS", ""),
        "ANCHORS": env.get("SIGSVC_ANCHORS", ""),
        # Trusted lists kept current from the EU LOTL (sigsvc.intake.trustlists).
        "TRUST_DIR": env.get("SIGSVC_TRUST_DIR", ""),
        "LOTL_URL": env.get("SIGSVC_LOTL_URL", ""),
        "LOTL_SIGNERS": env.get("SIGSVC_LOTL_SIGNERS", ""),
        "TRUST_REFRESH_INTERVAL": _int(env, "SIGSVC_TRUST_REFRESH_INTERVAL", 3600),
        "TRUST_GRACE": _int(env, "SIGSVC_TRUST_GRACE", 86400),
        "CLOCK_SKEW_TOLERANCE": _int(
            env, "SIGSVC_CLOCK_SKEW_TOLERANCE", clockskew.DEFAULT_TOLERANCE
        ),
        "TRUST_TEST_HTTP": env.get("SIGSVC_TRUST_TEST_HTTP") == "1",
        "TRUST_CA_FILE": env.get("SIGSVC_TRUST_CA_FILE", ""),
        "TEST_CLOCK": env.get("SIGSVC_TEST_CLOCK", ""),
        "TEST_ALLOW_NOW": env.get("SIGSVC_TEST_ALLOW_NOW", "") == "1",  # operator --now
        "CHECKPOINT_INTERVAL": _int(env, "SIGSVC_CHECKPOINT_INTERVAL", 2),
        # The worst national surge seen is 2,000 signatures a minute (~33/s) across all
        # platforms: one platform may take all of it with 3x headroom. A signer needs a handful
        # of posts (retry, withdrawal, re-signing); a loop of one container is what it stops.
        "RATE_PLATFORM": env.get("SIGSVC_RATE_PLATFORM", "100/200"),
        "RATE_SIGNER": env.get("SIGSVC_RATE_SIGNER", "0.1667/5"),
        "MAX_SIGNATURE_BYTES": _int(env, "SIGSVC_MAX_SIGNATURE_BYTES", 5 * 1024 * 1024),
        "WORKERS": _int(env, "SIGSVC_WORKERS", 1),  # serving processes sharing the rate limit
        "THREADS": _int(env, "SIGSVC_THREADS", 8),  # request threads a process runs (db pool)
        # Batch export and handover (sigsvc.export: batches, handover, retention).
        "BATCH_DIR": env.get("SIGSVC_BATCH_DIR", ""),
        "BATCH_SEAL": {name: env.get(name, "") for name in _SEAL_VARIABLES},
        "HANDOVER_URL": env.get("SIGSVC_HANDOVER_URL", ""),
        "RECEIVER_KEY": env.get("SIGSVC_RECEIVER_KEY", ""),
        # 0: purge as soon as CVK has acknowledged (a certification run uses it: C26)
        "RETENTION_DAYS": _int(env, "SIGSVC_RETENTION_DAYS", 90, minimum=0),
        # 0: every token is expired as issued (a test uses it)
        "DOWNLOAD_TOKEN_TTL_HOURS": _int(env, "SIGSVC_DOWNLOAD_TOKEN_TTL_HOURS", 24, minimum=0),
        # Housekeeping (sigsvc.housekeeping): how long a platform may replay a POST.
        "IDEMPOTENCY_RETENTION_HOURS": _int(env, "SIGSVC_IDEMPOTENCY_RETENTION_HOURS", 168),
        "HOUSEKEEPING_INTERVAL": _int(env, "SIGSVC_HOUSEKEEPING_INTERVAL", 3600),
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


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{name}: {raw!r} is not {what}")
    return int(raw)
