"""C2SP tlog-checkpoint (origin, size, base64 root, optional extension lines) as a signed note."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from audit.errors import CheckpointError, NoteError
from audit.merkle import HASH_SIZE
from audit.note import Note, NoteSigner, Verifier, open_note, sign
from audit.strict import b64decode, b64encode, decimal


@dataclass(frozen=True)
class Checkpoint:
    """The tree head a checkpoint commits to."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> bytes:
        """The note text: one field per line, each line ending in a newline."""
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return "".join(f"{line}\n" for line in lines).encode()

    @classmethod
    def from_text(cls, text: bytes) -> Checkpoint:
        """Strict parse of checkpoint note text."""
        try:
            lines = text.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            raise CheckpointError("checkpoint text is not UTF-8") from None
        # Text ends in a newline, so the split leaves one empty last element.
        if len(lines) < 4 or lines[-1] != "":
            raise CheckpointError("checkpoint needs origin, size and root lines")
        origin, size_text, root_text, *extensions = lines[:-1]
        if not origin or any(not line for line in extensions):
            raise CheckpointError("checkpoint lines must be non-empty")
        try:
            size = decimal(size_text)
            root = b64decode(root_text)
        except ValueError as exc:
            raise CheckpointError(f"malformed checkpoint: {exc}") from None
        if len(root) != HASH_SIZE:
            raise CheckpointError("checkpoint root is not a SHA-256 hash")
        return cls(origin, size, root, tuple(extensions))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint whose note verified, with the note bytes and the keys that signed it."""

    checkpoint: Checkpoint
    note: bytes
    signed_by: tuple[Verifier, ...]


def sign_checkpoint(checkpoint: Checkpoint, signers: Iterable[NoteSigner]) -> bytes:
    """Signed-note bytes of the checkpoint; during a key rotation pass old and new signer."""
    return sign(checkpoint.text(), signers)


def open_checkpoint(
    note: bytes, verifiers: Sequence[Verifier], origin: str | None = None
) -> SignedCheckpoint:
    """Verify a checkpoint note against trusted keys and (optionally) the expected origin."""
    try:
        parsed, signed_by = open_note(note, verifiers)
    except NoteError as exc:
        raise CheckpointError(f"checkpoint note: {exc}") from exc
    return _checked(parsed, note, signed_by, origin)


def _checked(
    parsed: Note, note: bytes, signed_by: list[Verifier], origin: str | None
) -> SignedCheckpoint:
    checkpoint = Checkpoint.from_text(parsed.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return SignedCheckpoint(checkpoint, note, tuple(signed_by))
