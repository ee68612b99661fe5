"""A receiver's acknowledgement of a batch (docs/batch-format.md "Acknowledgement"): the text
of a C2SP signed note, one field per line. The reference receiver writes it, the service's
handover reads it back; both through `Acknowledgement`.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.checkpoint import Checkpoint
from audit.errors import AcknowledgementError
from audit.merkle import HASH_SIZE
from audit.strict import b64decode, b64encode, decimal

HEADER = "sigsvc-batch-ack/v1"
ACCEPTED = "ACCEPTED"
REFUSED = "REFUSED"
UNKNOWN = "-"  # a field the receiver could not establish (numbers: 0)


@dataclass(frozen=True)
class Acknowledgement:
    receiver: str
    batch: str
    sequence: int
    manifest_sha256: str
    status: str  # ACCEPTED | REFUSED
    reason: str  # OK, or the refusal's reason code
    origin: str
    size: int
    root: bytes | None  # the batch checkpoint's root; None when unknown
    received_at: str  # RFC 3339 UTC with milliseconds

    @classmethod
    def refusal(cls, receiver: str, reason: str, received_at: str) -> Acknowledgement:
        """A refusal of a batch whose fields could not be read."""
        return cls(receiver, UNKNOWN, 0, UNKNOWN, REFUSED, reason, UNKNOWN, 0, None, received_at)

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    def checkpoint_matches(self, checkpoint: Checkpoint) -> bool:
        return (self.origin, self.size, self.root) == (
            checkpoint.origin,
            checkpoint.size,
            checkpoint.root,
        )

    def text(self) -> bytes:
        """The note text: the header and one field per line, each ending in a newline."""
        fields = (
            HEADER,
            self.receiver,
            self.batch,
            str(self.sequence),
            self.manifest_sha256,
            self.status,
            self.reason,
            self.origin,
            str(self.size),
            UNKNOWN if self.root is None else b64encode(self.root),
            self.received_at,
        )
        return "".join(f"{line}\n" for line in fields).encode("utf-8")

    @classmethod
    def from_text(cls, text: bytes) -> Acknowledgement:
        """Strict parse of acknowledgement note text."""
        try:
            lines = text.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            raise AcknowledgementError("acknowledgement text is not UTF-8") from None
        if len(lines) != 12 or lines[-1] != "" or lines[0] != HEADER:
            raise AcknowledgementError(f"not a {HEADER}")
        receiver, batch, sequence, manifest, status, reason, origin, size, root, at = lines[1:-1]
        if status not in (ACCEPTED, REFUSED):
            raise AcknowledgementError(f"status {status!r} is neither {ACCEPTED} nor {REFUSED}")
        try:
            root_hash = None if root == UNKNOWN else b64decode(root)
            parsed = cls(
                receiver,
                batch,
                decimal(sequence),
                manifest,
                status,
                reason,
                origin,
                decimal(size),
                root_hash,
                at,
            )
        except ValueError as exc:
            raise AcknowledgementError(f"malformed acknowledgement: {exc}") from None
        if root_hash is not None and len(root_hash) != HASH_SIZE:
            raise AcknowledgementError("checkpoint root is not a SHA-256 hash")
        return parsed
