"""Offline verification of an export (the auditor's ``sigaudit verify``), streaming.

Steps, in archive order:
1. Read every checkpoint; they must share one origin, grow monotonically and end with the
   ``checkpoint`` member. Signatures are checked later, when the tree reaches each size, with
   the keys trusted at that point (key rotations are log entries).
2. For each entry: recompute its leaf hash (RFC 9162 §2.1.1) and compare it with the stored
   leaf hash in ``tile/0`` — a mismatch pins the entry's index exactly.
3. Fold leaf hashes into the running root; at each checkpoint's size verify its signature and
   compare roots. A mismatch there means entries and stored hashes were changed together: the
   first bad index lies between the last verified checkpoint and this one.
4. Recompute every upper tile from the tiles below and compare.
5. Hold the log to the auditor's trusted checkpoint: the log must reach its size (else the tail
   was deleted or an old snapshot restored: the first missing index is the log's size) and have
   the same root there (else the log forked before that size).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from audit import events, merkle
from audit.checkpoint import Checkpoint
from audit.errors import AuditError, CheckpointError, ExportError, NoteError
from audit.export import (
    HISTORY,
    LATEST,
    TILE_HEIGHT,
    TILE_WIDTH,
    completed_upper_tiles,
    expected_layout,
    tile_path,
)
from audit.note import Verifier, open_note, parse
from audit.tar import TarReader

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 1 << 16
_ROTATION_MARK = b'"type":"key.rotated"'


@dataclass(frozen=True)
class ExportReport:
    """What a successful verification established."""

    origin: str
    size: int
    root: bytes
    checkpoints: int
    key_rotations: int
    trusted_size: int | None
    final_keys: tuple[str, ...]


@dataclass(frozen=True)
class _Cp:
    seq: int
    checkpoint: Checkpoint
    note: bytes


@dataclass(frozen=True)
class _Rotation:
    index: int
    old: Verifier
    new: Verifier


def read_checkpoint_note(note: bytes, what: str) -> Checkpoint:
    """Parse (not verify) a checkpoint note."""
    try:
        return Checkpoint.from_text(parse(note).text)
    except (NoteError, CheckpointError) as exc:
        raise ExportError(f"{what}: {exc}", kind="checkpoint") from None


def _split_bundle(bundle: bytes, count: int) -> tuple[list[bytes], bool]:
    """Entries parsed before any inconsistency, and whether the bundle was exactly right."""
    entries: list[bytes] = []
    pos = 0
    while pos + 2 <= len(bundle) and len(entries) < count:
        end = pos + 2 + int.from_bytes(bundle[pos : pos + 2], "big")
        if end > len(bundle):
            break
        entries.append(bundle[pos + 2 : end])
        pos = end
    return entries, pos == len(bundle) and len(entries) == count


class _Auditor:
    def __init__(self, keys: Sequence[Verifier], progress: Progress | None) -> None:
        self.given = list(keys)
        self.active = list(keys)
        self.pending: list[_Rotation] = []
        self.rotations = 0
        self.frontier = merkle.Frontier()
        self.verified_size = 0
        self.progress = progress
        self.origin = ""

    # Step 3 --------------------------------------------------------------------------
    def check_checkpoint(self, cp: _Cp) -> None:
        where = f"checkpoint #{cp.seq} (size {cp.checkpoint.size})"
        due, self.pending = self.pending, []
        keys = self.active + [r.new for r in due]
        try:
            _, signed_by = open_note(cp.note, keys)
        except NoteError as exc:
            raise ExportError(f"{where}: {exc}", kind="checkpoint") from None
        for r in due:
            if r.old not in signed_by or r.new not in signed_by:
                raise ExportError(
                    f"{where} follows the key rotation at entry {r.index} but is not signed by"
                    " both the old and the new key",
                    kind="key",
                    index=r.index,
                )
            self.active = [k for k in self.active if k != r.old] + [r.new]
        if self.frontier.root() != cp.checkpoint.root:
            lo, hi = self.verified_size, cp.checkpoint.size
            raise ExportError(
                f"{where}: root differs from the entries; entries and stored hashes in"
                f" [{lo}, {hi}) were altered together",
                kind="root",
                index=lo if hi - lo == 1 else None,
                bad_range=(lo, hi),
            )
        self.verified_size = cp.checkpoint.size

    def check_trusted(self, trusted: Checkpoint, note: bytes) -> None:
        try:
            open_note(note, self.active + [k for k in self.given if k not in self.active])
        except NoteError as exc:
            raise ExportError(f"trusted checkpoint: {exc}", kind="trusted") from None
        if self.frontier.root() != trusted.root:
            raise ExportError(
                f"the log's root at size {trusted.size} differs from the trusted checkpoint:"
                f" the log forked or was rewritten before entry {trusted.size}",
                kind="fork",
                bad_range=(0, trusted.size),
            )

    def rotation(self, index: int, data: bytes) -> None:
        try:
            event = events.parse_leaf(data)
        except AuditError:
            return  # not an event: opaque data that merely contains the marker
        if event.type != "key.rotated" or event.fields["purpose"] != events.LOG_KEY_PURPOSE:
            return
        try:
            old = Verifier.from_vkey(str(event.fields["old_key"]))
            new = Verifier.from_vkey(str(event.fields["new_key"]))
        except NoteError as exc:
            raise ExportError(f"entry {index}: {exc}", kind="key", index=index) from None
        if old not in self.active:
            raise ExportError(
                f"entry {index} rotates away from a key that is not trusted",
                kind="key",
                index=index,
            )
        self.pending.append(_Rotation(index, old, new))
        self.rotations += 1


def _read_history(reader: TarReader) -> tuple[bytes, list[_Cp]]:
    latest = reader.member(LATEST)
    history: list[_Cp] = []
    while (name := reader.peek()) is not None and name.startswith(HISTORY):
        note = reader.member(f"{HISTORY}{len(history)}")
        cp = read_checkpoint_note(note, f"checkpoint #{len(history)}")
        if history and cp.size < history[-1].checkpoint.size:
            raise ExportError(
                f"checkpoint #{len(history)} is smaller than its predecessor", kind="checkpoint"
            )
        if history and cp.origin != history[0].checkpoint.origin:
            raise ExportError(f"checkpoint #{len(history)} has another origin", kind="checkpoint")
        history.append(_Cp(len(history), cp, note))
    if not history or history[-1].note != latest:
        raise ExportError(
            "'checkpoint' is not the last of the checkpoint history", kind="checkpoint"
        )
    return latest, history


def verify_export(
    stream: BinaryIO,
    keys: Sequence[Verifier],
    trusted: bytes | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    """Verify an export end to end; return a report or raise ExportError (kind, index)."""
    reader = TarReader(stream)
    auditor = _Auditor(keys, progress)
    # Step 1.
    _, history = _read_history(reader)
    size = history[-1].checkpoint.size
    auditor.origin = history[0].checkpoint.origin
    trusted_cp = None
    if trusted is not None:
        trusted_cp = read_checkpoint_note(trusted, "trusted checkpoint")
        if trusted_cp.origin != auditor.origin:
            raise ExportError("trusted checkpoint is for another log", kind="trusted")
    queue = list(reversed(history))

    def reached(n: int) -> None:
        while queue and queue[-1].checkpoint.size == n:
            auditor.check_checkpoint(queue.pop())
        if trusted_cp is not None and trusted_cp.size == n and trusted is not None:
            auditor.check_trusted(trusted_cp, trusted)

    reached(0)
    last_time: str | None = None
    pending: list[list[bytes]] = [[] for _ in range(65)]  # per tile level: expected hashes
    groups = -(-size // TILE_WIDTH)
    for group in range(groups):
        start = group * TILE_WIDTH
        width = min(TILE_WIDTH, size - start)
        # Step 2.
        expected = tile_path("entries", group, width)
        if reader.peek() != expected:
            raise _missing_entries(reader.peek(), expected, group, start, size)
        bundle = reader.member(expected)
        entries, exact = _split_bundle(bundle, width)
        tile0 = reader.member(tile_path(0, group, width))
        if len(tile0) != merkle.HASH_SIZE * width:
            raise ExportError(
                f"tile/0 of group {group} has the wrong length", kind="tile", index=start
            )
        hashes = [hashlib.sha256(b"\x00" + data).digest() for data in entries]
        if b"".join(hashes) != tile0[: 32 * len(hashes)]:
            i = next(i for i, h in enumerate(hashes) if h != tile0[32 * i : 32 * i + 32])
            raise ExportError(
                f"entry {start + i} does not match its stored leaf hash",
                kind="entry",
                index=start + i,
            )
        last_time = _check_times(entries, start, last_time)
        marked = _ROTATION_MARK in bundle
        tile_root = merkle.root(hashes) if exact and width == TILE_WIDTH else None
        if tile_root is not None and not marked and not _inside(queue, trusted_cp, start):
            auditor.frontier.append_subtree(TILE_HEIGHT, tile_root)  # fast path: one node
            reached(start + width)
        else:  # leaf by leaf: a checkpoint or a key rotation falls inside this group
            for i, h in enumerate(hashes):
                if marked and _ROTATION_MARK in entries[i]:
                    auditor.rotation(start + i, entries[i])
                auditor.frontier.append(h)
                reached(start + i + 1)
        if not exact:
            raise ExportError(
                f"entry bundle {group} is malformed at entry {start + len(entries)}",
                kind="entry",
                index=start + len(entries),
            )
        if progress is not None and (start + width) % PROGRESS_EVERY < width:
            progress(start + width, size)
        # Step 4.
        if width == TILE_WIDTH:
            assert tile_root is not None
            pending[1].append(tile_root)
            for level, n in completed_upper_tiles(group):
                _check_upper(reader, pending, level, n, TILE_WIDTH)
    for level, n, width in expected_layout(size):
        _check_upper(reader, pending, level, n, width)
    reader.end()
    # Step 5.
    if trusted_cp is not None and trusted_cp.size > size:
        raise ExportError(
            f"the log has {size} entries but the trusted checkpoint covers {trusted_cp.size}:"
            " the tail was deleted or an old snapshot restored",
            kind="truncated",
            index=size,
        )
    if progress is not None:
        progress(size, size)
    return ExportReport(
        origin=auditor.origin,
        size=size,
        root=auditor.frontier.root(),
        checkpoints=len(history),
        key_rotations=auditor.rotations,
        trusted_size=None if trusted_cp is None else trusted_cp.size,
        final_keys=tuple(k.vkey for k in auditor.active),
    )


def _check_times(entries: Sequence[bytes], start: int, previous: str | None) -> str | None:
    """Event times never go backwards (the writer refuses it; a rewritten log would show it)."""
    for i, data in enumerate(entries):
        at = events.leaf_time(data)
        if at is None:
            continue  # not an event: opaque leaf data
        if previous is not None and at < previous:
            raise ExportError(
                f"entry {start + i} is dated {at}, before the previous event ({previous})",
                kind="time",
                index=start + i,
            )
        previous = at
    return previous


def _inside(queue: list[_Cp], trusted: Checkpoint | None, start: int) -> bool:
    """Whether a checkpoint (or the trusted one) needs a root strictly inside this group."""
    end = start + TILE_WIDTH
    sizes = [queue[-1].checkpoint.size] if queue else []
    if trusted is not None:
        sizes.append(trusted.size)
    return any(start < size < end for size in sizes)


def _missing_entries(
    found: str | None, expected: str, group: int, start: int, size: int
) -> ExportError:
    """The entries the checkpoint promises are missing: say where the log really ends."""
    ends_at = start
    prefix = tile_path("entries", group) + ".p/"
    if found is not None and found.startswith(prefix):
        width = found.removeprefix(prefix)
        if width.isdigit() and start + int(width) < size:
            ends_at = start + int(width)
    return ExportError(
        f"the archive has {found or 'no member'!r} where {expected!r} should be: entries from"
        f" {ends_at} to {size} that the latest checkpoint covers are missing",
        kind="truncated",
        index=ends_at,
    )


def _check_upper(
    reader: TarReader, pending: list[list[bytes]], level: int, n: int, width: int
) -> None:
    data = reader.member(tile_path(level, n, width))
    want = pending[level]
    got = [data[j : j + 32] for j in range(0, len(data), 32)]
    if len(want) != width or got != want:
        first = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), 0)
        index = (n * TILE_WIDTH + first) << (TILE_HEIGHT * level)
        raise ExportError(
            f"tile/{level} hash {n * TILE_WIDTH + first} differs from the tiles below",
            kind="tile",
            index=index,
        )
    if width == TILE_WIDTH:
        pending[level + 1].append(merkle.root(got))
        want.clear()
