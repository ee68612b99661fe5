"""Typed errors of the audit package: one base, narrow subclasses, nothing raw escapes."""

from __future__ import annotations


class AuditError(Exception):
    """Base of every error raised by the audit package."""


class ProofError(AuditError):
    """A Merkle inclusion or consistency proof does not verify."""


class ProofShapeError(ProofError):
    """Sizes, index or proof length/hash lengths are impossible for the claimed tree."""


class RootMismatchError(ProofError):
    """The proof is well formed but leads to a different root."""


class NoteError(AuditError):
    """A signed note is malformed or not verified."""


class MalformedNoteError(NoteError):
    """The note's bytes break the C2SP signed-note grammar."""


class UnverifiedNoteError(NoteError):
    """No signature by a known key verifies, or a known key's signature fails."""


class KeyFormatError(NoteError):
    """A verifier or signer key string is malformed."""


class CheckpointError(AuditError):
    """A checkpoint's text breaks the C2SP tlog-checkpoint grammar or is not trusted."""


class ReceiptError(AuditError):
    """A C2SP tlog-proof receipt is malformed or does not verify."""


class EventError(AuditError):
    """A log event cannot be built or parsed."""


class EventTimeError(EventError):
    """An event's time is before the previous event's or beyond the clock plus the skew."""


class StorageError(AuditError):
    """The storage refused an operation or holds inconsistent data."""


class ExportError(AuditError):
    """An export archive is malformed or fails verification."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        index: int | None = None,
        bad_range: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(message)
        #: What failed: archive, checkpoint, key, entry, tile, root, truncated, fork, time.
        self.kind = kind
        #: The first bad log index, when the evidence pins it down.
        self.index = index
        #: Otherwise the range ``[start, end)`` known to hold the first bad index.
        self.bad_range = bad_range


class AcknowledgementError(AuditError):
    """Acknowledgement text that is not a sigsvc-batch-ack/v1 in its exact form."""
