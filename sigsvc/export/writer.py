"""Write a signed batch (docs/batch-format.md) to disk, streaming, in bounded memory.

Containers go into the ZIP one by one as the input iterator yields them; each entry's manifest
line goes to a temporary file; then ``manifest.json`` is streamed from that file (hashed on the
way), followed by the checkpoint, the inclusion multiproof (streamed from the log's stored
subtree hashes), the ODF manifest and the seal. Memory per entry kept: its leaf index and leaf
hash (40 bytes), so 155,000 entries cost ~6 MB plus one container at a time.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

from audit import merkle, multiproof
from audit.batch_format import (
    CHECKPOINT,
    EXTENSIONS,
    FORMAT,
    INCLUSION,
    LEAVES,
    MANIFEST,
    MIMETYPE,
    ODF_MANIFEST,
    SEAL,
    VERSION,
    VERSION_1,
    leaf_bytes,
)
from audit.checkpoint import Checkpoint
from audit.errors import AuditError
from audit.events import format_time
from audit.merkle import NodeSource
from audit.note import parse
from audit.strict import b64encode
from sigsvc.export.evidence import Tsa, extend_to_lt
from sigsvc.export.seal import Sealer, seal_document

ODF_NS = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"


class BatchWriteError(Exception):
    """The input cannot make a valid batch (nothing is left at the output path)."""


@dataclass(frozen=True)
class InitiativeInfo:
    id: str
    registration: str  # CVK registration number
    title: str
    text_sha256: str  # 64 lowercase hex
    regime: str  # crypto.form.Regime value


@dataclass(frozen=True)
class BatchInfo:
    id: str
    sequence: int  # 1, 2, ... over the whole log (all initiatives)
    created: datetime  # passed in, timezone-aware; also the seal's SigningTime
    initiative: InitiativeInfo


@dataclass(frozen=True)
class EntryRecord:
    """One accepted signature, decrypted, in log order."""

    signature: str
    leaf_index: int
    leaf: bytes  # the exact leaf data the log holds (RFC 8785 signature.accepted event)
    container: bytes  # the signer's original container
    media_type: str  # application/vnd.etsi.asic-e+zip or application/pdf
    given_name: str
    surname: str
    personal_code: str  # DDMMYY-NNNNN
    signing_date: date


@dataclass(frozen=True)
class LogProofs:
    """What the log contributes: the batch checkpoint, the link from the previous batch, nodes."""

    origin: str
    key: str  # signed-note vkey of the checkpoint key
    checkpoint: bytes  # signed note covering every entry
    nodes: NodeSource  # complete-subtree hashes (the log storage)
    previous_checkpoint: bytes | None = None  # the previous batch's checkpoint note
    consistency: Sequence[bytes] = ()  # RFC 9162 proof previous size -> checkpoint size
    # Version 2 (completeness): the initiative's range starts after its previous batch's
    # batch.exported entry (0 for its first batch) and ends at the checkpoint; ``leaves``
    # reads log entries [start, end) (the log storage's ``entries``). None: version 1.
    range_start: int | None = None
    leaves: Callable[[int, int], Sequence[bytes]] | None = None


@dataclass(frozen=True)
class BatchSummary:
    path: Path
    count: int
    manifest_sha256: str  # hex; goes into batch.exported
    checkpoint_size: int


def _file_name(entry: EntryRecord) -> str:
    ext = EXTENSIONS.get(entry.media_type)
    if ext is None:
        raise BatchWriteError(f"unsupported media type {entry.media_type!r}")
    return f"signatures/{entry.signature.replace(':', '_')}.{ext}"


def _entry_json(entry: EntryRecord, initiative: str, name: str, digest: str) -> dict[str, Any]:
    try:
        leaf = json.loads(entry.leaf)
        exact = isinstance(leaf, dict) and leaf_bytes(leaf) == entry.leaf
    except (ValueError, AuditError):
        exact = False
    if not exact:  # the manifest must reproduce the logged bytes (docs/batch-format.md)
        raise BatchWriteError(f"{entry.signature}: leaf is not a canonical log event")
    fields = leaf
    if (
        fields.get("type") != "signature.accepted"
        or fields.get("signature") != entry.signature
        or fields.get("initiative") != initiative
        or fields.get("container_sha256") != digest
    ):
        raise BatchWriteError(f"{entry.signature}: leaf does not describe this container")
    return {
        "signature": entry.signature,
        "leaf_index": entry.leaf_index,
        "file": name,
        "media_type": entry.media_type,
        "container_sha256": digest,
        "given_name": entry.given_name,
        "surname": entry.surname,
        "personal_code": entry.personal_code,
        "signing_date": entry.signing_date.isoformat(),
        "leaf": leaf,
    }


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _info(name: str, when: datetime, stored: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _header(batch: BatchInfo, log: LogProofs, count: int, end: int) -> dict[str, Any]:
    ini = batch.initiative
    previous = None
    if log.previous_checkpoint is not None:
        previous = {
            "checkpoint": log.previous_checkpoint.decode(),
            "consistency": [b64encode(h) for h in log.consistency],
        }
    log_doc: dict[str, Any] = {
        "origin": log.origin,
        "key": log.key,
        "checkpoint": log.checkpoint.decode(),
        "previous": previous,
    }
    if log.range_start is not None:
        log_doc["range"] = {"start": log.range_start, "end": end}
    return {
        "format": FORMAT,
        "version": VERSION_1 if log.range_start is None else VERSION,
        "batch": {
            "id": batch.id,
            "sequence": batch.sequence,
            "created": format_time(batch.created),
        },
        "initiative": {
            "id": ini.id,
            "registration": ini.registration,
            "title": ini.title,
            "text_sha256": ini.text_sha256,
            "regime": ini.regime,
        },
        "log": log_doc,
        "count": count,
        "entries": [],  # must stay the last key: the entries are streamed in its place
    }


def write_batch(
    path: str | Path,
    batch: BatchInfo,
    entries: Iterable[EntryRecord],
    log: LogProofs,
    sealer: Sealer,
    tsa: Tsa | None = None,
) -> BatchSummary:
    """Write the batch file at ``path`` (replaced atomically on success).

    Version 2 (``log.range_start`` set) needs ``tsa``: its seal is XAdES-BASELINE-LT.
    """
    if log.range_start is not None and (tsa is None or log.leaves is None):
        raise BatchWriteError("a version 2 batch needs a TSA and the log's leaves")
    out = Path(path)
    partial = out.with_name(out.name + ".partial")
    try:
        summary = _write(partial, batch, entries, log, sealer, tsa)
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BatchSummary(out, summary[0], summary[1], summary[2])


def _write(
    path: Path,
    batch: BatchInfo,
    entries: Iterable[EntryRecord],
    log: LogProofs,
    sealer: Sealer,
    tsa: Tsa | None,
) -> tuple[int, str, int]:
    try:
        checkpoint = Checkpoint.from_text(parse(log.checkpoint).text)
    except AuditError as exc:
        raise BatchWriteError(f"batch checkpoint: {exc}") from exc
    if checkpoint.origin != log.origin:
        raise BatchWriteError("checkpoint origin differs from the log origin")
    indexes = array("q")
    leaf_hashes = bytearray()
    names: set[str] = set()
    when = batch.created
    with (
        zipfile.ZipFile(path, "w", allowZip64=True) as zf,
        tempfile.TemporaryFile("w+", encoding="utf-8", dir=path.parent) as lines,
    ):
        zf.writestr(_info("mimetype", when, stored=True), MIMETYPE)
        # 1. Containers, one at a time; manifest lines to the temporary file.
        for entry in entries:
            if indexes and entry.leaf_index <= indexes[-1]:
                raise BatchWriteError("entries must come in log order (increasing leaf index)")
            name = _file_name(entry)
            if name in names:
                raise BatchWriteError(f"two entries map to {name}")
            names.add(name)
            digest = hashlib.sha256(entry.container).hexdigest()
            line = _entry_json(entry, batch.initiative.id, name, digest)
            zf.writestr(_info(name, when, stored=True), entry.container)
            lines.write(_dumps(line) + "\n")
            indexes.append(entry.leaf_index)
            leaf_hashes += merkle.leaf_hash(entry.leaf)
        count = len(indexes)
        if count == 0:
            raise BatchWriteError("a batch needs at least one entry")
        # 2. Inclusion multiproof, checked before anything is sealed. Version 2: over every
        #    leaf of the range (written to log/leaves), which the entries' leaves are among.
        members = [MANIFEST, CHECKPOINT, INCLUSION]
        if log.range_start is not None:
            indexes, leaf_hashes = _write_range(
                zf, when, log, checkpoint.size, indexes, leaf_hashes
            )
            members.append(LEAVES)
        try:
            proof = list(multiproof.prove(indexes, checkpoint.size, log.nodes))
            hashes = [bytes(leaf_hashes[i : i + 32]) for i in range(0, len(leaf_hashes), 32)]
            multiproof.verify(indexes, hashes, checkpoint.size, proof, checkpoint.root)
        except AuditError as exc:
            raise BatchWriteError(f"entries are not in the batch checkpoint: {exc}") from exc
        del hashes, leaf_hashes
        # 3. manifest.json, streamed and hashed.
        head = _dumps(_header(batch, log, count, checkpoint.size))
        assert head.endswith('"entries":[]}')
        manifest_hash = hashlib.sha256()
        with zf.open(_info(MANIFEST, when), "w", force_zip64=True) as stream:

            def put(text: str) -> None:
                data = text.encode("utf-8")
                manifest_hash.update(data)
                stream.write(data)

            put(head[: -len("]}")] + "\n")
            lines.seek(0)
            for number, text in enumerate(lines):
                put(("," if number else "") + text)
            put("]}\n")
        # 4. Checkpoint, proof, ODF manifest, seal.
        zf.writestr(_info(CHECKPOINT, when), log.checkpoint)
        with zf.open(_info(INCLUSION, when), "w", force_zip64=True) as stream:
            for h in proof:
                stream.write(h)
        with zf.open(_info(ODF_MANIFEST, when), "w", force_zip64=True) as stream:
            _write_odf_manifest(stream, [*members, *sorted(names)])
        seal = seal_document(
            sealer, data_name=MANIFEST, data_sha256=manifest_hash.digest(), signing_time=when
        )
        if tsa is not None:
            seal = extend_to_lt(seal, tsa)
        zf.writestr(_info(SEAL, when), seal)
    return count, manifest_hash.hexdigest(), checkpoint.size


def _write_range(
    zf: zipfile.ZipFile,
    when: datetime,
    log: LogProofs,
    end: int,
    entry_indexes: array[int],
    entry_hashes: bytearray,
) -> tuple[array[int], bytearray]:
    """Stream leaves [first, end) into log/leaves (one RFC 8785 JSON per line); return the
    range's indexes and leaf hashes. ``first`` is the previous export of the initiative (so a
    verifier sees which batch the range follows), or 0."""
    assert log.range_start is not None and log.leaves is not None
    start = log.range_start
    if not 0 <= start <= end:
        raise BatchWriteError(f"range start {start} is outside the log of size {end}")
    first = start - 1 if start > 0 else 0
    wanted = {index: entry_hashes[i * 32 : (i + 1) * 32] for i, index in enumerate(entry_indexes)}
    indexes, hashes = array("q", range(first, end)), bytearray()
    with zf.open(_info(LEAVES, when), "w", force_zip64=True) as stream:
        for chunk_start in range(first, end, 1000):
            for offset, data in enumerate(log.leaves(chunk_start, min(chunk_start + 1000, end))):
                if b"\n" in data:
                    raise BatchWriteError("a log leaf holds a newline: not canonical JSON")
                stream.write(data + b"\n")
                digest = merkle.leaf_hash(data)
                index = chunk_start + offset
                if index in wanted and wanted.pop(index) != digest:
                    raise BatchWriteError(f"entry at {index} is not the logged leaf")
                hashes += digest
    if len(hashes) != 32 * (end - first):
        raise BatchWriteError("the log returned fewer leaves than its size")
    if wanted:
        raise BatchWriteError(f"entry at {min(wanted)} is outside the range [{start}, {end})")
    return indexes, hashes


def _write_odf_manifest(stream: IO[bytes], names: Sequence[str]) -> None:
    """ODF 1.2 part 3 §4 manifest, as ASiC-E requires (EN 319 162-1 §A.1)."""
    stream.write(
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        + f'<manifest:manifest xmlns:manifest="{ODF_NS}" manifest:version="1.2">\n'.encode()
        + b'<manifest:file-entry manifest:full-path="/" '
        + b'manifest:media-type="application/vnd.etsi.asic-e+zip"/>\n'
    )
    for name in names:
        media = "application/octet-stream"
        if name.endswith(".json"):
            media = "application/json"
        elif name.endswith(".edoc"):
            media = "application/vnd.etsi.asic-e+zip"
        elif name.endswith(".pdf"):
            media = "application/pdf"
        entry = (
            f"<manifest:file-entry manifest:full-path={quoteattr(name)} "
            f'manifest:media-type="{media}"/>\n'
        )
        stream.write(entry.encode())
    stream.write(b"</manifest:manifest>\n")
