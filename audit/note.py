"""C2SP signed-note (c2sp.org/signed-note@v1.0.0) with Ed25519 keys, byte-exact and strict.

Also the signer-key text format of golang.org/x/mod/sumdb/note, which the spec leaves open:
``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte Ed25519 seed)>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.errors import KeyFormatError, MalformedNoteError, UnverifiedNoteError
from audit.strict import b64decode, b64encode

ALG_ED25519 = 0x01  # signed-note §"Signature types": 0x01 = Ed25519
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"  # golang.org/x/mod/sumdb/note signer key encoding
MAX_SIGNATURES = 100  # spec: verifiers MUST accept at least 16; sumdb/note allows 100
ED25519_KEY_SIZE = 32
ED25519_SIG_SIZE = 64


def check_key_name(name: str) -> None:
    """Key names are non-empty with no Unicode spaces and no '+' (signed-note §Format)."""
    if not name or "+" in name or any(ch.isspace() or ord(ch) < 0x20 for ch in name):
        raise KeyFormatError(f"invalid key name {name!r}")


def key_id(name: str, public_key: bytes) -> int:
    """SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _split_key(text: str, parts: int) -> list[str]:
    fields = text.split("+", parts - 1)
    if len(fields) != parts:
        raise KeyFormatError("key must have name, id and key material separated by '+'")
    return fields


def _parse_key_id(text: str) -> int:
    if len(text) != 8 or any(ch not in "0123456789abcdef" for ch in text):
        raise KeyFormatError("key id must be 8 lowercase hex digits")
    return int(text, 16)


def _parse_material(text: str) -> bytes:
    try:
        raw = b64decode(text)
    except ValueError:
        raise KeyFormatError("key material is not canonical base64") from None
    if len(raw) != 1 + ED25519_KEY_SIZE or raw[0] != ALG_ED25519:
        raise KeyFormatError("key material is not 0x01 || 32-byte Ed25519 key")
    return raw[1:]


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key id, raw signature bytes (without the id)."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {b64encode(blob)}\n"


@dataclass(frozen=True)
class Verifier:
    """A trusted Ed25519 note key (vkey)."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse ``<name>+<hex id>+<base64(0x01 || key)>`` and check the id."""
        name, hex_id, material = _split_key(vkey, 3)
        check_key_name(name)
        kid = _parse_key_id(hex_id)
        public = _parse_material(material)
        if key_id(name, public) != kid:
            raise KeyFormatError("key id does not match the key")
        return cls(name, kid, public)

    @property
    def vkey(self) -> str:
        material = b64encode(bytes([ALG_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{material}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != ED25519_SIG_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class NoteSigner(Protocol):
    """What signs a note: an in-memory ``Signer`` or a key held in a PKCS#11 token."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verifier(self) -> Verifier: ...

    def sign(self, text: bytes) -> Signature: ...


@dataclass(frozen=True)
class Signer:
    """An Ed25519 note signing key."""

    name: str
    seed: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.seed) != ED25519_KEY_SIZE:
            raise KeyFormatError("Ed25519 seed must be 32 bytes")

    @classmethod
    def generate(cls, name: str) -> Signer:
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        return cls(name, seed)

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`` and check the id."""
        if not skey.startswith(PRIVATE_KEY_PREFIX):
            raise KeyFormatError("signer key must start with PRIVATE+KEY+")
        name, hex_id, material = _split_key(skey.removeprefix(PRIVATE_KEY_PREFIX), 3)
        check_key_name(name)
        kid = _parse_key_id(hex_id)
        signer = cls(name, _parse_material(material))
        if signer.key_id != kid:
            raise KeyFormatError("key id does not match the key")
        return signer

    @property
    def public_key(self) -> bytes:
        return _raw_public(Ed25519PrivateKey.from_private_bytes(self.seed).public_key())

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_key)

    @property
    def skey(self) -> str:
        material = b64encode(bytes([ALG_ED25519]) + self.seed)
        return f"{PRIVATE_KEY_PREFIX}{self.name}+{self.key_id:08x}+{material}"

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self.public_key)

    def sign(self, text: bytes) -> Signature:
        raw = Ed25519PrivateKey.from_private_bytes(self.seed).sign(text)
        return Signature(self.name, self.key_id, raw)


@dataclass(frozen=True)
class Note:
    """A parsed note: text (with its final newline) and its signature lines, in order."""

    text: bytes
    signatures: tuple[Signature, ...]

    def encode(self) -> bytes:
        return self.text + b"\n" + "".join(s.line() for s in self.signatures).encode()


def _check_text(text: bytes) -> None:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNoteError("note is not valid UTF-8") from None
    if any(ord(ch) < 0x20 and ch != "\n" for ch in decoded):
        raise MalformedNoteError("note contains a control character")


def sign(text: bytes, signers: Iterable[NoteSigner]) -> bytes:
    """Encode ``text`` signed by each signer, in order."""
    _check_text(text)
    if not text.endswith(b"\n"):
        raise MalformedNoteError("note text must end in a newline")
    sigs = tuple(s.sign(text) for s in signers)
    if not sigs:
        raise MalformedNoteError("a note needs at least one signature")
    return Note(text, sigs).encode()


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNoteError("signature line must start with an em dash and a space")
    name, sep, blob64 = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
    if not sep:
        raise MalformedNoteError("signature line lacks a signature")
    try:
        check_key_name(name)
        blob = b64decode(blob64)
    except (KeyFormatError, ValueError):
        raise MalformedNoteError("malformed signature line") from None
    if len(blob) < 5:
        raise MalformedNoteError("signature shorter than key id + 1 byte")
    return Signature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def parse(message: bytes) -> Note:
    """Split a note at its last blank line and parse every signature line (no verification)."""
    _check_text(message)
    if not message.endswith(b"\n"):
        raise MalformedNoteError("note must end in a newline")
    split = message.rfind(b"\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    lines = block.decode().split("\n")[:-1]
    if not lines:
        raise MalformedNoteError("note has no signatures")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError("note has too many signatures")
    return Note(text, tuple(_parse_signature_line(line) for line in lines))


def open_note(message: bytes, verifiers: Sequence[Verifier]) -> tuple[Note, list[Verifier]]:
    """Parse and verify: return the note and the known keys whose signatures verified.

    Signatures from unknown keys (name and id not both known) are ignored; a known key's
    failing signature rejects the note; at least one known key must have signed.
    """
    note = parse(message)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[Verifier] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(note.text, sig.signature):
            raise UnverifiedNoteError(f"invalid signature for key {sig.name}+{sig.key_id:08x}")
        if verifier not in verified:
            verified.append(verifier)
    if not verified:
        raise UnverifiedNoteError("note has no signature by a known key")
    return note, verified


__all__ = [
    "Note",
    "NoteSigner",
    "Signature",
    "Signer",
    "Verifier",
    "key_id",
    "open_note",
    "parse",
    "sign",
]
