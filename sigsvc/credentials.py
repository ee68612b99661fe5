"""Changing who may act: revoke or rotate platform keys and admin tokens, and add or remove an
initiative on a platform. Shared by the admin API and the CLI; each change is one
`credential.changed` log event in the same transaction (so the log says when access changed).

Functions take a session, raise Refusal with a stable code and never commit. Keys and tokens
are returned once and stored only as SHA-256 digests (docs/adr/0001).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from audit import events
from sigsvc import services
from sigsvc.db.models import AdminToken, Initiative, Platform, utcnow
from sigsvc.refusal import Refusal
from sigsvc.web.auth import ADMIN_PREFIX, PLATFORM_PREFIX, new_token, token_digest


def _log(
    session: Session, credential: str, subject: str, change: str, initiative: str | None = None
) -> None:
    log = services.log_service(current_app._get_current_object())  # type: ignore[attr-defined]
    event = events.credential_changed(
        at=log.now(session),  # under the log lock: events stay in time order
        credential=credential,
        subject=subject,
        change=change,
        initiative=initiative,
    )
    log.append(session, [event])


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


def revoke_platform(session: Session, platform_id: uuid.UUID) -> Platform:
    """The platform's key stops working at once; its signatures stay as they are."""
    platform = _active_platform(session, platform_id)
    platform.revoked_at = utcnow()
    session.flush()
    _log(session, "PLATFORM", str(platform.id), "REVOKED")
    return platform


def rotate_platform_key(session: Session, platform_id: uuid.UUID) -> tuple[Platform, str]:
    """A new key for the same platform (same id and initiatives); the old key stops working."""
    platform = _active_platform(session, platform_id)
    key = new_token(PLATFORM_PREFIX)
    platform.key_sha256 = token_digest(key)
    session.flush()
    _log(session, "PLATFORM", str(platform.id), "ROTATED")
    return platform, key


def add_initiative(session: Session, platform_id: uuid.UUID, initiative_id: uuid.UUID) -> Platform:
    platform = _active_platform(session, platform_id)
    initiative = session.get(Initiative, initiative_id)
    if initiative is None:
        raise Refusal("NOT_FOUND", "no such initiative")
    if initiative not in platform.initiatives:  # idempotent: adding twice changes nothing
        platform.initiatives.append(initiative)
        session.flush()
        _log(session, "PLATFORM", str(platform.id), "INITIATIVE_ADDED", str(initiative.id))
    return platform


def remove_initiative(
    session: Session, platform_id: uuid.UUID, initiative_id: uuid.UUID
) -> Platform:
    platform = get_platform(session, platform_id)
    kept = [i for i in platform.initiatives if i.id != initiative_id]
    if len(kept) == len(platform.initiatives):
        raise Refusal("NOT_FOUND", "the platform does not have this initiative")
    platform.initiatives = kept
    session.flush()
    _log(session, "PLATFORM", str(platform.id), "INITIATIVE_REMOVED", str(initiative_id))
    return platform


def create_admin_token(session: Session, label: str) -> tuple[AdminToken, str]:
    token = new_token(ADMIN_PREFIX)
    row = AdminToken(label=label, token_sha256=token_digest(token))
    session.add(row)
    session.flush()
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


def revoke_admin_token(session: Session, token_id: int) -> AdminToken:
    row = _active_token(session, token_id)
    row.revoked_at = utcnow()
    session.flush()
    _log(session, "ADMIN_TOKEN", str(row.id), "REVOKED")
    return row


def rotate_admin_token(session: Session, token_id: int) -> tuple[AdminToken, str]:
    """Revoke the token and mint its successor with the same label (a new row id)."""
    old = _active_token(session, token_id)
    old.revoked_at = utcnow()
    new, token = create_admin_token(session, old.label)
    _log(session, "ADMIN_TOKEN", str(old.id), "ROTATED")
    return new, token


def admin_token_json(row: AdminToken) -> dict[str, object]:
    return {
        "id": row.id,
        "label": row.label,
        "created_at": row.created_at.isoformat(),
        "revoked": row.revoked_at is not None,
    }
