"""Receipts in C2SP tlog-proof form (c2sp.org/tlog-proof@v1).

We put the leaf data (the RFC 8785 event) in the ``extra`` line so a receipt is self-contained:
the verifier recomputes the leaf hash from it, and the inclusion proof then authenticates it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from audit import merkle
from audit.checkpoint import SignedCheckpoint, open_checkpoint
from audit.errors import CheckpointError, ProofError, ReceiptError
from audit.note import Verifier
from audit.strict import b64decode, b64encode, decimal

HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class Receipt:
    """Index, inclusion proof and checkpoint note of one log entry (plus optional extra data)."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: bytes
    extra: bytes | None = None

    def encode(self) -> bytes:
        lines = [HEADER]
        if self.extra is not None:
            lines.append(f"extra {b64encode(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(b64encode(h) for h in self.proof)
        return ("\n".join(lines) + "\n\n").encode() + self.checkpoint_note

    @classmethod
    def parse(cls, data: bytes) -> Receipt:
        """Strict parse; the checkpoint note follows the first blank line verbatim."""
        head, sep, note = data.partition(b"\n\n")
        if not sep:
            raise ReceiptError("receipt lacks the blank line before the checkpoint")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise ReceiptError("receipt proof section is not ASCII") from None
        if lines[0] != HEADER:
            raise ReceiptError(f"receipt must start with {HEADER}")
        rest = lines[1:]
        try:
            extra = None
            if rest and rest[0].startswith("extra "):
                extra = b64decode(rest.pop(0).removeprefix("extra "))
            if not rest or not rest[0].startswith("index "):
                raise ReceiptError("receipt lacks the index line")
            index = decimal(rest.pop(0).removeprefix("index "))
            proof = tuple(b64decode(line) for line in rest)
        except ValueError as exc:
            raise ReceiptError(f"malformed receipt: {exc}") from None
        if any(len(h) != merkle.HASH_SIZE for h in proof):
            raise ReceiptError("proof line is not a SHA-256 hash")
        return cls(index, proof, note, extra)


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt whose checkpoint and inclusion proof verified."""

    receipt: Receipt
    checkpoint: SignedCheckpoint
    leaf_data: bytes


def verify_receipt(
    data: bytes,
    verifiers: Sequence[Verifier],
    origin: str | None = None,
    leaf_data: bytes | None = None,
) -> VerifiedReceipt:
    """tlog-proof §"Verifying": 1. leaf hash, 2. checkpoint signature and origin, 4. inclusion.

    ``leaf_data`` defaults to the receipt's extra data; when both are given they must agree.
    """
    receipt = Receipt.parse(data)
    # 1. Compute the leaf hash.
    if leaf_data is None:
        leaf_data = receipt.extra
    elif receipt.extra is not None and receipt.extra != leaf_data:
        raise ReceiptError("receipt extra data differs from the given leaf")
    if leaf_data is None:
        raise ReceiptError("no leaf data: receipt has no extra line and none was given")
    leaf = merkle.leaf_hash(leaf_data)
    # 2. Checkpoint signed by a trusted log key for the expected origin.
    try:
        signed = open_checkpoint(receipt.checkpoint_note, verifiers, origin)
    except CheckpointError as exc:
        raise ReceiptError(str(exc)) from exc
    # 3. Witness cosignatures: not used by this log.
    # 4. Inclusion of the leaf in the checkpointed tree.
    cp = signed.checkpoint
    try:
        merkle.verify_inclusion(leaf, receipt.index, cp.size, receipt.proof, cp.root)
    except ProofError as exc:
        raise ReceiptError(f"inclusion proof: {exc}") from exc
    return VerifiedReceipt(receipt, signed, leaf_data)
