"""Which key a deployment signs with: a PKCS#11 token key (production) or a key file (dev).

Log key: ``SIGSVC_LOG_KEY_LABEL`` (a key in the token named by ``SIGSVC_PKCS11_*``; the note key
name is ``SIGSVC_LOG_KEY_NAME``, else the log origin, else the label) or ``SIGSVC_LOG_KEY_FILE``.
Seal key: ``SIGSVC_BATCH_SEAL_KEY_LABEL`` (token) or ``SIGSVC_BATCH_SEAL_KEY`` (PEM file), with
the certificate chain in ``SIGSVC_BATCH_SEAL_CERT`` either way. Setting both forms of one key
is refused: an operator must not have to guess which one signs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.note import NoteSigner, Signer
from sigsvc.export.seal import ENV_CERT, ENV_KEY, FileSealer, Sealer, SealError
from sigsvc.keys.signers import TokenNoteSigner, TokenSealer
from sigsvc.keys.token import VARIABLES, TokenConfig, TokenError, token_for

ENV_LOG_KEY_FILE = "SIGSVC_LOG_KEY_FILE"
ENV_LOG_KEY_LABEL = "SIGSVC_LOG_KEY_LABEL"
ENV_LOG_KEY_NAME = "SIGSVC_LOG_KEY_NAME"
ENV_SEAL_KEY_LABEL = "SIGSVC_BATCH_SEAL_KEY_LABEL"


class KeyConfigError(Exception):
    """The key configuration is incomplete, ambiguous or does not match the token."""


@dataclass(frozen=True)
class KeySource:
    """Where a key lives, for /readyz and logs (no secret)."""

    kind: str  # "pkcs11" or "file"
    detail: dict[str, str]

    def describe(self) -> dict[str, Any]:
        return {"source": self.kind, **self.detail}


def token_config(env: Mapping[str, str]) -> TokenConfig | None:
    try:
        return TokenConfig.from_env(env)
    except TokenError as exc:
        raise KeyConfigError(str(exc)) from exc


def log_signer(env: Mapping[str, str], origin: str = "") -> tuple[NoteSigner, KeySource] | None:
    """The log signing key, or None when neither form is configured."""
    label, path = env.get(ENV_LOG_KEY_LABEL, ""), env.get(ENV_LOG_KEY_FILE, "")
    if label and path:
        raise KeyConfigError(f"set only one of {ENV_LOG_KEY_LABEL} and {ENV_LOG_KEY_FILE}")
    if label:
        config = token_config(env)
        if config is None:
            raise KeyConfigError(f"{ENV_LOG_KEY_LABEL} needs SIGSVC_PKCS11_MODULE/_TOKEN/_PIN_FILE")
        name = env.get(ENV_LOG_KEY_NAME, "") or origin or label
        try:
            signer = TokenNoteSigner(token_for(config), label, name)
        except (TokenError, ValueError) as exc:
            raise KeyConfigError(f"{ENV_LOG_KEY_LABEL}: {exc}") from exc
        return signer, KeySource("pkcs11", {**config.describe(), "label": label})
    if path:
        try:
            text = Path(path).read_text(encoding="ascii").strip()
            return Signer.from_skey(text), KeySource("file", {"path": path})
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise KeyConfigError(f"{ENV_LOG_KEY_FILE}: not a signed-note key ({exc})") from exc
    return None


def token_sealer(env: Mapping[str, str], cert_path: str) -> tuple[TokenSealer, KeySource] | None:
    """The seal key in the token when ``SIGSVC_BATCH_SEAL_KEY_LABEL`` is set, else None."""
    label = env.get(ENV_SEAL_KEY_LABEL, "")
    if not label:
        return None
    config = token_config(env)
    if config is None:
        raise KeyConfigError(f"{ENV_SEAL_KEY_LABEL} needs SIGSVC_PKCS11_MODULE/_TOKEN/_PIN_FILE")
    if not cert_path:
        raise KeyConfigError(f"{ENV_SEAL_KEY_LABEL} needs SIGSVC_BATCH_SEAL_CERT")
    try:
        sealer = TokenSealer.load(token_for(config), label, cert_path)
    except TokenError as exc:
        raise KeyConfigError(f"{ENV_SEAL_KEY_LABEL}: {exc}") from exc
    return sealer, KeySource("pkcs11", {**config.describe(), "label": label})


def batch_sealer(env: Mapping[str, str]) -> tuple[Sealer, KeySource]:
    """The batch seal key: the token's (``_LABEL``) or a PEM file's (``SIGSVC_BATCH_SEAL_KEY``)."""
    cert = env.get(ENV_CERT, "")
    if env.get(ENV_SEAL_KEY_LABEL) and env.get(ENV_KEY):
        raise KeyConfigError(f"set only one of {ENV_SEAL_KEY_LABEL} and {ENV_KEY}")
    found = token_sealer(env, cert)
    if found is not None:
        return found
    try:
        return FileSealer.from_env(env), KeySource("file", {"path": env.get(ENV_KEY, "")})
    except SealError as exc:
        raise KeyConfigError(str(exc)) from exc


def seal_source(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """Which seal key export would use, from the configuration alone (no token access)."""
    label = config.get("TOKEN_KEYS", {}).get(ENV_SEAL_KEY_LABEL)
    if label:
        token = config.get("TOKEN_KEYS", {}).get("SIGSVC_PKCS11_TOKEN", "")
        return {"source": "pkcs11", "token": token, "label": label}
    path = config.get("BATCH_SEAL", {}).get(ENV_KEY)
    return {"source": "file", "path": path} if path else None


# What batch export reads from the token configuration (with SIGSVC_BATCH_SEAL_*).
TOKEN_SEAL_ENV = frozenset({*VARIABLES, ENV_SEAL_KEY_LABEL})
