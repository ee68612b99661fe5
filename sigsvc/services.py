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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask

# The service loads pyHanko & co. (the verification pipeline) at start-up, not in its first
# request; `crypto` itself loads them lazily for the CLI's sake.
import crypto
import crypto._internal.pipeline
from audit.note import NoteSigner
from crypto import TrustedListSource, TrustStore
from sigsvc.db.models import utcnow
from sigsvc.intake import protection, pseudonym, trustlists
from sigsvc.intake.fetchers import HttpFetcher, crypto_fetcher
from sigsvc.intake.ratelimit import Limit, MemoryStore, RateLimiter, SqlStore
from sigsvc.keys import config as keyconfig
from sigsvc.log.service import LogService

Clock = Callable[[], datetime]

_LOCK = threading.Lock()
_KEY = "sigsvc.intake"


class IntakeConfigError(Exception):
    """The deployment's intake configuration is missing or invalid (message names the variable)."""


@dataclass  # not frozen: `reload_trust` swaps in a refreshed trust store
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
    log_key_source: keyconfig.KeySource | None = None  # token or file, for /readyz
    trust_watch: trustlists.TrustWatch | None = None  # set with SIGSVC_TRUST_DIR
    trust_grace: timedelta = timedelta(days=1)

    def stale_lists(self) -> list[str]:
        """Lists past NextUpdate + grace now (intake answers 503 TRUST_STALE).

        Refreshed (SIGSVC_TRUST_DIR) and statically pinned (SIGSVC_TRUSTED_LISTS) lists alike:
        a pinned file does not stay current by being pinned, and an operator who pinned one
        must replace it as the scheme operator does (ADR 0005). Tests and the demo use a
        fixed SIGSVC_TEST_CLOCK or a re-issued TEST list.
        """
        return trustlists.stale_lists(self.trust, self.verification_time(), self.trust_grace)

    def reload_trust(self) -> None:
        """Swap in a newer stored list version, if `sigsvc trust refresh` made one."""
        if self.trust_watch is not None:
            fresh = self.trust_watch.changed()
            if fresh is not None:
                self.trust = fresh  # one reference swap: verifications in flight keep theirs

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
    log_signer, log_key_source = _log_key(config)
    test_clock = config.get("TEST_CLOCK")
    fixed = parse_instant(test_clock, "SIGSVC_TEST_CLOCK") if test_clock else None
    verification_time: Clock = (lambda: fixed) if fixed else clock
    lists, signers = _paths(config.get("TRUSTED_LISTS")), _paths(config.get("TL_SIGNERS"))
    anchors = _paths(config.get("ANCHORS"))
    if len(lists) != len(signers):
        raise IntakeConfigError("SIGSVC_TL_SIGNERS needs one certificate per SIGSVC_TRUSTED_LISTS")
    trust_dir = config.get("TRUST_DIR")
    if not lists and not anchors and not trust_dir:
        raise IntakeConfigError("no trust: set SIGSVC_TRUSTED_LISTS + SIGSVC_TL_SIGNERS")
    fetched_at = verification_time()
    watch = _trust_watch(config, verification_time, [_read(a, "SIGSVC_ANCHORS") for a in anchors])
    try:
        trust = (
            watch.load()
            if watch is not None
            else TrustStore(
                trusted_lists=[
                    TrustedListSource(
                        _read(tl, "SIGSVC_TRUSTED_LISTS"),
                        (_read(s, "SIGSVC_TL_SIGNERS"),),
                        fetched_at,
                    )
                    for tl, s in zip(lists, signers, strict=True)
                ],
                test_anchors=[_read(a, "SIGSVC_ANCHORS") for a in anchors],
            )
        )
    except crypto.VerificationError as exc:
        raise IntakeConfigError(f"trust configuration rejected: {exc.message}") from exc
    except trustlists.TrustRefreshError as exc:
        raise IntakeConfigError(f"SIGSVC_TRUST_DIR: {exc}") from exc
    # The platform limit in this process's memory, its share of the limit (the serving
    # processes split it evenly: SIGSVC_WORKERS, set by `sigsvc serve`); the signer limit in
    # the database, checked inside the intake transaction (exact across processes).
    limiter = RateLimiter(
        MemoryStore(),
        platform_limit=parse_limit(config["RATE_PLATFORM"], "SIGSVC_RATE_PLATFORM").shared(
            int(config.get("WORKERS", 1))
        ),
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
        # The fetcher's cache (the only one) expires on the verification clock: with a test
        # clock, responses valid then stay cached instead of being fetched for every request.
        fetcher=crypto_fetcher(clock=lambda: verification_time().timestamp()),
        kek=kek,
        pseudonyms=pseudonyms,
        limiter=limiter,
        verification_time=verification_time,
        test_clock=fixed is not None,
        max_container_bytes=int(config["MAX_SIGNATURE_BYTES"]),
        trust_watch=watch,
        trust_grace=timedelta(seconds=int(config.get("TRUST_GRACE", 86400))),
        log_key_source=log_key_source,
    )


def _trust_watch(
    config: dict[str, Any], clock: Callable[[], datetime], anchors: list[bytes]
) -> trustlists.TrustWatch | None:
    """With SIGSVC_TRUST_DIR: lists from the refreshed store, reloaded when it changes, and the
    refresh itself on a schedule (SIGSVC_TRUST_REFRESH_INTERVAL seconds) in this process."""
    directory = config.get("TRUST_DIR")
    if not directory:
        return None
    signer_files = _paths(config.get("LOTL_SIGNERS"))
    if not signer_files:
        raise IntakeConfigError("SIGSVC_TRUST_DIR needs SIGSVC_LOTL_SIGNERS (pinned LOTL signers)")
    signers = tuple(_read(f, "SIGSVC_LOTL_SIGNERS") for f in signer_files)
    settings = trustlists.RefreshSettings(
        directory=Path(directory),
        lotl_signers=signers,
        lotl_url=config.get("LOTL_URL") or trustlists.EU_LOTL_URL,
        allow_loopback_http=bool(config.get("TRUST_TEST_HTTP")),
        ca_file=Path(config["TRUST_CA_FILE"]) if config.get("TRUST_CA_FILE") else None,
    )
    schedule = trustlists.RefreshSchedule(
        settings, float(config.get("TRUST_REFRESH_INTERVAL", 3600)), clock
    )
    if not (settings.directory / trustlists.CURRENT).exists():
        schedule.run_once()  # first start: fetch before serving
    schedule.start()
    return trustlists.TrustWatch(settings.directory, signers, anchors)


def _log_key(config: dict[str, Any]) -> tuple[NoteSigner, keyconfig.KeySource]:
    """The log key from the token (SIGSVC_LOG_KEY_LABEL) or a file (SIGSVC_LOG_KEY_FILE)."""
    env = {**config.get("TOKEN_KEYS", {}), keyconfig.ENV_LOG_KEY_FILE: config.get("LOG_KEY_FILE")}
    try:
        found = keyconfig.log_signer(
            {k: v for k, v in env.items() if v}, config.get("LOG_ORIGIN") or ""
        )
    except keyconfig.KeyConfigError as exc:
        raise IntakeConfigError(str(exc)) from exc
    if found is None:
        raise IntakeConfigError("no log signing key: set SIGSVC_LOG_KEY_FILE or _LABEL")
    return found


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
    found.reload_trust()
    return found


def close(app: Flask) -> None:
    """Release what `get` built (the intake writer, a rate-limit store's engine); tests and
    shutdown."""
    writer = app.extensions.pop("sigsvc.intake_writer", None)  # sigsvc.web.context.intake_writer
    if writer is not None:
        writer.close()
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
