"""Stateful Hypothesis machine: sigaudit catches every tamper, given any earlier checkpoint.

The machine appends, cuts checkpoints, rotates the log key and takes exports; each tamper rule
then changes the latest export the way an attacker would and runs the offline verifier with
the auditor's key and a checkpoint the auditor kept (or none). Every tamper that touches data
covered by a checkpoint in the export or by the auditor's checkpoint must be reported, with
the first bad index when the evidence pins it down; a tamper that no evidence covers (cutting
the tail back to a size the auditor never saw beyond) must verify, which shows the limit.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from audit.checkpoint import Checkpoint
from audit.errors import ExportError
from audit.export import encode_bundle, tile_path, write_export
from audit.log import Log
from audit.note import Signer, parse
from audit.storage import MemoryStorage
from audit.verify import ExportReport, verify_export
from tests.audit import archive

ORIGIN = "sigsvc.test/machine"
FIRST = Signer(ORIGIN, bytes(32))
AT = datetime(2026, 5, 1, tzinfo=UTC)


def _export(storage: MemoryStorage) -> bytes:
    out = io.BytesIO()
    write_export(storage, out)
    return out.getvalue()


def _truncated(storage: MemoryStorage, size: int) -> MemoryStorage:
    """The storage as it was when it held ``size`` entries (checkpoints up to that size)."""
    copy = MemoryStorage()
    copy.data = storage.data[:size]
    copy.levels = [level[: size >> h] for h, level in enumerate(storage.levels)]
    copy.notes = [(s, n) for s, n in storage.notes if s <= size]
    return copy


def _lazy_cut(raw: bytes, storage: MemoryStorage, keep: int) -> list[tuple[str, bytes]]:
    """Keep every checkpoint but only the entries (and leaf tiles) below ``keep``."""
    items = [(n, b) for n, b in archive.members(raw) if n.startswith("checkpoint")]
    for first in range(0, keep, 256):
        end = min(first + 256, keep)
        items.append(
            (
                tile_path("entries", first // 256, end - first),
                encode_bundle(storage.data[first:end]),
            )
        )
        items.append(
            (tile_path(0, first // 256, end - first), b"".join(storage.levels[0][first:end]))
        )
    return items


class AuditLogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.storage = MemoryStorage()
        self.log = Log(self.storage, ORIGIN)
        self.signer = FIRST
        self.rotations = 0
        self.snapshots: list[tuple[int, bytes]] = []  # (size, export) taken over time
        self._cache: tuple[tuple[int, int], bytes] | None = None

    def current(self) -> bytes:
        """Export of the current log (cached until the log changes)."""
        key = (self.storage.size(), len(self.storage.notes))
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, _export(self.storage))
        return self._cache[1]

    # --- honest operations -----------------------------------------------------------
    @rule(batch=st.lists(st.binary(min_size=0, max_size=24), min_size=1, max_size=40))
    def append(self, batch: list[bytes]) -> None:
        self.log.append(batch)

    @rule()
    def checkpoint(self) -> None:
        self.log.checkpoint([self.signer])

    @precondition(lambda self: self.rotations < 2)
    @rule()
    def rotate_key(self) -> None:
        self.rotations += 1
        new = Signer(ORIGIN, bytes([self.rotations]) * 32)
        self.log.rotate_key(AT, self.signer, new)
        self.signer = new

    @precondition(lambda self: self.storage.latest_checkpoint() is not None)
    @rule()
    def export(self) -> None:
        self.snapshots.append((self.storage.notes[-1][0], self.current()))

    @invariant()
    def honest_export_verifies(self) -> None:
        if self.storage.latest_checkpoint() is None:
            return
        report = self._verify(self.current(), None)
        assert isinstance(report, ExportReport)
        assert report.size == self.storage.notes[-1][0]

    # --- the auditor -----------------------------------------------------------------
    def _verify(self, raw: bytes, trusted: bytes | None) -> ExportReport | ExportError:
        try:
            return verify_export(io.BytesIO(raw), [FIRST.verifier()], trusted)
        except ExportError as exc:
            return exc

    def _trusted(self, choice: int) -> tuple[int, bytes] | None:
        """Any checkpoint the log has cut, or none."""
        notes = self.storage.notes
        if choice >= len(notes):
            return None
        return notes[choice]

    # --- tampering -------------------------------------------------------------------
    @precondition(lambda self: self.storage.latest_checkpoint() is not None)
    @rule(where=st.integers(0, 2**31), bit=st.integers(0, 7), trust=st.integers(0, 50))
    def flip_a_byte(self, where: int, bit: int, trust: int) -> None:
        raw = bytearray(self.current())
        where %= len(raw)
        raw[where] ^= 1 << bit
        trusted = self._trusted(trust)
        result = self._verify(bytes(raw), None if trusted is None else trusted[1])
        assert isinstance(result, ExportError), f"flip at {where} not detected"
        for name, start, end in archive.spans(self.current()):
            if start <= where < end and name.startswith(("tile/entries/", "tile/0/")):
                group = archive.group_of(name)
                if name.startswith("tile/0/"):
                    offset = (where - start) // 32
                else:
                    bundle = dict(archive.members(self.current()))[name]
                    offset = archive.entry_at_offset(bundle, where - start)
                assert (result.kind, result.index) == ("entry", group * 256 + offset)
            elif start <= where < end and name.startswith("checkpoint"):
                # A flipped key id turns a switch checkpoint's co-signature into an unknown one.
                assert result.kind in {"checkpoint", "key"}

    @precondition(lambda self: self.storage.latest_checkpoint() is not None)
    @rule(data=st.data(), trust=st.integers(0, 50))
    def reorder(self, data: st.DataObject, trust: int) -> None:
        size = self.storage.notes[-1][0]
        entries = self.storage.data[:size]
        i = data.draw(st.integers(0, max(0, size - 2)))
        j = next((j for j in range(i + 1, size) if entries[j] != entries[i]), None)
        if j is None:
            return
        swapped = list(entries)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        items = []
        for name, body in archive.members(self.current()):
            if name.startswith("tile/entries/"):
                first = archive.group_of(name) * 256
                body = encode_bundle(swapped[first : min(first + 256, size)])
            items.append((name, body))
        trusted = self._trusted(trust)
        result = self._verify(archive.rebuild(items), None if trusted is None else trusted[1])
        assert isinstance(result, ExportError)
        assert (result.kind, result.index) == ("entry", i)

    @precondition(lambda self: self.storage.latest_checkpoint() is not None)
    @rule(cut=st.integers(1, 2**31), trust=st.integers(0, 50), lazy=st.booleans())
    def delete_the_tail(self, cut: int, trust: int, lazy: bool) -> None:
        size = self.storage.notes[-1][0]
        if size == 0:
            return
        keep = size - 1 - (cut % size)  # 0 <= keep < size
        trusted = self._trusted(trust)
        if lazy:  # entries gone, checkpoints kept: the archive promises more than it holds
            raw = archive.rebuild(_lazy_cut(self.current(), self.storage, keep))
            ends = keep
        elif not any(s <= keep for s, _ in self.storage.notes):
            return  # nothing left to export
        else:  # a consistent export of the shorter log, later checkpoints dropped too
            raw = _export(_truncated(self.storage, keep))
            ends = max(s for s, _ in self.storage.notes if s <= keep)  # exports stop there
        result = self._verify(raw, None if trusted is None else trusted[1])
        if lazy or (trusted is not None and trusted[0] > ends):
            assert isinstance(result, ExportError)
            assert (result.kind, result.index) == ("truncated", ends)
        else:
            assert isinstance(result, ExportReport) and result.size == ends

    @precondition(lambda self: len(self.snapshots) > 0)
    @rule(which=st.integers(0, 50), trust=st.integers(0, 50))
    def restore_an_old_snapshot(self, which: int, trust: int) -> None:
        old_size, raw = self.snapshots[which % len(self.snapshots)]
        trusted = self._trusted(trust)
        result = self._verify(raw, None if trusted is None else trusted[1])
        if trusted is not None and trusted[0] > old_size:
            assert isinstance(result, ExportError)
            assert (result.kind, result.index) == ("truncated", old_size)
        else:
            assert isinstance(result, ExportReport)

    @precondition(lambda self: self.storage.latest_checkpoint() is not None)
    @rule(back=st.integers(1, 2**31), trust=st.integers(0, 50))
    def fork_after_restore(self, back: int, trust: int) -> None:
        """The database is restored to an older state, then other entries are appended."""
        size = self.storage.size()
        if size == 0:
            return
        fork_at = size - 1 - (back % size)
        forked = _truncated(self.storage, fork_at)
        forked_log = Log(forked, ORIGIN)
        forked_log.append([b"forged %d" % i for i in range(size - fork_at + 1)])
        signer = self.signer  # the operator's current key signs the fork
        forked_log.checkpoint([signer])
        trusted = self._trusted(trust)
        result = self._verify(_export(forked), None if trusted is None else trusted[1])
        if trusted is not None and trusted[0] > fork_at:
            assert isinstance(result, ExportError)
            assert result.kind in {"fork", "checkpoint", "key", "trusted"}
            if result.bad_range is not None:
                assert result.bad_range[0] <= fork_at < result.bad_range[1]
        elif isinstance(result, ExportError):
            # Without evidence beyond the fork point only key rules can object.
            assert result.kind in {"checkpoint", "key"}


TestAuditLog = AuditLogMachine.TestCase
TestAuditLog.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)


@pytest.mark.parametrize("size", [1, 255, 256, 257, 513])
def test_any_byte_flip_detected_at_tile_boundaries(size: int) -> None:
    storage = MemoryStorage()
    log = Log(storage, ORIGIN)
    log.append([bytes([i % 251]) * (i % 5) for i in range(size)])
    log.checkpoint([FIRST])
    raw = _export(storage)
    for where in range(0, len(raw), 97):
        flipped = bytearray(raw)
        flipped[where] ^= 0x10
        with pytest.raises(ExportError):
            verify_export(io.BytesIO(bytes(flipped)), [FIRST.verifier()])
    cp = Checkpoint.from_text(parse(storage.notes[-1][1]).text)
    assert cp.size == size
