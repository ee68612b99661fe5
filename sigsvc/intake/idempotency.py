"""Idempotency-Key handling for the platform API (POST of signatures and withdrawals).

Why: a platform that times out must be able to retry a POST without creating a second record,
and must learn when it reuses a key for a different body (a platform bug that would otherwise
silently drop a signature). Same key + same request → the first final answer, byte for byte;
same key + different request → 409 ``IDEMPOTENCY_KEY_REUSED``; new key → do the work.

Keys are scoped per platform (two platforms may choose the same key). A request is identified
by :func:`request_fingerprint`: SHA-256 over the length-prefixed method, path, platform and body.

How to wire it (no "pending" rows, so a crash mid-request leaves nothing to clean up):

1. ``parse_key(header)``; ``decide(lookup(conn, platform, key), fingerprint)``:
   REPLAY → send the stored response; CONFLICT → 409; NEW → go on.
2. Verify (outside any transaction: it may wait on OCSP).
3. In the one intake transaction, call ``remember(...)`` first, then dedup, record and log
   leaf. If ``remember`` returns False another request with this key committed first (on
   PostgreSQL the insert waits for it): roll back and go to step 1, which now replays.

Only final answers are remembered (:func:`is_replayable`): not 5xx, not 429, and not a
retryable 4xx such as ``REVOCATION_UNAVAILABLE``, nor a refusal of a body that is no signature
(empty, unsupported, malformed: sigsvc.intake.submit), so a retry can still succeed. Stored bodies
must not contain personal data (signature ids and reason codes only); rows are deleted by
:func:`purge_before` once the retry window has passed (SIGSVC_IDEMPOTENCY_RETENTION_HOURS,
default 168: sigsvc.housekeeping, hourly in every worker and as `sigsvc housekeeping`).
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sigsvc.db.models.idempotency import MAX_KEY_LENGTH as MAX_KEY_LENGTH  # the header rule
from sigsvc.db.models.idempotency import idempotency_keys

HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MISSING = "IDEMPOTENCY_KEY_MISSING"
IDEMPOTENCY_KEY_INVALID = "IDEMPOTENCY_KEY_INVALID"
_FINGERPRINT_TAG = b"sigsvc/idempotency/v1"
# Not final: the client is told to retry, so the retry must be able to reach the work again.
_RETRYABLE_4XX = frozenset({408, 425, 429})


class IdempotencyError(Exception):
    """Base of every error raised by this module."""


class InvalidIdempotencyKey(IdempotencyError):
    """400: the header is missing or not 1–255 visible ASCII characters; ``code`` says which."""

    def __init__(self, message: str, code: str = IDEMPOTENCY_KEY_INVALID) -> None:
        super().__init__(message)
        self.code = code


class UnsupportedDatabase(IdempotencyError):
    """The storage helpers know the PostgreSQL and SQLite dialects only."""


def parse_key(header_value: str | None) -> str:
    """The key from the ``Idempotency-Key`` header value, unchanged, or InvalidIdempotencyKey.

    Visible ASCII is 0x21–0x7E (RFC 5234 VCHAR): no spaces, no controls, no non-ASCII.
    A Structured-Field quoted string (draft-ietf-httpapi-idempotency-key-header) is accepted
    as is, quotes included, which keeps retries byte-identical.
    """
    if header_value is None or header_value == "":
        raise InvalidIdempotencyKey(f"{HEADER} header is required", IDEMPOTENCY_KEY_MISSING)
    if len(header_value) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(f"{HEADER} is longer than {MAX_KEY_LENGTH} characters")
    if not all("\x21" <= ch <= "\x7e" for ch in header_value):
        raise InvalidIdempotencyKey(f"{HEADER} must be visible ASCII characters only")
    return header_value


def request_fingerprint(method: str, path: str, platform_id: str | uuid.UUID, body: bytes) -> bytes:
    """SHA-256 of the request's identity; any change in any part changes it."""
    digest = hashlib.sha256(_FINGERPRINT_TAG)
    for part in (method.upper().encode(), path.encode(), str(platform_id).encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: bytes
    response: StoredResponse


class Outcome(enum.Enum):
    NEW = "new"
    REPLAY = "replay"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    response: StoredResponse | None = None  # set exactly for REPLAY


def decide(record: IdempotencyRecord | None, fingerprint: bytes) -> Decision:
    """NEW without a record; REPLAY when the fingerprints match; CONFLICT otherwise."""
    if record is None:
        return Decision(Outcome.NEW)
    if record.fingerprint == fingerprint:
        return Decision(Outcome.REPLAY, record.response)
    return Decision(Outcome.CONFLICT)


def is_replayable(status: int, *, retryable: bool = False) -> bool:
    """Whether an answer is final and must be remembered (see the module docstring)."""
    if retryable:
        return False
    return 200 <= status < 300 or (400 <= status < 500 and status not in _RETRYABLE_4XX)


# --- storage (SQLAlchemy Core, inside the caller's transaction) ------------------------------


def lookup(conn: sa.Connection, platform_id: str | uuid.UUID, key: str) -> IdempotencyRecord | None:
    t = idempotency_keys.c
    row = conn.execute(
        sa.select(t.fingerprint, t.status_code, t.content_type, t.body).where(
            t.platform_id == str(platform_id), t.key == key
        )
    ).first()
    if row is None:
        return None
    return IdempotencyRecord(
        bytes(row.fingerprint), StoredResponse(row.status_code, row.content_type, bytes(row.body))
    )


def _insert(dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(idempotency_keys)
    if dialect == "sqlite":
        return sqlite.insert(idempotency_keys)
    raise UnsupportedDatabase(f"idempotency storage supports postgresql and sqlite, not {dialect}")


def answer_row(
    platform_id: str | uuid.UUID,
    key: str,
    fingerprint: bytes,
    response: StoredResponse,
    now: datetime,
) -> dict[str, Any]:
    """The stored form of an answer for (platform, key)."""
    return {
        "platform_id": str(platform_id),
        "key": key,
        "fingerprint": fingerprint,
        "status_code": response.status,
        "content_type": response.content_type,
        "body": response.body,
        "created_at": now.astimezone(UTC),
    }


def remember(
    conn: sa.Connection,
    platform_id: str | uuid.UUID,
    key: str,
    fingerprint: bytes,
    response: StoredResponse,
    now: datetime,
) -> bool:
    """Store the answer for (platform, key). False: a row exists already, so the caller must
    roll back its transaction and decide again (the other request won)."""
    stmt = (
        _insert(conn.dialect.name)
        .values(answer_row(platform_id, key, fingerprint, response, now))
        .on_conflict_do_nothing(index_elements=["platform_id", "key"])
        .returning(idempotency_keys.c.key)
    )
    return conn.execute(stmt).first() is not None


def remember_all(conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
    """Store many answers (`answer_row`s with distinct keys) in one statement; how many were
    stored: fewer than given means some (platform, key) had an answer already."""
    if not rows:
        return 0
    stmt = (
        _insert(conn.dialect.name)
        .on_conflict_do_nothing(index_elements=["platform_id", "key"])
        .returning(idempotency_keys.c.key)
    )
    return len(conn.execute(stmt, rows).all())


def purge_before(conn: sa.Connection, cutoff: datetime) -> int:
    """Delete records created before ``cutoff``; returns how many."""
    result = conn.execute(
        sa.delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff.astimezone(UTC))
    )
    return result.rowcount or 0
