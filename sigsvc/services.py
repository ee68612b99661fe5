"""`Services`: what the service needs from the deployment, built once per worker process.

The clock (one injected callable: event times, checkpoint ages, rate limits, handover), the log
(`LogService`: origin, signing key, checkpoint interval), trust (trusted lists pinned to their
operators, test/demo anchors), the revocation fetcher, the key-encryption key, the pseudonym key
and the rate limiter. Parsing a trusted list costs far more than a verification, so this is made
on first use in each process and kept in `app.extensions` (gunicorn workers do not preload:
nothing here crosses a fork). Views and commands are handed it (`web.context`, `cli._common`);
domain code takes it as an argument and never looks it up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask

import crypto
from audit.note import Signer
from crypto import TrustedListSource, TrustStore
from sigsvc.db.models import utcnow
from sigsvc.intake import protection, pseudonym
from sigsvc.intake.fetchers import HttpFetcher, crypto_fetcher
from sigsvc.intake.ratelimit import Limit, RateLimiter, SqlStore
from sigsvc.log.service import LogService

Clock = Callable[[], datetime]

_LOCK = threading.Lock()
_KEY = "sigsvc.intake"


class IntakeConfigError(Exception):
    """The deployment's intake configuration is missing or invalid (message names the variable)."""


@dataclass(frozen=True)
class Services:
    clock: Clock  # the service's time (UTC)
    log: LogService
    trust: TrustStore
    fetcher: HttpFetcher
    kek: protection.KeyEncryptionKey
    pseudonyms: pseudonym.PseudonymKey
    limiter: RateLimiter
    verification_time: Clock  # `clock`, or SIGSVC_TEST_CLOCK's fixed instant in tests
    test_clock: bool
    max_container_bytes: int

    @property
    def test_anchors(self) -> bool:
        return self.trust.has_test_anchors


def parse_instant(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise IntakeConfigError(f"{name}: not an ISO 8601 instant") from exc
    if moment.utcoffset() is None:
        raise IntakeConfigError(f"{name}: give a time zone (e.g. Z)")
    return moment


def parse_limit(value: str, name: str) -> Limit:
    """`RATE/BURST`, rate per second, e.g. `100/200`."""
    try:
        rate, burst = value.split("/")
        return Limit(float(rate), int(burst))
    except Exception as exc:
        raise IntakeConfigError(f"{name}: expected RATE/BURST, e.g. 100/200") from exc


def _paths(value: Any) -> list[str]:
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return [str(p) for p in value or ()]


def _read(path: str, name: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise IntakeConfigError(f"{name}: cannot read {path}") from exc


def build(config: dict[str, Any], clock: Clock = utcnow) -> Services:
    env = {k: v for k, v in config.get("INTAKE_KEYS", {}).items() if v}
    try:
        kek = protection.kek_from_environ(env)
        pseudonyms = pseudonym.pseudonym_key_from_environ(env)
    except (protection.ProtectionError, pseudonym.PseudonymError) as exc:
        raise IntakeConfigError(str(exc)) from exc
    log_key_file = config.get("LOG_KEY_FILE")
    if not log_key_file:
        raise IntakeConfigError("no log signing key: set SIGSVC_LOG_KEY_FILE")
    try:
        log_signer = Signer.from_skey(_read(log_key_file, "SIGSVC_LOG_KEY_FILE").decode().strip())
    except Exception as exc:
        raise IntakeConfigError(f"SIGSVC_LOG_KEY_FILE: not a signed-note key ({exc})") from exc
    test_clock = config.get("TEST_CLOCK")
    fixed = parse_instant(test_clock, "SIGSVC_TEST_CLOCK") if test_clock else None
    verification_time: Clock = (lambda: fixed) if fixed else clock
    lists, signers = _paths(config.get("TRUSTED_LISTS")), _paths(config.get("TL_SIGNERS"))
    anchors = _paths(config.get("ANCHORS"))
    if len(lists) != len(signers):
        raise IntakeConfigError("SIGSVC_TL_SIGNERS needs one certificate per SIGSVC_TRUSTED_LISTS")
    if not lists and not anchors:
        raise IntakeConfigError("no trust: set SIGSVC_TRUSTED_LISTS + SIGSVC_TL_SIGNERS")
    fetched_at = verification_time()
    try:
        trust = TrustStore(
            trusted_lists=[
                TrustedListSource(
                    _read(tl, "SIGSVC_TRUSTED_LISTS"), (_read(s, "SIGSVC_TL_SIGNERS"),), fetched_at
                )
                for tl, s in zip(lists, signers, strict=True)
            ],
            test_anchors=[_read(a, "SIGSVC_ANCHORS") for a in anchors],
        )
    except crypto.VerificationError as exc:
        raise IntakeConfigError(f"trust configuration rejected: {exc.message}") from exc
    limiter = RateLimiter(
        SqlStore.from_url(_driver_url(config["DATABASE_URL"])),
        platform_limit=parse_limit(config["RATE_PLATFORM"], "SIGSVC_RATE_PLATFORM"),
        signer_limit=parse_limit(config["RATE_SIGNER"], "SIGSVC_RATE_SIGNER"),
        clock=lambda: clock().timestamp(),
    )
    log = LogService(
        origin=config.get("LOG_ORIGIN") or log_signer.name,
        signer=log_signer,
        interval=float(config["CHECKPOINT_INTERVAL"]),
        clock=clock,
    )
    return Services(
        clock=clock,
        log=log,
        trust=trust,
        fetcher=crypto_fetcher(),
        kek=kek,
        pseudonyms=pseudonyms,
        limiter=limiter,
        verification_time=verification_time,
        test_clock=fixed is not None,
        max_container_bytes=int(config["MAX_SIGNATURE_BYTES"]),
    )


def _driver_url(url: str) -> str:
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def get(app: Flask) -> Services:
    """The process's Services (built on first use); IntakeConfigError if misconfigured."""
    found: Services | None = app.extensions.get(_KEY)
    if found is None:
        with _LOCK:
            found = app.extensions.get(_KEY)
            if found is None:
                found = build(app.config)
                app.extensions[_KEY] = found
    return found


def close(app: Flask) -> None:
    """Release what `get` built (the rate-limit store's engine); tests and shutdown."""
    found: Services | None = app.extensions.pop(_KEY, None)
    if found is not None and isinstance(found.limiter.store, SqlStore):
        found.limiter.store.close()


def log_service(app: Flask) -> LogService:
    """The log as the registry writes it: the process's when intake is configured, else one
    that appends without a key (registering an initiative needs no trust or keys)."""
    found: Services | None = app.extensions.get(_KEY)
    if found is not None:
        return found.log
    return LogService(
        origin=app.config.get("LOG_ORIGIN") or "sigsvc",
        signer=None,
        interval=float(app.config["CHECKPOINT_INTERVAL"]),
        clock=utcnow,
    )
