"""Batch handover to CVK: push with retries, one-time download tokens, acknowledgements.

Push: ``POST <SIGSVC_HANDOVER_URL>`` with the batch file and ``Idempotency-Key: <batch id>``,
retried on connection errors, timeouts, 429 and 5xx with exponential backoff; the receiver's
idempotency makes a retry after a lost answer harmless (same key and body: the stored answer
again, never a second batch). The URL must be HTTPS; plain http is accepted only for a
loopback host (127.0.0.1 / ::1 / localhost), which is what the tests' reference receiver uses.

Acknowledgement: a C2SP signed note (docs/batch-format.md "Acknowledgement") verified with the
receiver's key (``SIGSVC_RECEIVER_KEY``, a signed-note vkey); an ACCEPTED note naming this
batch's id, sequence, manifest digest and checkpoint is logged as ``batch.acknowledged`` and
locks the batch (no second acknowledgement, no re-export, its signatures stay exported).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
import structlog
from flask import Flask
from sqlalchemy.orm import Session

from audit import events
from audit.acknowledgement import Acknowledgement
from audit.checkpoint import Checkpoint
from audit.errors import AuditError
from audit.note import Verifier, open_note, parse
from sigsvc import db
from sigsvc.db.models.batches import Batch, BatchStatus, HandoverAttempt
from sigsvc.export import refusal
from sigsvc.log.storage import SqlLogStorage
from sigsvc.refusal import Refusal
from sigsvc.services import Services

log = structlog.get_logger("sigsvc.handover")

LOOPBACK = ("127.0.0.1", "::1", "localhost")
MEDIA_TYPE = "application/vnd.etsi.asic-e+zip"
TOKEN_PREFIX = "sigsvc_dl_"  # noqa: S105 (a prefix, not a secret)


class HandoverError(Exception):
    """The batch could not be handed over (message says why; attempts are recorded)."""


@dataclass(frozen=True)
class PushPolicy:
    attempts: int = 6
    base_delay: float = 1.0  # seconds; doubles after each failed attempt
    max_delay: float = 60.0
    timeout: float = 300.0  # per attempt (a 155,000-signature batch is ~1 GB)


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return url
    raise HandoverError("SIGSVC_HANDOVER_URL must be https:// (http only for a loopback host)")


def receiver_key(app: Flask) -> Verifier:
    vkey = app.config.get("RECEIVER_KEY") or ""
    try:
        return Verifier.from_vkey(vkey.strip())
    except AuditError as exc:
        raise HandoverError(f"SIGSVC_RECEIVER_KEY: not a signed-note vkey ({exc})") from exc


def _batch(session: Session, batch_id: str, *, lock: bool = False) -> Batch:
    if lock:  # batch state changes are serialised with the log's writers
        SqlLogStorage(session).lock()
    batch = session.get(Batch, batch_id, populate_existing=lock)
    if batch is None:
        raise Refusal("NOT_FOUND", "no such batch")
    return batch


# --- acknowledgement -------------------------------------------------------------------------


def check_acknowledgement(batch: Batch, note: bytes, key: Verifier) -> str:
    """The receiver's status line (ACCEPTED) if ``note`` is its signed acceptance of ``batch``."""
    try:
        opened, _ = open_note(note, [key])
        ack = Acknowledgement.from_text(opened.text)
        checkpoint = Checkpoint.from_text(parse(batch.checkpoint).text)
    except AuditError as exc:
        raise Refusal("ACKNOWLEDGEMENT_INVALID", f"acknowledgement: {exc}") from exc
    if not ack.accepted:
        raise Refusal("ACKNOWLEDGEMENT_INVALID", f"the receiver refused the batch: {ack.reason}")
    differs = [
        name
        for name, ok in (
            ("batch", ack.batch == batch.id),
            ("sequence", ack.sequence == batch.sequence),
            ("manifest", ack.manifest_sha256 == batch.manifest_sha256),
            ("checkpoint", ack.checkpoint_matches(checkpoint)),
        )
        if not ok
    ]
    if differs:
        raise Refusal("ACKNOWLEDGEMENT_INVALID", f"acknowledgement: {differs[0]} differs")
    return ack.status


def acknowledge(
    session: Session, intake: Services, key: Verifier, batch_id: str, note: bytes, now: datetime
) -> Batch:
    """Verify and record the receiver's acceptance (caller commits). The same note again is a
    no-op; any other note for an acknowledged batch is refused (BATCH_LOCKED)."""
    batch = _batch(session, batch_id, lock=True)
    if batch.status in (BatchStatus.ACKNOWLEDGED, BatchStatus.PURGED):
        if batch.acknowledgement == note:
            return batch
        raise Refusal("BATCH_LOCKED", "the batch is already acknowledged")
    if refusal.log_refusal(session, intake, batch.id, note, key, now) is not None:
        return batch  # a signed refusal: logged as batch.refused; the batch stays open
    status = check_acknowledgement(batch, note, key)
    event = events.batch_acknowledged(
        at=intake.log.now(session),  # under the log lock (`now` dates the records)
        batch=batch.id,
        status=status,
        acknowledgement_sha256=hashlib.sha256(note).hexdigest(),
    )
    (index,) = intake.log.append(session, [event])
    batch.status = BatchStatus.ACKNOWLEDGED
    batch.acknowledgement = note
    batch.acknowledged_at = now
    batch.acknowledged_leaf_index = index
    batch.handed_over_at = batch.handed_over_at or now
    batch.download_token_sha256 = None  # nothing more to hand over
    session.flush()
    intake.log.cut_if_due(session)
    log.info("batch_acknowledged", batch=batch.id, sequence=batch.sequence, leaf_index=index)
    return batch


# --- push ------------------------------------------------------------------------------------


def _record(
    app: Flask,
    intake: Services,
    batch_id: str,
    attempt: int,
    status: int | None,
    outcome: str,
    detail: str,
) -> None:
    now = intake.clock()
    with db.session_scope(app) as session:
        session.add(
            HandoverAttempt(
                batch_id=batch_id,
                method="push",
                attempt=attempt,
                at=now,
                http_status=status,
                outcome=outcome,
                detail=detail[:500],
            )
        )
        if outcome in ("ACCEPTED", "REFUSED"):
            batch = session.get(Batch, batch_id)
            if batch is not None and batch.status is BatchStatus.CREATED:
                batch.status = BatchStatus.HANDED_OVER
                batch.handed_over_at = now
    log.info("batch_push", batch=batch_id, attempt=attempt, http_status=status, outcome=outcome)


def push(
    app: Flask,
    intake: Services,
    batch_id: str,
    *,
    policy: PushPolicy = PushPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Push the batch until the receiver answers; verify and record its acknowledgement."""
    url = check_url(app.config.get("HANDOVER_URL") or "")
    key = receiver_key(app)
    with db.session_scope(app) as session:
        batch = _batch(session, batch_id)
        if batch.status in (BatchStatus.ACKNOWLEDGED, BatchStatus.PURGED):
            return {"batch": batch.id, "status": batch.status.value, "attempts": 0}
        path = Path(batch.artefact_path or "")
    delay = policy.base_delay
    for attempt in range(1, policy.attempts + 1):
        try:
            with path.open("rb") as body:
                response = requests.post(
                    url,
                    data=body,
                    headers={"Idempotency-Key": batch_id, "Content-Type": MEDIA_TYPE},
                    timeout=policy.timeout,
                )
        except requests.RequestException as exc:
            _record(app, intake, batch_id, attempt, None, "RETRY", type(exc).__name__)
        else:
            status = response.status_code
            if status in (200, 201):
                note = str(response.json().get("acknowledgement", "")).encode()
                _record(app, intake, batch_id, attempt, status, "ACCEPTED", "")
                with db.session_scope(app) as session:
                    done = acknowledge(session, intake, key, batch_id, note, intake.clock())
                    return {"batch": done.id, "status": done.status.value, "attempts": attempt}
            if status == 422:
                answer = response.json()
                reason = str(answer.get("reason", "REFUSED"))
                _record(app, intake, batch_id, attempt, status, "REFUSED", reason)
                with db.session_scope(app) as session:
                    note = str(answer.get("acknowledgement", "")).encode()
                    refusal.log_refusal(session, intake, batch_id, note, key, intake.clock())
                raise HandoverError(f"the receiver refused batch {batch_id}: {reason}")
            if status != 429 and status < 500:
                _record(app, intake, batch_id, attempt, status, "ERROR", response.text[:200])
                raise HandoverError(f"the receiver answered {status}: {response.text[:200]}")
            _record(app, intake, batch_id, attempt, status, "RETRY", response.text[:200])
        if attempt < policy.attempts:
            sleep(min(delay, policy.max_delay))
            delay *= 2
    raise HandoverError(f"batch {batch_id}: no answer after {policy.attempts} attempts")


# --- pull ------------------------------------------------------------------------------------


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_download_token(
    session: Session, batch_id: str, now: datetime, ttl: timedelta
) -> tuple[str, datetime]:
    """A fresh one-time token and its expiry (shown once; only its SHA-256 is stored; replaces
    an older one). The expiry is written into the token: it is covered by the stored digest,
    so it cannot be altered, and no schema change was needed."""
    batch = _batch(session, batch_id, lock=True)
    if batch.status in (BatchStatus.ACKNOWLEDGED, BatchStatus.PURGED):
        raise Refusal("BATCH_LOCKED", "the batch is already acknowledged")
    expires = int((now + ttl).timestamp())
    token = f"{TOKEN_PREFIX}{expires:010d}_{secrets.token_urlsafe(32)}"
    batch.download_token_sha256 = _digest(token)
    return token, datetime.fromtimestamp(expires, UTC)


def _expiry(token: str) -> datetime | None:
    stamp = token.removeprefix(TOKEN_PREFIX).split("_", 1)[0]
    return datetime.fromtimestamp(int(stamp), UTC) if stamp.isdigit() and len(stamp) == 10 else None


def redeem_download_token(session: Session, batch_id: str, token: str, now: datetime) -> Path:
    """Spend the token (constant-time comparison of digests); the artefact path to send."""
    batch = session.scalars(sa.select(Batch).where(Batch.id == batch_id).with_for_update()).first()
    stored = None if batch is None else batch.download_token_sha256
    # Compare even when nothing is stored, so timing does not say whether a token exists.
    matches = hmac.compare_digest(_digest(token), stored or b"\0" * 32)
    if batch is None or stored is None or not matches or not batch.artefact_path:
        log.warning("batch_download_refused", batch=batch_id)
        raise Refusal("DOWNLOAD_TOKEN_INVALID", "the download token is not valid")
    expires = _expiry(token)
    if expires is None or now >= expires:
        log.warning("batch_download_refused", batch=batch_id, expired=True)
        raise Refusal("DOWNLOAD_TOKEN_INVALID", "the download token has expired")
    batch.download_token_sha256 = None
    batch.downloads += 1
    if batch.status is BatchStatus.CREATED:
        batch.status = BatchStatus.HANDED_OVER
        batch.handed_over_at = now
    session.add(
        HandoverAttempt(
            batch_id=batch.id,
            method="download",
            attempt=batch.downloads,
            at=now,
            http_status=200,
            outcome="DOWNLOADED",
            detail="",
        )
    )
    session.flush()
    log.info(
        "batch_downloaded", batch=batch.id, downloads=batch.downloads, bytes=batch.artefact_bytes
    )
    return Path(batch.artefact_path)
