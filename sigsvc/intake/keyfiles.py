"""Load secret key material from a file or an environment variable, never from the database.

Why: the data-encryption key-encryption key and the pseudonym key must live outside the
database so that a database dump alone reveals no personal data. Both are configured the same
way (a ``*_FILE`` variable naming a file, or the value itself in a variable) and both need the
same strict parsing, so the loading lives here once.

Accepted encodings: exactly ``length`` raw bytes, or standard base64 of ``length`` bytes
(surrounding whitespace, e.g. a final newline, is ignored). Base64 is decoded strictly
(``validate=True``): a key with a stray character is refused, not silently shortened.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

# Group/other permission bits that must be clear on a key file.
_LOOSE_PERMISSIONS = stat.S_IRWXG | stat.S_IRWXO


class KeyMaterialError(Exception):
    """Key material is missing, ambiguous or malformed (the message names the variable)."""


def parse_key(data: bytes, length: int, source: str, *, allow_raw: bool = True) -> bytes:
    """Return ``length`` key bytes from raw (if allowed) or base64 ``data``.

    Raw is only accepted from files: an environment value is text and must be base64.
    """
    if allow_raw and len(data) == length:
        return data
    text = data.strip()
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyMaterialError(
            f"{source}: expected {length} raw bytes or base64 of {length} bytes"
        ) from exc
    if len(decoded) != length:
        raise KeyMaterialError(
            f"{source}: base64 decodes to {len(decoded)} bytes, expected {length}"
        )
    return decoded


def read_key_file(path: str | os.PathLike[str], length: int, source: str) -> bytes:
    """Read a key file, warning (log) when group or others may read it."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
        data = p.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"{source}: cannot read key file {p}: {exc.strerror}") from exc
    if mode & _LOOSE_PERMISSIONS:
        log.warning(
            "key file %s (%s) is accessible by group/others (mode %o); chmod 600 it",
            p,
            source,
            stat.S_IMODE(mode),
        )
    return parse_key(data, length, f"{source} ({p})")


def load_key(
    environ: Mapping[str, str], file_var: str, value_var: str, length: int
) -> bytes | None:
    """Key from ``environ[file_var]`` (a path) or ``environ[value_var]`` (base64).

    Returns None when neither is set; raises KeyMaterialError when both are set (an operator
    would not know which one is in force) or when the chosen one is malformed.
    """
    file_value = environ.get(file_var, "")
    inline_value = environ.get(value_var, "")
    if file_value and inline_value:
        raise KeyMaterialError(f"set only one of {file_var} and {value_var}")
    if file_value:
        return read_key_file(file_value, length, file_var)
    if inline_value:
        return parse_key(
            inline_value.encode("ascii", "replace"), length, value_var, allow_raw=False
        )
    return None


def write_key_file(path: str | os.PathLike[str], key: bytes) -> None:
    """Create a new key file (mode 0600, base64 + newline); refuse to overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(key) + b"\n")
