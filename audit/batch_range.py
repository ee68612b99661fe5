"""Version 2 batches: every leaf of the initiative's log range, proving the batch complete.

The range is ``[start, end)``: ``end`` is the batch checkpoint's size, ``start`` follows the
initiative's previous ``batch.exported`` entry (0 for its first batch). ``log/leaves`` holds
every leaf from ``start - 1`` (that previous export, so the verifier sees which batch the range
follows) or 0, to ``end``, one RFC 8785 JSON per line; they hold no personal data. One
multiproof over the whole range proves they are the log's leaves at those indexes, so nothing
can be hidden in it. Then, for the batch's initiative, the signatures accepted in the range
minus those withdrawn in it must be exactly the batch's entries: a pending signature left out
is BATCH_INCOMPLETE, an entry that is not one is ENTRY_NOT_PENDING. Signatures accepted before
``start`` were the previous batches' to carry (each proven the same way; withdrawal after
export is impossible), which makes the chain of batches complete.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from audit import merkle, multiproof
from audit.batch_format import (
    INCLUSION,
    LEAVES,
    BatchArchive,
    BatchEntry,
    BatchError,
    BatchReason,
    leaf_bytes,
)
from audit.checkpoint import Checkpoint
from audit.errors import AuditError

ACCEPTED, WITHDRAWN, EXPORTED = "signature.accepted", "signature.withdrawn", "batch.exported"


@dataclass(frozen=True)
class RangeReport:
    start: int
    end: int
    previous_export: str | None  # the batch id of the initiative's previous batch
    accepted: int  # signatures of the initiative accepted in the range
    withdrawn: int  # of those, withdrawn in the range


def _malformed(message: str) -> BatchError:
    return BatchError(BatchReason.MALFORMED_BATCH, f"{LEAVES}: {message}", name=LEAVES)


def _leaves(raw: bytes, first: int, end: int) -> tuple[list[bytes], list[dict[str, object]]]:
    if not raw.endswith(b"\n") and raw:
        raise _malformed("does not end in a newline")
    lines = raw.split(b"\n")[:-1] if raw else []
    if len(lines) != end - first:
        raise _malformed(f"{len(lines)} leaves for the range [{first}, {end})")
    hashes, parsed = [], []
    for offset, line in enumerate(lines):
        try:
            obj = json.loads(line)
            canonical = isinstance(obj, dict) and leaf_bytes(obj) == line
        except (ValueError, BatchError):
            canonical = False
        if not canonical:
            raise _malformed(f"leaf {first + offset} is not canonical JSON of an event")
        hashes.append(merkle.leaf_hash(line))
        parsed.append(obj)
    return hashes, parsed


def check_range(
    archive: BatchArchive,
    span: dict[str, int],
    initiative: str,
    entries: Sequence[BatchEntry],
    entry_hashes: Sequence[bytes],
    checkpoint: Checkpoint,
) -> RangeReport:
    """Inclusion of the whole range in the checkpoint, the entries among it, completeness."""
    start, end = span["start"], span["end"]
    if end != checkpoint.size:
        raise BatchError(
            BatchReason.NOT_INCLUDED, f"range ends at {end}, the checkpoint at {checkpoint.size}"
        )
    first = start - 1 if start > 0 else 0
    hashes, leaves = _leaves(archive.read(LEAVES), first, end)
    # Every leaf of the range is the log's (one multiproof over the contiguous range).
    try:
        multiproof.verify(range(first, end), hashes, end, _proof(archive), checkpoint.root)
    except AuditError as exc:
        raise BatchError(BatchReason.NOT_INCLUDED, f"range not in the checkpoint: {exc}") from None
    # The range follows the initiative's previous export, and holds no other export of it.
    previous = None
    if start > 0:
        before = leaves[0]
        if before.get("type") != EXPORTED or before.get("initiative") != initiative:
            raise BatchError(
                BatchReason.BATCH_INCOMPLETE,
                f"leaf {start - 1} is not a batch.exported of this initiative: the range does "
                "not start after its previous batch",
            )
        previous = str(before.get("batch"))
    in_range = leaves[start - first :]
    if any(x.get("type") == EXPORTED and x.get("initiative") == initiative for x in in_range):
        raise BatchError(
            BatchReason.BATCH_INCOMPLETE, "the range spans an earlier batch of this initiative"
        )
    # Entries: each is a leaf of the range (same bytes at its index).
    for position, (entry, digest) in enumerate(zip(entries, entry_hashes, strict=True)):
        if not start <= entry.leaf_index < end:
            raise BatchError(
                BatchReason.ENTRY_NOT_PENDING,
                f"{entry.signature} (leaf {entry.leaf_index}) is outside [{start}, {end})",
                entry=position,
                name=entry.signature,
            )
        if hashes[entry.leaf_index - first] != digest:
            raise BatchError(
                BatchReason.LEAF_MISMATCH,
                f"{entry.signature}: its leaf is not the log's leaf {entry.leaf_index}",
                entry=position,
                name=entry.signature,
            )
    # Completeness: accepted minus withdrawn in the range == the entries, exactly.
    accepted: dict[str, int] = {}
    withdrawn: set[str] = set()
    for offset, leaf in enumerate(in_range):
        if leaf.get("initiative") != initiative:
            continue
        if leaf.get("type") == ACCEPTED:
            accepted[str(leaf.get("signature"))] = start + offset
        elif leaf.get("type") == WITHDRAWN:
            withdrawn.add(str(leaf.get("signature")))
    pending = {sid: index for sid, index in accepted.items() if sid not in withdrawn}
    listed = {entry.signature: position for position, entry in enumerate(entries)}
    for sid, position in listed.items():
        if sid not in pending:
            why = "withdrawn" if sid in withdrawn else "not accepted in the range"
            raise BatchError(
                BatchReason.ENTRY_NOT_PENDING, f"{sid} is {why}", entry=position, name=sid
            )
    missing = sorted((index, sid) for sid, index in pending.items() if sid not in listed)
    if missing:
        index, sid = missing[0]
        raise BatchError(
            BatchReason.BATCH_INCOMPLETE,
            f"{len(missing)} accepted, unwithdrawn signature(s) of the range are not in the "
            f"batch, first {sid} (leaf {index})",
            name=sid,
        )
    return RangeReport(start, end, previous, len(accepted), len(withdrawn & set(accepted)))


def _proof(archive: BatchArchive) -> list[bytes]:
    raw = archive.read(INCLUSION)
    if len(raw) % merkle.HASH_SIZE:
        raise BatchError(BatchReason.NOT_INCLUDED, "inclusion proof length is not 32 * n")
    return [raw[i : i + merkle.HASH_SIZE] for i in range(0, len(raw), merkle.HASH_SIZE)]
