"""Who may act: create, revoke or rotate platform keys and admin tokens, and add or remove an
initiative on a platform. The one place each of these happens (admin API, CLI, console, demo
seed and tests all call it); each change is a `credential.changed` log event in the same
transaction, so the log says when access changed (ids only: never a key, digest, name or label).

Functions take a session and the log, raise Refusal with a stable code and never commit. Keys
and tokens are returned once and stored only as SHA-256 digests (docs/adr/0001).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from audit import events
from sigsvc.db.models import AdminToken, Initiative, Platform, utcnow
from sigsvc.log.service import LogService, log_safe_uuid
from sigsvc.refusal import Refusal
from sigsvc.web.auth import ADMIN_PREFIX, PLATFORM_PREFIX, new_token, token_digest


def _log(
    session: Session,
    log: LogService,
    credential: str,
    subject: str,
    changes: Iterable[tuple[str, str | None]],
) -> None:
    """One event per (change, initiative) of one credential, in this transaction."""
    at = log.now(session)  # under the log lock: events stay in time order
    found = [
        events.credential_changed(
            at=at, credential=credential, subject=subject, change=change, initiative=initiative
        )
        for change, initiative in changes
    ]
    log.append(session, found)


def create_platform(
    session: Session, log: LogService, name: str, initiative_ids: Iterable[uuid.UUID]
) -> tuple[Platform, str]:
    """Store a platform with the digest of a fresh API key; returns the key once. Logged as
    CREATED plus one INITIATIVE_ADDED per initiative (the log says what the key may do)."""
    wanted = list(dict.fromkeys(initiative_ids))
    initiatives = [session.get(Initiative, i) for i in wanted]
    if any(initiative is None for initiative in initiatives):
        raise Refusal("INVALID_FIELD", "/initiative_ids: unknown initiative id")
    if session.scalar(sa.select(Platform.id).where(Platform.name == name)) is not None:
        raise Refusal("DUPLICATE_NAME", "a platform with this name exists")
    key = new_token(PLATFORM_PREFIX)
    platform = Platform(
        id=log_safe_uuid(), name=name, key_sha256=token_digest(key), initiatives=initiatives
    )
    session.add(platform)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        raise Refusal("DUPLICATE_NAME", "a platform with this name exists") from exc
    added = [("INITIATIVE_ADDED", str(i)) for i in wanted]
    _log(session, log, "PLATFORM", str(platform.id), [("CREATED", None), *added])
    return platform, key


def list_platforms(session: Session) -> list[Platform]:
    return list(session.scalars(sa.select(Platform).order_by(Platform.created_at)))


def get_platform(session: Session, platform_id: uuid.UUID) -> Platform:
    platform = session.get(Platform, platform_id)
    if platform is None:
        raise Refusal("NOT_FOUND", "no such platform")
    return platform


def _active_platform(session: Session, platform_id: uuid.UUID) -> Platform:
    platform = get_platform(session, platform_id)
    if platform.revoked_at is not None:
        raise Refusal("ALREADY_REVOKED", "the platform is revoked")
    return platform


def revoke_platform(session: Session, log: LogService, platform_id: uuid.UUID) -> Platform:
    """The platform's key stops working at once; its signatures stay as they are."""
    platform = _active_platform(session, platform_id)
    platform.revoked_at = utcnow()
    session.flush()
    _log(session, log, "PLATFORM", str(platform.id), [("REVOKED", None)])
    return platform


def rotate_platform_key(
    session: Session, log: LogService, platform_id: uuid.UUID
) -> tuple[Platform, str]:
    """A new key for the same platform (same id and initiatives); the old key stops working."""
    platform = _active_platform(session, platform_id)
    key = new_token(PLATFORM_PREFIX)
    platform.key_sha256 = token_digest(key)
    session.flush()
    _log(session, log, "PLATFORM", str(platform.id), [("ROTATED", None)])
    return platform, key


def add_initiative(
    session: Session, log: LogService, platform_id: uuid.UUID, initiative_id: uuid.UUID
) -> Platform:
    platform = _active_platform(session, platform_id)
    initiative = session.get(Initiative, initiative_id)
    if initiative is None:
        raise Refusal("NOT_FOUND", "no such initiative")
    if initiative not in platform.initiatives:  # idempotent: adding twice changes nothing
        platform.initiatives.append(initiative)
        session.flush()
        _log(session, log, "PLATFORM", str(platform.id), [("INITIATIVE_ADDED", str(initiative.id))])
    return platform


def remove_initiative(
    session: Session, log: LogService, platform_id: uuid.UUID, initiative_id: uuid.UUID
) -> Platform:
    platform = get_platform(session, platform_id)
    kept = [i for i in platform.initiatives if i.id != initiative_id]
    if len(kept) == len(platform.initiatives):
        raise Refusal("NOT_FOUND", "the platform does not have this initiative")
    platform.initiatives = kept
    session.flush()
    _log(session, log, "PLATFORM", str(platform.id), [("INITIATIVE_REMOVED", str(initiative_id))])
    return platform


def create_admin_token(session: Session, log: LogService, label: str) -> tuple[AdminToken, str]:
    """Store a new admin token's digest; the clear token is returned once, never stored."""
    token = new_token(ADMIN_PREFIX)
    row = AdminToken(label=label, token_sha256=token_digest(token))
    session.add(row)
    session.flush()
    _log(session, log, "ADMIN_TOKEN", str(row.id), [("CREATED", None)])
    return row, token


def list_admin_tokens(session: Session) -> list[AdminToken]:
    return list(session.scalars(sa.select(AdminToken).order_by(AdminToken.id)))


def _active_token(session: Session, token_id: int) -> AdminToken:
    row = session.get(AdminToken, token_id)
    if row is None:
        raise Refusal("NOT_FOUND", "no such admin token")
    if row.revoked_at is not None:
        raise Refusal("ALREADY_REVOKED", "the admin token is revoked")
    return row


def revoke_admin_token(session: Session, log: LogService, token_id: int) -> AdminToken:
    row = _active_token(session, token_id)
    row.revoked_at = utcnow()
    session.flush()
    _log(session, log, "ADMIN_TOKEN", str(row.id), [("REVOKED", None)])
    return row


def rotate_admin_token(session: Session, log: LogService, token_id: int) -> tuple[AdminToken, str]:
    """Revoke the token and mint its successor with the same label (a new row id)."""
    old = _active_token(session, token_id)
    old.revoked_at = utcnow()
    session.flush()
    _log(session, log, "ADMIN_TOKEN", str(old.id), [("ROTATED", None)])
    return create_admin_token(session, log, old.label)


def admin_token_json(row: AdminToken) -> dict[str, object]:
    return {
        "id": row.id,
        "label": row.label,
        "created_at": row.created_at.isoformat(),
        "revoked": row.revoked_at is not None,
    }
