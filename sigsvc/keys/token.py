"""A PKCS#11 token (python-pkcs11): configuration by module path, token label and PIN file.

Why one long-lived session behind a lock: logging in costs a round trip to the token (and a
network HSM), and a PKCS#11 session must not be used by two threads at once. The library is
loaded on first use, so a forking server (gunicorn, no preload) loads it in each worker, after
the fork, as PKCS#11 requires (a module's state does not survive ``fork``).
"""

from __future__ import annotations

import logging
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ENV_MODULE = "SIGSVC_PKCS11_MODULE"  # path of the PKCS#11 library (.so)
ENV_TOKEN = "SIGSVC_PKCS11_TOKEN"  # noqa: S105 (a variable name) token label
ENV_PIN_FILE = "SIGSVC_PKCS11_PIN_FILE"  # file holding the user PIN (mode 0600)
VARIABLES = (ENV_MODULE, ENV_TOKEN, ENV_PIN_FILE)

_LIBS: dict[str, Any] = {}  # one loaded library per module path per process
_LIBS_LOCK = threading.Lock()


class TokenError(Exception):
    """The token, a key in it, or its configuration is missing or unusable."""


def _library(module: str) -> Any:
    import pkcs11

    with _LIBS_LOCK:
        if module not in _LIBS:
            try:
                _LIBS[module] = pkcs11.lib(module)
            except (OSError, RuntimeError, pkcs11.PKCS11Error) as exc:
                raise TokenError(f"{ENV_MODULE}: cannot load {module}: {exc!r}") from exc
        return _LIBS[module]


def read_pin(path: str) -> str:
    """The PIN from its file (one line); a warning when group or others may read it."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
        pin = p.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenError(f"{ENV_PIN_FILE}: cannot read {p}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("PIN file %s is accessible by group/others; chmod 600 it", p)
    if not pin:
        raise TokenError(f"{ENV_PIN_FILE}: {p} is empty")
    return pin


@dataclass(frozen=True)
class TokenConfig:
    module: str
    token_label: str
    pin_file: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TokenConfig | None:
        """None when no PKCS#11 variable is set; TokenError when only some are."""
        values = [env.get(name, "") for name in VARIABLES]
        if not any(values):
            return None
        missing = [name for name, value in zip(VARIABLES, values, strict=True) if not value]
        if missing:
            raise TokenError(f"PKCS#11 configuration incomplete: set {', '.join(missing)}")
        return cls(*values)

    def describe(self) -> dict[str, str]:
        """For /readyz: where the keys are, never the PIN."""
        return {"module": self.module, "token": self.token_label}


@dataclass
class Token:
    """A logged-in session to one token, shared by the keys of this process."""

    config: TokenConfig
    _session: Any = field(default=None, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def _open(self) -> Any:
        import pkcs11

        lib = _library(self.config.module)
        try:
            token = lib.get_token(token_label=self.config.token_label)
        except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned) as exc:
            raise TokenError(
                f"{ENV_TOKEN}: no single token labelled {self.config.token_label!r}"
            ) from exc
        pin = read_pin(self.config.pin_file)
        try:
            return token.open(user_pin=pin, rw=True)
        except pkcs11.UserAlreadyLoggedIn:  # login state is per process and token (PKCS#11 §5)
            return token.open(rw=True)
        except pkcs11.PKCS11Error as exc:
            raise TokenError(
                f"cannot log in to token {self.config.token_label!r}: {exc!r}"
            ) from exc

    def call(self, operation: Any) -> Any:
        """Run ``operation(session)`` under the lock; reopen the session once if it broke."""
        import pkcs11

        with self._lock:
            for attempt in (1, 2):
                if self._session is None:
                    self._session = self._open()
                try:
                    return operation(self._session)
                except (pkcs11.SessionHandleInvalid, pkcs11.SessionClosed, pkcs11.DeviceRemoved):
                    self._session = None
                    if attempt == 2:
                        raise
                except pkcs11.PKCS11Error as exc:
                    raise TokenError(f"token operation failed: {exc!r}") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None


_TOKENS: dict[TokenConfig, Token] = {}


def token_for(config: TokenConfig) -> Token:
    """The process's session to ``config``'s token (log and seal keys share it)."""
    with _LIBS_LOCK:
        found = _TOKENS.get(config)
        if found is None:
            found = _TOKENS[config] = Token(config)
        return found
