"""Offline verification of a signed batch (docs/batch-format.md), pure over an archive reader.

The operator's seal and the optional re-verification of each signer's container are injected
as callables, so this module needs neither XML signatures nor ``crypto``; ``sigaudit
verify-batch`` and the reference receiver wire them up. Steps and reason codes follow the
table in docs/batch-format.md; the first failure raises :class:`BatchError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from audit import merkle, multiproof
from audit.batch_format import (
    CHECKPOINT,
    FIXED_MEMBERS,
    FIXED_MEMBERS_V2,
    INCLUSION,
    LEAVES,
    MANIFEST,
    PROGRESS_EVERY,
    SEAL,
    BatchArchive,
    BatchEntry,
    BatchError,
    BatchReason,
    ContainerRejected,
    LeafFacts,
    SealRejected,
    ZipBatchArchive,
    parse_manifest,
)
from audit.batch_range import RangeReport, check_range
from audit.checkpoint import Checkpoint, SignedCheckpoint, open_checkpoint
from audit.errors import AuditError
from audit.events import EVENT_VERSION
from audit.note import Verifier
from audit.strict import b64decode


@dataclass(frozen=True)
class BatchReport:
    batch_id: str
    sequence: int
    initiative: dict[str, str]
    count: int
    checkpoint: Checkpoint
    checkpoint_note: bytes  # the signed note, for a witness to keep
    previous: Checkpoint | None
    manifest_sha256: str
    seal: object  # what the seal check returned; None when the seal was not checked
    containers_verified: bool
    version: int = 1
    range: RangeReport | None = None  # version 2: the completeness facts


SealCheck = Callable[[bytes, bytes, int], object]  # (seal XML, manifest, version) -> info
ContainerCheck = Callable[[dict[str, str], BatchEntry, bytes], None]  # initiative, entry, file
Progress = Callable[[int, int], None]

__all__ = [
    "BatchEntry",
    "BatchError",
    "BatchReason",
    "BatchReport",
    "ContainerRejected",
    "SealRejected",
    "ZipBatchArchive",
    "verify_batch",
]


# --- verification ----------------------------------------------------------------------------


def _open_cp(note: bytes, keys: Sequence[Verifier], origin: str, what: str) -> SignedCheckpoint:
    try:
        return open_checkpoint(note, keys, origin)
    except AuditError as exc:
        raise BatchError(BatchReason.CHECKPOINT_INVALID, f"{what}: {exc}") from None


def _same(a: Checkpoint, b: Checkpoint) -> bool:
    return (a.origin, a.size, a.root) == (b.origin, b.size, b.root)


Trusted = bytes | Callable[[str], bytes | None] | None  # a note, or the witness's per origin


def _check_log(
    archive: BatchArchive, log: dict[str, Any], keys: Sequence[Verifier], trusted: Trusted
) -> tuple[Checkpoint, Checkpoint | None]:
    # Step 3: the checkpoint file is the sealed one, signed by a trusted key, of this origin.
    note = log["checkpoint"].encode()
    if archive.read(CHECKPOINT) != note:
        raise BatchError(BatchReason.CHECKPOINT_INVALID, "log/checkpoint is not the sealed one")
    origin = log["origin"]
    current = _open_cp(note, keys, origin, "batch checkpoint").checkpoint
    # Step 4: consistency with the previous batch's checkpoint, and with the witness's.
    previous = None
    if log["previous"] is not None:
        prev_note = log["previous"]["checkpoint"].encode()
        previous = _open_cp(prev_note, keys, origin, "previous checkpoint").checkpoint
        try:
            proof = [b64decode(h) for h in log["previous"]["consistency"]]
            merkle.verify_consistency(
                previous.size, current.size, proof, previous.root, current.root
            )
        except (ValueError, TypeError, AuditError) as exc:
            raise BatchError(
                BatchReason.INCONSISTENT_LOG, f"previous -> batch checkpoint: {exc}"
            ) from None
    if callable(trusted):
        trusted = trusted(origin)
    if trusted is not None:
        witness = _open_cp(trusted, keys, origin, "trusted checkpoint").checkpoint
        linked = _same(witness, current) or (previous is not None and _same(witness, previous))
        if not linked and not (witness.size == 0 and previous is None):
            raise BatchError(
                BatchReason.INCONSISTENT_LOG,
                f"the trusted checkpoint (size {witness.size}) is neither this batch's previous "
                f"checkpoint nor its own: the log is not shown to extend it",
            )
    return current, previous


def _bind_leaf(entry: BatchEntry, leaf: LeafFacts, initiative: str, position: int) -> bytes:
    """Step 9: the leaf is the signature.accepted event of this entry's container.

    The fields that bind are compared here; that the bytes are the logged event (canonical,
    valid) is proven by the inclusion check of their hash (step 11).
    """
    if (
        leaf.type != "signature.accepted"
        or leaf.v != EVENT_VERSION
        or leaf.signature != entry.signature
        or leaf.initiative != initiative
        or leaf.container_sha256 != entry.container_sha256
    ):
        raise BatchError(
            BatchReason.LEAF_MISMATCH,
            f"leaf does not record the acceptance of {entry.signature}",
            entry=position,
            name=entry.signature,
        )
    return leaf.hash


def verify_batch(
    archive: BatchArchive,
    keys: Sequence[Verifier],
    *,
    seal_check: SealCheck | None,
    trusted: Trusted = None,
    container_check: ContainerCheck | None = None,
    progress: Progress | None = None,
) -> BatchReport:
    """Verify every claim of the batch; raise BatchError with the first failure's reason.

    ``seal_check=None`` skips the seal (the caller must say so loudly); ``trusted`` is a
    checkpoint note the caller already holds, or a function giving the witness's last checkpoint
    for the batch's log origin (None: nothing seen yet).
    """
    # Step 1: structure and manifest.
    names = archive.names()
    for name in FIXED_MEMBERS:
        if name not in names:
            raise BatchError(BatchReason.MALFORMED_BATCH, f"missing member {name}", name=name)
    unknown = [n for n in names if n not in FIXED_MEMBERS_V2 and not n.startswith("signatures/")]
    if unknown:
        raise BatchError(BatchReason.MALFORMED_BATCH, f"unexpected member {unknown[0]}")
    manifest_bytes = archive.read(MANIFEST)
    manifest = parse_manifest(manifest_bytes)
    manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    doc = manifest.doc
    version = doc["version"]
    if (LEAVES in names) != (version >= 2):
        raise BatchError(BatchReason.MALFORMED_BATCH, f"{LEAVES} belongs to version 2 only")
    # Step 2: the operator's seal over manifest.json (version 2: with LT/LTA evidence).
    seal_info: object = None
    if seal_check is not None:
        try:
            seal_info = seal_check(archive.read(SEAL), manifest_bytes, version)
        except SealRejected as exc:
            reason = BatchReason.SEAL_EVIDENCE_EXPIRED if exc.expired else BatchReason.SEAL_INVALID
            raise BatchError(reason, str(exc)) from None
    del manifest_bytes
    # Steps 3-4: checkpoints.
    current, previous = _check_log(archive, doc["log"], keys, trusted)
    # Step 5: count.
    entries = manifest.entries
    if doc["count"] != len(entries):
        raise BatchError(
            BatchReason.COUNT_MISMATCH, f"count {doc['count']} but {len(entries)} entries"
        )
    # Step 6: log order.
    for position in range(1, len(entries)):
        if entries[position][0].leaf_index <= entries[position - 1][0].leaf_index:
            raise BatchError(
                BatchReason.ORDER_MISMATCH,
                "leaf indexes do not strictly increase",
                entry=position,
                name=entries[position][0].signature,
            )
    # Steps 7-9: each container present, unchanged, and bound to its leaf.
    present = set(names)
    initiative = doc["initiative"]["id"]
    leaf_hashes: list[bytes] = []
    for position, (entry, leaf) in enumerate(entries):
        if entry.file not in present:
            raise BatchError(
                BatchReason.ENTRY_MISSING,
                f"{entry.file} is missing",
                entry=position,
                name=entry.file,
            )
        if archive.sha256(entry.file).hex() != entry.container_sha256:
            raise BatchError(
                BatchReason.DIGEST_MISMATCH,
                f"{entry.file} does not have the listed SHA-256",
                entry=position,
                name=entry.file,
            )
        leaf_hashes.append(_bind_leaf(entry, leaf, initiative, position))
        if progress is not None and (position + 1) % PROGRESS_EVERY == 0:
            progress(position + 1, len(entries))
    # Step 10: nothing added.
    listed = {entry.file for entry, _ in entries}
    added = [n for n in names if n.startswith("signatures/") and n not in listed]
    if added:
        raise BatchError(
            BatchReason.ENTRY_ADDED, f"{added[0]} is not in the manifest", name=added[0]
        )
    # Step 11 (version 2): the whole range is in the checkpoint, the batch is all of it.
    span: RangeReport | None = None
    if version >= 2:
        span = check_range(
            archive,
            doc["log"]["range"],
            initiative,
            [entry for entry, _ in entries],
            leaf_hashes,
            current,
        )
    # Step 11 (version 1): every leaf in the batch checkpoint.
    raw = archive.read(INCLUSION) if span is None else b""
    if len(raw) % merkle.HASH_SIZE:
        raise BatchError(BatchReason.NOT_INCLUDED, "inclusion proof length is not 32 * n")
    proof = [raw[i : i + merkle.HASH_SIZE] for i in range(0, len(raw), merkle.HASH_SIZE)]
    indexes = [entry.leaf_index for entry, _ in entries]
    try:
        if span is None:
            multiproof.verify(indexes, leaf_hashes, current.size, proof, current.root)
    except AuditError as exc:
        raise BatchError(
            BatchReason.NOT_INCLUDED, f"entries not in the checkpoint: {exc}"
        ) from None
    # Step 12: optional re-verification of each signer's container.
    if container_check is not None:
        for position, (entry, _) in enumerate(entries):
            try:
                container_check(doc["initiative"], entry, archive.read(entry.file))
            except ContainerRejected as exc:
                raise BatchError(
                    BatchReason.CONTAINER_INVALID, str(exc), entry=position, name=entry.signature
                ) from None
    return BatchReport(
        batch_id=doc["batch"]["id"],
        sequence=doc["batch"]["sequence"],
        initiative=dict(doc["initiative"]),
        count=len(entries),
        checkpoint=current,
        checkpoint_note=doc["log"]["checkpoint"].encode(),
        previous=previous,
        manifest_sha256=manifest_sha256,
        seal=seal_info,
        containers_verified=container_check is not None,
        version=version,
        range=span,
    )
