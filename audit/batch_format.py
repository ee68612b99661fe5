"""Signed batch v1 reading: reason codes, the archive reader and the strict manifest parser.

docs/batch-format.md is the specification; ``audit.batch`` verifies on top of this.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

from audit import merkle
from audit.errors import AuditError
from audit.events import KINDS

FORMAT = "sigsvc-batch"
VERSION_1, VERSION = 1, 2  # what is written: 2; what is read: both (docs/batch-format.md)
MIMETYPE = b"application/vnd.etsi.asic-e+zip"  # ETSI EN 319 162-1 §A.1
MANIFEST, CHECKPOINT, INCLUSION = "manifest.json", "log/checkpoint", "log/inclusion-proof"
LEAVES = "log/leaves"  # version 2: every leaf of the initiative's range, one JSON per line
ODF_MANIFEST, SEAL = "META-INF/manifest.xml", "META-INF/signatures0.xml"
FIXED_MEMBERS = frozenset({"mimetype", MANIFEST, CHECKPOINT, INCLUSION, ODF_MANIFEST, SEAL})
FIXED_MEMBERS_V2 = FIXED_MEMBERS | {LEAVES}
EXTENSIONS = {"application/vnd.etsi.asic-e+zip": "edoc", "application/pdf": "pdf"}
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # one container, the checkpoint, the seal
MAX_MANIFEST_BYTES = 1024 * 1024 * 1024
PROGRESS_EVERY = 10_000
_CHUNK = 1 << 20


class BatchReason(enum.StrEnum):
    MALFORMED_BATCH = "MALFORMED_BATCH"
    SEAL_INVALID = "SEAL_INVALID"
    CHECKPOINT_INVALID = "CHECKPOINT_INVALID"
    INCONSISTENT_LOG = "INCONSISTENT_LOG"
    COUNT_MISMATCH = "COUNT_MISMATCH"
    ORDER_MISMATCH = "ORDER_MISMATCH"
    ENTRY_MISSING = "ENTRY_MISSING"
    DIGEST_MISMATCH = "DIGEST_MISMATCH"
    LEAF_MISMATCH = "LEAF_MISMATCH"
    ENTRY_ADDED = "ENTRY_ADDED"
    NOT_INCLUDED = "NOT_INCLUDED"
    CONTAINER_INVALID = "CONTAINER_INVALID"
    # version 2
    SEAL_EVIDENCE_EXPIRED = "SEAL_EVIDENCE_EXPIRED"  # newest time stamp untrusted at that time
    BATCH_INCOMPLETE = "BATCH_INCOMPLETE"  # a pending signature of the range is not in it
    ENTRY_NOT_PENDING = "ENTRY_NOT_PENDING"  # an entry is not a pending signature of the range


class BatchError(AuditError):
    """The batch fails verification: one reason code, and the entry when one is to blame."""

    def __init__(
        self, reason: BatchReason, message: str, *, entry: int | None = None, name: str = ""
    ) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.entry = entry  # 0-based position in manifest.entries
        self.name = name  # the archive member or signature id concerned


class SealRejected(AuditError):
    """Raised by an injected seal check when the seal does not verify; ``expired`` when only
    its long-term evidence ran out at the validation time (SEAL_EVIDENCE_EXPIRED)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class ContainerRejected(AuditError):
    """Raised by an injected container check when a signer's container does not verify."""


class BatchArchive(Protocol):
    """Read access to the batch's members."""

    def names(self) -> Sequence[str]: ...

    def read(self, name: str) -> bytes: ...

    def sha256(self, name: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class LeafFacts:
    """What the verifier needs of an entry's leaf; the parsed object itself is not kept."""

    type: object
    v: object
    signature: object
    initiative: object
    container_sha256: object
    hash: bytes  # SHA-256(0x00 || RFC 8785 bytes)


@dataclass(frozen=True, slots=True)
class BatchEntry:
    signature: str
    leaf_index: int
    file: str
    media_type: str
    container_sha256: str
    given_name: str
    surname: str
    personal_code: str
    signing_date: str
    accepted_at: str  # the leaf's "at": when the service accepted it (re-verification time)


class ZipBatchArchive:
    """A batch ZIP read from a seekable binary stream (the caller opens the file)."""

    def __init__(self, stream: IO[bytes]) -> None:
        try:
            self._zip = zipfile.ZipFile(stream)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise BatchError(BatchReason.MALFORMED_BATCH, f"not a ZIP file: {exc}") from None
        # ASiC-E: "mimetype" first, stored, exact value (EN 319 162-1 §A.1).
        if not infos or infos[0].filename != "mimetype" or infos[0].header_offset != 0:
            raise BatchError(BatchReason.MALFORMED_BATCH, "mimetype is not the first member")
        if infos[0].compress_type != zipfile.ZIP_STORED:
            raise BatchError(BatchReason.MALFORMED_BATCH, "mimetype is compressed")
        self._infos = {i.filename: i for i in infos}
        if len(self._infos) != len(infos):
            raise BatchError(BatchReason.MALFORMED_BATCH, "duplicate member names")
        self._names = [i.filename for i in infos]
        if self.read("mimetype") != MIMETYPE:
            raise BatchError(BatchReason.MALFORMED_BATCH, "mimetype is not ASiC-E")

    def names(self) -> Sequence[str]:
        return self._names

    def _open(self, name: str, limit: int) -> IO[bytes]:
        info = self._infos.get(name)
        if info is None:
            raise BatchError(BatchReason.MALFORMED_BATCH, f"missing member {name}", name=name)
        if info.file_size > limit:
            raise BatchError(BatchReason.MALFORMED_BATCH, f"{name} is too large", name=name)
        try:
            return self._zip.open(info)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
            raise BatchError(BatchReason.MALFORMED_BATCH, f"{name}: {exc}", name=name) from None

    def read(self, name: str) -> bytes:
        limit = MAX_MANIFEST_BYTES if name in (MANIFEST, LEAVES) else MAX_MEMBER_BYTES
        with self._open(name, limit) as member:
            try:
                return member.read()
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise BatchError(BatchReason.MALFORMED_BATCH, f"{name}: {exc}") from None

    def sha256(self, name: str) -> bytes:
        digest = hashlib.sha256()
        with self._open(name, MAX_MEMBER_BYTES) as member:
            try:
                while chunk := member.read(_CHUNK):
                    digest.update(chunk)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise BatchError(BatchReason.MALFORMED_BATCH, f"{name}: {exc}") from None
        return digest.digest()


# --- manifest parsing (strict; the JSON Schema in schemas/ says the same) -------------------


def _malformed(message: str) -> BatchError:
    return BatchError(BatchReason.MALFORMED_BATCH, f"manifest: {message}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _malformed("duplicate key")
    return result


def _reject_constant(name: str) -> None:
    raise _malformed(f"non-JSON number {name}")


def _object(value: object, keys: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise _malformed(f"{where} must be an object with exactly {sorted(keys)}")
    return value


def _string(value: object, where: str, pattern: str | None = None) -> str:
    if not isinstance(value, str) or not value or (pattern and not re.fullmatch(pattern, value)):
        raise _malformed(f"{where} is not a valid string")
    return value


def _integer(value: object, where: str, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise _malformed(f"{where} is not an integer >= {minimum}")
    return value


_ID = KINDS["id"]["pattern"]
# crypto.personal_code.CANONICAL_PATTERN (audit may not import crypto; a test keeps them equal)
PERSONAL_CODE_PATTERN = "[0-9]{6}-[0-9]{5}"
_SHA256 = KINDS["sha256"]["pattern"]
_DATETIME = KINDS["datetime"]["pattern"]
_ENTRY_KEYS = frozenset(
    {
        "signature",
        "leaf_index",
        "file",
        "media_type",
        "container_sha256",
        "given_name",
        "surname",
        "personal_code",
        "signing_date",
        "leaf",
    }
)


def _entry(raw: object, position: int) -> tuple[BatchEntry, LeafFacts]:
    where = f"entries[{position}]"
    obj = _object(raw, _ENTRY_KEYS, where)
    media_type = _string(obj["media_type"], f"{where}.media_type")
    if media_type not in EXTENSIONS:
        raise _malformed(f"{where}.media_type is not supported")
    signature = _string(obj["signature"], f"{where}.signature", _ID)
    leaf = obj["leaf"]
    if not isinstance(leaf, dict) or not isinstance(leaf.get("at"), str):
        raise _malformed(f"{where}.leaf is not an event object")
    entry = BatchEntry(
        signature=signature,
        leaf_index=_integer(obj["leaf_index"], f"{where}.leaf_index"),
        file=_string(obj["file"], f"{where}.file"),
        media_type=media_type,
        container_sha256=_string(obj["container_sha256"], f"{where}.container_sha256", _SHA256),
        given_name=_string(obj["given_name"], f"{where}.given_name"),
        surname=_string(obj["surname"], f"{where}.surname"),
        personal_code=_string(
            obj["personal_code"], f"{where}.personal_code", PERSONAL_CODE_PATTERN
        ),
        signing_date=_string(
            obj["signing_date"], f"{where}.signing_date", r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
        ),
        accepted_at=leaf["at"],
    )
    expected = f"signatures/{signature.replace(':', '_')}.{EXTENSIONS[media_type]}"
    if entry.file != expected:
        raise _malformed(f"{where}.file must be {expected}")
    facts = LeafFacts(
        type=leaf.get("type"),
        v=leaf.get("v"),
        signature=leaf.get("signature"),
        initiative=leaf.get("initiative"),
        container_sha256=leaf.get("container_sha256"),
        hash=merkle.leaf_hash(leaf_bytes(leaf)),
    )
    return entry, facts


@dataclass(frozen=True)
class _Manifest:
    doc: dict[str, Any]
    entries: list[tuple[BatchEntry, LeafFacts]]


class _Parsed(tuple[BatchEntry, LeafFacts]):
    """An entry object already turned into its compact form while the JSON is parsed."""


def parse_manifest(data: bytes) -> _Manifest:
    position = 0

    def hook(pairs: list[tuple[str, Any]]) -> Any:
        # Entries become compact as soon as their object closes, so the parsed manifest never
        # holds 155,000 dictionaries at once. Only entry objects have exactly these keys.
        nonlocal position
        obj = _no_duplicates(pairs)
        if obj.keys() == _ENTRY_KEYS:
            parsed = _Parsed(_entry(obj, position))
            position += 1
            return parsed
        return obj

    try:
        doc = json.loads(
            data.decode("utf-8"), object_pairs_hook=hook, parse_constant=_reject_constant
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _malformed(f"not UTF-8 JSON: {exc}") from None
    top = frozenset({"format", "version", "batch", "initiative", "log", "count", "entries"})
    _object(doc, top, "manifest")
    version = doc["version"]
    if doc["format"] != FORMAT or type(version) is not int or version not in (VERSION_1, VERSION):
        raise _malformed(f"format is not {FORMAT} version {VERSION_1} or {VERSION}")
    batch = _object(doc["batch"], frozenset({"id", "sequence", "created"}), "batch")
    _string(batch["id"], "batch.id", _ID)
    _integer(batch["sequence"], "batch.sequence", 1)
    _string(batch["created"], "batch.created", _DATETIME)
    ini_keys = frozenset({"id", "registration", "title", "text_sha256", "regime"})
    ini = _object(doc["initiative"], ini_keys, "initiative")
    _string(ini["id"], "initiative.id", _ID)
    _string(ini["registration"], "initiative.registration")
    _string(ini["title"], "initiative.title")
    _string(ini["text_sha256"], "initiative.text_sha256", _SHA256)
    _string(ini["regime"], "initiative.regime", KINDS["regime"]["pattern"])
    log_keys = frozenset({"origin", "key", "checkpoint", "previous"})
    log = _object(doc["log"], log_keys | ({"range"} if version == VERSION else set()), "log")
    if version == VERSION:
        span = _object(log["range"], frozenset({"start", "end"}), "log.range")
        if _integer(span["start"], "log.range.start") > _integer(span["end"], "log.range.end"):
            raise _malformed("log.range.start is after log.range.end")
    for key in ("origin", "key", "checkpoint"):
        _string(log[key], f"log.{key}")
    if log["previous"] is not None:
        prev = _object(log["previous"], frozenset({"checkpoint", "consistency"}), "log.previous")
        _string(prev["checkpoint"], "log.previous.checkpoint")
        if not isinstance(prev["consistency"], list):
            raise _malformed("log.previous.consistency is not a list")
    _integer(doc["count"], "count")
    if not isinstance(doc["entries"], list) or not doc["entries"]:
        raise _malformed("entries must be a non-empty list")
    entries: list[tuple[BatchEntry, LeafFacts]] = []
    for i, raw in enumerate(doc["entries"]):
        if not isinstance(raw, _Parsed):
            _object(raw, _ENTRY_KEYS, f"entries[{i}]")  # raises: not an entry object
            raise _malformed(f"entries[{i}] is misplaced")
        entries.append((raw[0], raw[1]))
    if position != len(entries):
        raise _malformed("an entry object appears outside entries")
    files = {e.file for e, _ in entries}
    if len(files) != len(entries):
        raise _malformed("two entries name the same file")
    doc["entries"] = []
    return _Manifest(doc, entries)


def leaf_bytes(leaf: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of a log event object, fast.

    For objects whose keys are ASCII and whose values are strings and safe integers (every
    event in audit/events.py) Python's sorted, compact, non-ASCII-escaping JSON is the RFC 8785
    serialisation: the same escapes (u-escapes for control characters except b, f, n, r, t),
    and key order by UTF-16 code unit equals code point order for ASCII keys. Anything else may
    differ, which can only make the leaf hash miss the tree (NOT_INCLUDED), never match a leaf
    that was not logged.
    """
    try:
        return json.dumps(
            leaf, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise _malformed(f"leaf cannot be serialised: {exc}") from None
