"""Bearer-token authentication for admins and platforms.

Tokens are 256-bit random values; only their SHA-256 digests are stored (docs/adr/0001). A
digest lookup is followed by a constant-time comparison of the digest found.

    @endpoint(..., auth="admin")       # admin-only views (sigsvc.web.endpoints)
    principal = require_platform(initiative_id)            # platform key of that initiative
    principal = require_platform(initiative_id, allow_admin=True)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from flask import current_app, g, request
from sqlalchemy.orm import Session

from sigsvc import db
from sigsvc.db.models import AdminToken, Platform, platform_initiatives
from sigsvc.db.ttlcache import app_cache
from sigsvc.web.errors import ApiError

ADMIN_PREFIX = "sgadm_"
PLATFORM_PREFIX = "sgpk_"
MIN_TOKEN_LENGTH = 32  # characters; an operator-chosen SIGSVC_ADMIN_TOKEN must be at least this
_BEARER = re.compile(r"Bearer ([A-Za-z0-9._~+/-]+=*)")  # RFC 6750 section 2.1 b64token
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sigsvc"'}


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["admin", "platform"]
    id: str  # admin token row id ("env" for SIGSVC_ADMIN_TOKEN) or platform uuid
    name: str


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _bearer_token() -> str:
    header = request.headers.get("Authorization")
    if header is None:
        raise ApiError("TOKEN_MISSING", "send Authorization: Bearer <token>", headers=_CHALLENGE)
    match = _BEARER.fullmatch(header)
    if match is None:
        raise ApiError("TOKEN_INVALID", "malformed Authorization header", headers=_CHALLENGE)
    return match.group(1)


def authenticate(session: Session, token: str, *, cached: bool = False) -> Principal | None:
    """The token's principal. ``cached`` (signature intake, the hot path): platform keys are
    remembered per process, positive answers only, so a revoked key reaches every worker
    within the TTL of sigsvc.db.ttlcache; everything else is read each time."""
    digest = token_digest(token)
    if not cached:
        return _authenticate(session, digest)
    cache = app_cache("platform_keys")
    found: Principal | None = cache.get(digest)
    if found is None:
        found = _authenticate(session, digest)
        if found is not None and found.kind == "platform":
            cache.put(digest, found)
    return found


def _authenticate(session: Session, digest: bytes) -> Principal | None:
    env_digest: bytes | None = current_app.config.get("ADMIN_TOKEN_SHA256")
    if env_digest is not None and hmac.compare_digest(digest, env_digest):
        return Principal("admin", "env", "SIGSVC_ADMIN_TOKEN")
    admin = session.scalar(
        sa.select(AdminToken).where(
            AdminToken.token_sha256 == digest, AdminToken.revoked_at.is_(None)
        )
    )
    if admin is not None and hmac.compare_digest(admin.token_sha256, digest):
        return Principal("admin", str(admin.id), admin.label)
    # Columns only: the Platform entity would load every initiative the key covers (selectin).
    platform = session.execute(
        sa.select(Platform.id, Platform.name, Platform.key_sha256).where(
            Platform.key_sha256 == digest, Platform.revoked_at.is_(None)
        )
    ).first()
    if platform is not None and hmac.compare_digest(platform.key_sha256, digest):
        return Principal("platform", str(platform.id), platform.name)
    return None


def current_principal(*, cached: bool = False) -> Principal:
    """The authenticated caller of this request (401 when none or unknown)."""
    if "principal" not in g:
        principal = authenticate(db.session(), _bearer_token(), cached=cached)
        if principal is None:
            raise ApiError("TOKEN_INVALID", "unknown or revoked token", headers=_CHALLENGE)
        g.principal = principal
    found: Principal = g.principal
    return found


def require_platform(
    initiative_id: uuid.UUID, *, allow_admin: bool = False, cached: bool = False
) -> Principal:
    """The caller must be a platform whose key covers `initiative_id` (or an admin if allowed).
    ``cached``: see `authenticate`; the key's initiatives are remembered the same way."""
    principal = current_principal(cached=cached)
    if principal.kind == "admin":
        if allow_admin:
            return principal
        raise ApiError("FORBIDDEN", "a platform API key is required")
    cache = app_cache("platform_initiatives")
    allowed = cache.get((principal.id, initiative_id)) if cached else None
    if allowed is None:
        allowed = bool(
            db.session().scalar(
                sa.select(sa.func.count())
                .select_from(platform_initiatives)
                .where(
                    platform_initiatives.c.platform_id == uuid.UUID(principal.id),
                    platform_initiatives.c.initiative_id == initiative_id,
                )
            )
        )
        if allowed and cached:
            cache.put((principal.id, initiative_id), True)
    if not allowed:
        raise ApiError("FORBIDDEN", "this API key is not valid for this initiative")
    return principal
