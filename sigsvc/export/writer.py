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
from collections.abc import Iterable, Sequence
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
    MANIFEST,
    MIMETYPE,
    ODF_MANIFEST,
    SEAL,
    VERSION,
    leaf_bytes,
)
from audit.checkpoint import Checkpoint
from audit.errors import AuditError
from audit.events import format_time
from audit.merkle import NodeSource
from audit.note import parse
from audit.strict import b64encode
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


def _header(batch: BatchInfo, log: LogProofs, count: int) -> dict[str, Any]:
    ini = batch.initiative
    previous = None
    if log.previous_checkpoint is not None:
        previous = {
            "checkpoint": log.previous_checkpoint.decode(),
            "consistency": [b64encode(h) for h in log.consistency],
        }
    return {
        "format": FORMAT,
        "version": VERSION,
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
        "log": {
            "origin": log.origin,
            "key": log.key,
            "checkpoint": log.checkpoint.decode(),
            "previous": previous,
        },
        "count": count,
        "entries": [],  # must stay the last key: the entries are streamed in its place
    }


def write_batch(
    path: str | Path,
    batch: BatchInfo,
    entries: Iterable[EntryRecord],
    log: LogProofs,
    sealer: Sealer,
) -> BatchSummary:
    """Write the batch file at ``path`` (replaced atomically on success)."""
    out = Path(path)
    partial = out.with_name(out.name + ".partial")
    try:
        summary = _write(partial, batch, entries, log, sealer)
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BatchSummary(out, summary[0], summary[1], summary[2])


def _write(
    path: Path, batch: BatchInfo, entries: Iterable[EntryRecord], log: LogProofs, sealer: Sealer
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
        # 2. Inclusion multiproof, checked before anything is sealed.
        try:
            proof = list(multiproof.prove(indexes, checkpoint.size, log.nodes))
            hashes = [bytes(leaf_hashes[i : i + 32]) for i in range(0, len(leaf_hashes), 32)]
            multiproof.verify(indexes, hashes, checkpoint.size, proof, checkpoint.root)
        except AuditError as exc:
            raise BatchWriteError(f"entries are not in the batch checkpoint: {exc}") from exc
        del hashes, leaf_hashes
        # 3. manifest.json, streamed and hashed.
        head = _dumps(_header(batch, log, count))
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
            _write_odf_manifest(stream, [MANIFEST, CHECKPOINT, INCLUSION, *sorted(names)])
        seal = seal_document(
            sealer, data_name=MANIFEST, data_sha256=manifest_hash.digest(), signing_time=when
        )
        zf.writestr(_info(SEAL, when), seal)
    return count, manifest_hash.hexdigest(), checkpoint.size


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
