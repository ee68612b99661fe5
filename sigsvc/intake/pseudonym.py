"""Keyed pseudonyms of a signer: the dedup key and the signer pseudonym.

Why: "one signature per person per initiative" needs a value that is equal for the same person
and initiative, yet reveals nothing to someone holding the database or the public log. A plain
hash of a Latvian personal code is reversible by enumeration (~10^8 codes); an HMAC with a key
kept outside the database is not. So nothing in this service hashes a personal code without a
key.

Two derivations from one key, separated by a domain tag:

- ``dedup_key``: stored in the signature table's unique column;
- ``signer_pseudonym``: used in log leaves and for rate limiting. Its different tag means a
  leaf cannot be joined with the dedup column even by someone with both the log and a dump.

Both include the initiative id, so one person's signatures on different initiatives are not
linkable (political opinions are special-category data, GDPR Art. 9).

Message: ``HMAC-SHA-256(key, lp(tag) || lp(initiative_id) || lp(personal_code))`` where
``lp(s) = uint32_be(len(utf8(s))) || utf8(s)`` and personal_code is in the normal form
``DDMMYY-NNNNN``. The key must stay the same for the life of the data: changing it would make
every earlier signature look new.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping

from crypto import errors as crypto_errors
from crypto import personal_code
from sigsvc.intake.keyfiles import KeyMaterialError, load_key

KEY_BYTES = 32
ENV_KEY_FILE = "SIGSVC_PSEUDONYM_KEY_FILE"
ENV_KEY = "SIGSVC_PSEUDONYM_KEY"

DEDUP_TAG = "sigsvc/dedup/v1"
SIGNER_TAG = "sigsvc/signer/v1"


class PseudonymError(Exception):
    """Base of every error raised by this module."""


class PseudonymKeyError(PseudonymError):
    """The pseudonym key is missing or malformed."""


class InvalidPersonalCode(PseudonymError):
    """The value is not a Latvian personal code in any accepted spelling."""


def normalise_personal_code(value: str) -> str:
    """``DDMMYY-NNNNN`` from ``PNOLV-DDMMYY-NNNNN``, ``DDMMYYNNNNN`` and the other spellings.

    Old-style (birth date) and new-style (``32...``) codes are both eleven digits; the check
    digit and the date are verified by ``crypto/``, not here. Anything else is refused, so that
    two spellings of one person can never produce two dedup keys.
    """
    try:
        return personal_code.canonical(value)
    except crypto_errors.InvalidPersonalCode as exc:
        raise InvalidPersonalCode(str(exc)) from None


def _length_prefixed(*parts: str) -> bytes:
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


class PseudonymKey:
    """The HMAC key and the two derivations made with it."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise PseudonymKeyError(f"pseudonym key must be {KEY_BYTES} bytes, got {len(key)}")
        self._key = key

    def _mac(self, tag: str, initiative_id: str | uuid.UUID, personal_code: str) -> bytes:
        code = normalise_personal_code(personal_code)
        # str(UUID) is the canonical lowercase hyphenated form, so UUID and str agree.
        message = _length_prefixed(tag, str(initiative_id), code)
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def dedup_key(self, initiative_id: str | uuid.UUID, personal_code: str) -> bytes:
        """32 bytes, equal exactly when initiative and (normalised) personal code are."""
        return self._mac(DEDUP_TAG, initiative_id, personal_code)

    def signer_pseudonym(self, initiative_id: str | uuid.UUID, personal_code: str) -> bytes:
        """32 bytes for log leaves and rate limiting; unlinkable to :meth:`dedup_key`."""
        return self._mac(SIGNER_TAG, initiative_id, personal_code)

    def __repr__(self) -> str:  # never print key bytes
        return "PseudonymKey(<secret>)"


def pseudonym_key_from_environ(environ: Mapping[str, str]) -> PseudonymKey:
    """The key from ``SIGSVC_PSEUDONYM_KEY_FILE`` (raw/base64) or ``SIGSVC_PSEUDONYM_KEY``."""
    try:
        key = load_key(environ, ENV_KEY_FILE, ENV_KEY, KEY_BYTES)
    except KeyMaterialError as exc:
        raise PseudonymKeyError(str(exc)) from exc
    if key is None:
        raise PseudonymKeyError(f"no pseudonym key: set {ENV_KEY_FILE} or {ENV_KEY}")
    return PseudonymKey(key)
