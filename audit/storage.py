"""The storage interface the log runs on, and an in-memory implementation for tests and tools.

A storage keeps, append-only: the leaf data and leaf hash of every entry, the hash of every
complete interior node (``Node(level >= 1, index)``), and every signed checkpoint in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from audit.errors import StorageError
from audit.merkle import Node


class LogStorage(Protocol):
    """What :class:`audit.log.Log` needs from a database (``sigsvc.log.storage`` implements it)."""

    def size(self) -> int:
        """Number of entries."""
        ...

    def append(
        self,
        start: int,
        entries: Sequence[tuple[bytes, bytes]],
        nodes: Sequence[tuple[Node, bytes]],
    ) -> None:
        """Atomically add ``(leaf data, leaf hash)`` at ``start, start+1, ...`` and new nodes.

        Must raise StorageError if ``start`` is not the current size (no gaps, no duplicates).
        """
        ...

    def entries(self, start: int, end: int) -> Sequence[bytes]:
        """Leaf data of entries ``[start, end)``; raises StorageError outside the log."""
        ...

    def node_hashes(self, nodes: Sequence[Node]) -> Sequence[bytes]:
        """Hashes of complete nodes (level 0 = leaf hashes), in the order asked."""
        ...

    def add_checkpoint(self, size: int, note: bytes) -> None:
        """Store a signed checkpoint note for tree ``size``."""
        ...

    def checkpoints(self, start: int = 0) -> Sequence[tuple[int, bytes]]:
        """``(size, note)`` of every stored checkpoint from sequence number ``start``, in order."""
        ...

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """The newest ``(size, note)``, or None before the first checkpoint."""
        ...


class MemoryStorage:
    """LogStorage in memory: lists per tree level."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.levels: list[list[bytes]] = [[]]
        self.notes: list[tuple[int, bytes]] = []

    def size(self) -> int:
        return len(self.data)

    def append(
        self,
        start: int,
        entries: Sequence[tuple[bytes, bytes]],
        nodes: Sequence[tuple[Node, bytes]],
    ) -> None:
        if start != len(self.data):
            raise StorageError(f"append at {start} but the log has {len(self.data)} entries")
        for node, _ in nodes:
            while len(self.levels) <= node.level:
                self.levels.append([])
        # Check before mutating so a bad batch leaves no trace.
        counts = [len(level) for level in self.levels]
        for node, _ in nodes:
            if node.level == 0 or node.index != counts[node.level]:
                raise StorageError(f"node {node} out of sequence")
            counts[node.level] += 1
        for data, leaf in entries:
            self.data.append(data)
            self.levels[0].append(leaf)
        for node, h in nodes:
            self.levels[node.level].append(h)

    def entries(self, start: int, end: int) -> Sequence[bytes]:
        if not 0 <= start <= end <= len(self.data):
            raise StorageError(f"entries [{start}, {end}) outside a log of {len(self.data)}")
        return self.data[start:end]

    def node_hashes(self, nodes: Sequence[Node]) -> Sequence[bytes]:
        try:
            return [self.levels[n.level][n.index] for n in nodes]
        except IndexError:
            raise StorageError("node not complete in this log") from None

    def add_checkpoint(self, size: int, note: bytes) -> None:
        if size > len(self.data) or (self.notes and size < self.notes[-1][0]):
            raise StorageError("checkpoint size out of order")
        self.notes.append((size, note))

    def checkpoints(self, start: int = 0) -> Sequence[tuple[int, bytes]]:
        return self.notes[start:]

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        return self.notes[-1] if self.notes else None
