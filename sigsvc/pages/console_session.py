"""The operator console's session: a signed, short-lived cookie made at login with an admin
token, and the CSRF token every console form carries.

Why a signed cookie and not a table: the console needs no server state beyond the key, every
gunicorn worker verifies it alike, and a revoked admin token ends its sessions at the next
request (each request re-checks that the token the session came from is still valid).

The cookie holds the admin principal's id, a CSRF token and the issue time, MAC'd with
HMAC-SHA256 (itsdangerous) under the console key: SIGSVC_CONSOLE_KEY_FILE / SIGSVC_CONSOLE_KEY
(32 bytes, like the other keys), else a key generated once in the instance folder
(`console.key`, mode 0600; every worker on the host reads the same file). Several hosts behind
one name must share a configured key.

Cookie: HttpOnly, SameSite=Strict, Path=/console, Secure behind TLS. CSRF: the synchroniser
token in the session must equal the form's `csrf` field (constant-time), and an Origin header,
when the browser sends one, must be this host's.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from sigsvc.db.models import AdminToken
from sigsvc.intake.keyfiles import KeyMaterialError, load_key, read_key_file, write_key_file
from sigsvc.web.auth import authenticate

COOKIE = "sigsvc_console"
COOKIE_PATH = "/console"
MAX_AGE_SECONDS = 15 * 60  # short: an unattended console locks itself
KEY_BYTES = 32
_SALT = "sigsvc.console.session.v1"
_LOCK = threading.Lock()
_EXTENSION = "sigsvc.console_key"


class ConsoleAuthError(Exception):
    """No valid console session (expired, forged, revoked token): log in again."""


class CsrfError(Exception):
    """A console form arrived without this session's CSRF token, or from another origin."""


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    principal_id: str  # admin token row id, or "env" for SIGSVC_ADMIN_TOKEN
    label: str
    csrf: str


def _instance_key(app: Flask) -> bytes:
    path = Path(app.instance_path) / "console.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another worker made it first: use theirs
            write_key_file(path, secrets.token_bytes(KEY_BYTES))
    return read_key_file(path, KEY_BYTES, "console key")


def console_key(app: Flask) -> bytes:
    """The console's MAC key (configured, or the instance folder's generated one)."""
    found: bytes | None = app.extensions.get(_EXTENSION)
    if found is None:
        with _LOCK:
            found = app.extensions.get(_EXTENSION)
            if found is None:
                found = app.config.get("CONSOLE_KEY") or load_key(
                    os.environ, "SIGSVC_CONSOLE_KEY_FILE", "SIGSVC_CONSOLE_KEY", KEY_BYTES
                )
                if found is None:
                    found = _instance_key(app)
                app.extensions[_EXTENSION] = found
    return found


def _serializer() -> URLSafeTimedSerializer:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return URLSafeTimedSerializer(
        console_key(app), salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def login(session: sa.orm.Session, token: str) -> tuple[ConsoleSession, str] | None:
    """Check an admin token; return the new session and its cookie value (None if refused)."""
    principal = authenticate(session, token.strip())
    if principal is None or principal.kind != "admin":
        return None
    new = ConsoleSession(principal.id, principal.name, secrets.token_urlsafe(32))
    value = _serializer().dumps({"sub": new.principal_id, "label": new.label, "csrf": new.csrf})
    return new, value


def _still_valid(session: sa.orm.Session, principal_id: str) -> bool:
    if principal_id == "env":
        return current_app.config.get("ADMIN_TOKEN_SHA256") is not None
    if not principal_id.isdigit():
        return False
    row = session.get(AdminToken, int(principal_id))
    return row is not None and row.revoked_at is None


def current(session: sa.orm.Session) -> ConsoleSession:
    """The request's console session; ConsoleAuthError when there is none or it lapsed."""
    value = request.cookies.get(COOKIE)
    if not value:
        raise ConsoleAuthError("no session")
    try:
        data = _serializer().loads(value, max_age=MAX_AGE_SECONDS)
    except BadSignature as exc:  # includes SignatureExpired
        raise ConsoleAuthError("session expired or invalid") from exc
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in ("sub", "label", "csrf")
    ):
        raise ConsoleAuthError("session invalid")
    if not _still_valid(session, data["sub"]):
        raise ConsoleAuthError("the admin token of this session was revoked")
    return ConsoleSession(data["sub"], data["label"], data["csrf"])


def check_csrf(console: ConsoleSession) -> None:
    """Synchroniser token plus Origin check on every state-changing console request."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        if urlsplit(origin).netloc != request.host:
            raise CsrfError("the form was sent from another origin")
    elif origin == "null":
        raise CsrfError("the form was sent from an opaque origin")
    sent = request.form.get("csrf", "")
    if not hmac.compare_digest(sent.encode(), console.csrf.encode()):
        raise CsrfError("the form's CSRF token is missing or wrong")


def set_cookie(response: Response, value: str, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_SECONDS,
        path=COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="Strict",
    )


def clear_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, secure=secure, httponly=True, samesite="Strict"
    )


__all__ = [
    "ConsoleAuthError",
    "ConsoleSession",
    "CsrfError",
    "KeyMaterialError",
    "check_csrf",
    "clear_cookie",
    "console_key",
    "current",
    "login",
    "set_cookie",
]
