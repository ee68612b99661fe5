"""Encryption at rest: an AES-256-GCM envelope for personal data.

Why: a signer's name, personal code and signed container must not be readable from a database
dump, and must become unrecoverable when the retention period ends. Each initiative gets its
own random data key (DEK); records are sealed under it; the DEK is stored only wrapped by a
key-encryption key (KEK) kept outside the database (file, environment, or later a KMS/HSM).
Destroying an initiative's wrapped DEK crypto-shreds every record of that initiative, including
copies in backups.

Byte formats (version 1; both are ``version || nonce || ciphertext || tag``):

- sealed record field: ``0x01 || nonce(12) || AES-256-GCM(DEK, nonce, plaintext, aad)``
  where aad = ``0x01 || record_aad(initiative, signature, field)``;
- wrapped DEK: ``0x01 || nonce(12) || AES-256-GCM(KEK, nonce, DEK, 0x01 || context)``
  where context = ``data_key_context(initiative)``.

The version byte is authenticated (part of the AAD), and the AAD binds each ciphertext to its
row and column, so a ciphertext copied to another record or field does not open. Nonces are
random 96-bit values: at the NIST SP 800-38D §8.3 limit of 2^32 invocations per key, an
initiative (~10^6 fields) is far inside it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sigsvc.intake.keyfiles import KeyMaterialError, load_key

FORMAT_VERSION = 1
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit GCM nonce, NIST SP 800-38D §8.2.2
TAG_BYTES = 16
_HEADER = 1 + NONCE_BYTES

ENV_KEK_FILE = "SIGSVC_KEK_FILE"
ENV_KEK = "SIGSVC_KEK"

_DEK_CONTEXT_TAG = "sigsvc/data-key/v1"
_RECORD_AAD_TAG = "sigsvc/record-field/v1"
_KEY_ID_LABEL = b"sigsvc/kek-id/v1"


class ProtectionError(Exception):
    """Base of every error raised by this module."""


class KeyConfigError(ProtectionError):
    """The key-encryption key is missing or malformed."""


class InvalidKey(ProtectionError):
    """A data key of the wrong length was given."""


class DecryptionError(ProtectionError):
    """A sealed value or wrapped key does not open: tampered, wrong key, or wrong record."""


class UnsupportedVersion(DecryptionError):
    """The blob carries a format version this code does not know."""


class KeyMismatch(DecryptionError):
    """A wrapped data key names a KEK other than the one configured."""


@runtime_checkable
class KeyEncryptionKey(Protocol):
    """Wraps and unwraps data keys. A KMS or PKCS#11 implementation provides the same three.

    ``context`` is authenticated, not secret: unwrap with a different context must fail, and
    every unwrap failure must raise :class:`DecryptionError` (a KMS adapter translates its
    client's errors). ``key_id`` is stored next to each wrapped DEK so that KEK rotation can
    find the old key.
    """

    @property
    def key_id(self) -> str: ...

    def wrap(self, dek: bytes, context: bytes) -> bytes: ...

    def unwrap(self, blob: bytes, context: bytes) -> bytes: ...


def _aead_seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    version = bytes([FORMAT_VERSION])
    nonce = os.urandom(NONCE_BYTES)
    return version + nonce + AESGCM(key).encrypt(nonce, plaintext, version + aad)


def _aead_open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < _HEADER + TAG_BYTES:
        raise DecryptionError("sealed value is truncated")
    if blob[0] != FORMAT_VERSION:
        raise UnsupportedVersion(f"unknown sealed-value version {blob[0]}")
    nonce = blob[1:_HEADER]
    try:
        return AESGCM(key).decrypt(nonce, blob[_HEADER:], blob[:1] + aad)
    except InvalidTag as exc:
        raise DecryptionError("authentication failed: tampered, wrong key or wrong record") from exc


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise InvalidKey(f"key must be {KEY_BYTES} bytes, got {len(key)}")


class LocalKek:
    """A KEK held in process memory, loaded from a file or the environment."""

    def __init__(self, key: bytes) -> None:
        _check_key(key)
        self._key = key
        # An identifier that reveals nothing about the key: HMAC(key, label), 8 bytes.
        mac = hmac.HMAC(key, hashes.SHA256())
        mac.update(_KEY_ID_LABEL)
        self._key_id = "local:" + mac.finalize()[:8].hex()

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, dek: bytes, context: bytes) -> bytes:
        return _aead_seal(self._key, dek, context)

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        return _aead_open(self._key, blob, context)

    def __repr__(self) -> str:  # never print key bytes
        return f"LocalKek({self._key_id})"


def kek_from_environ(environ: Mapping[str, str]) -> LocalKek:
    """The KEK from ``SIGSVC_KEK_FILE`` (raw or base64 32 bytes) or ``SIGSVC_KEK`` (base64)."""
    try:
        key = load_key(environ, ENV_KEK_FILE, ENV_KEK, KEY_BYTES)
    except KeyMaterialError as exc:
        raise KeyConfigError(str(exc)) from exc
    if key is None:
        raise KeyConfigError(f"no key-encryption key: set {ENV_KEK_FILE} or {ENV_KEK}")
    return LocalKek(key)


def _length_prefixed(*parts: str | uuid.UUID) -> bytes:
    out = bytearray()
    for part in parts:
        raw = str(part).encode("utf-8")  # str(UUID): canonical lowercase hyphenated form
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def data_key_context(initiative_id: str | uuid.UUID) -> bytes:
    """Authenticated context of an initiative's wrapped DEK."""
    return _length_prefixed(_DEK_CONTEXT_TAG, initiative_id)


def record_aad(initiative_id: str | uuid.UUID, signature_id: str | uuid.UUID, field: str) -> bytes:
    """AAD binding a sealed value to one field of one signature record of one initiative."""
    return _length_prefixed(_RECORD_AAD_TAG, initiative_id, signature_id, field)


@dataclass(frozen=True)
class WrappedDataKey:
    """What the database stores per initiative: the KEK's id and the wrapped DEK."""

    kek_id: str
    blob: bytes


def generate_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return os.urandom(KEY_BYTES)


def wrap_data_key(
    kek: KeyEncryptionKey, dek: bytes, initiative_id: str | uuid.UUID
) -> WrappedDataKey:
    _check_key(dek)
    return WrappedDataKey(kek.key_id, kek.wrap(dek, data_key_context(initiative_id)))


def unwrap_data_key(
    kek: KeyEncryptionKey, wrapped: WrappedDataKey, initiative_id: str | uuid.UUID
) -> bytes:
    """The DEK of ``initiative_id``; DecryptionError if wrapped for another initiative/KEK."""
    if wrapped.kek_id != kek.key_id:
        raise KeyMismatch(f"data key wrapped by {wrapped.kek_id}, configured KEK is {kek.key_id}")
    dek = kek.unwrap(wrapped.blob, data_key_context(initiative_id))
    if len(dek) != KEY_BYTES:
        raise DecryptionError("unwrapped data key has the wrong length")
    return dek


def rewrap_data_key(
    old: KeyEncryptionKey,
    new: KeyEncryptionKey,
    wrapped: WrappedDataKey,
    initiative_id: str | uuid.UUID,
) -> WrappedDataKey:
    """KEK rotation: re-wrap one DEK under ``new`` without touching any sealed record."""
    return wrap_data_key(new, unwrap_data_key(old, wrapped, initiative_id), initiative_id)


def seal(dek: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` under ``dek``; ``aad`` should come from :func:`record_aad`."""
    _check_key(dek)
    return _aead_seal(dek, plaintext, aad)


def unseal(dek: bytes, blob: bytes, aad: bytes) -> bytes:
    """Inverse of :func:`seal`; DecryptionError on any tampering or a different ``aad``."""
    _check_key(dek)
    return _aead_open(dek, blob, aad)


def sealed_size(plaintext_size: int) -> int:
    """Bytes a sealed value takes for a plaintext of ``plaintext_size`` bytes."""
    return _HEADER + plaintext_size + TAG_BYTES
