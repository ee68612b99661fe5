"""Canonical parsers for the text formats we read (Python's defaults are lenient)."""

from __future__ import annotations

import base64
import binascii

_DIGITS = frozenset("0123456789")


def b64encode(data: bytes) -> str:
    """Standard RFC 4648 §4 base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict base64: standard alphabet, padding required, no junk, canonical trailing bits.

    Raises ValueError; callers translate it into their own error.
    """
    if not text.isascii():
        raise ValueError("base64 is not ASCII")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("invalid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:  # non-zero padding bits, missing '='
        raise ValueError("non-canonical base64")
    return raw


def decimal(text: str) -> int:
    """ASCII decimal with no sign, spaces, underscores or leading zeroes (``0`` allowed).

    Raises ValueError; callers translate it into their own error.
    """
    if not text or any(ch not in _DIGITS for ch in text) or (text[0] == "0" and text != "0"):
        raise ValueError(f"not a canonical decimal: {text!r}")
    return int(text)
