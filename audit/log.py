"""The log: group-commit appends, checkpoint cuts, proofs and receipts over a LogStorage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from audit import events, merkle
from audit.checkpoint import Checkpoint, sign_checkpoint
from audit.errors import EventTimeError, StorageError
from audit.merkle import Node
from audit.note import NoteSigner
from audit.receipt import Receipt
from audit.storage import LogStorage


def plan_append(
    start: int, frontier: Sequence[bytes], leaf_data: Sequence[bytes]
) -> tuple[list[tuple[bytes, bytes]], list[tuple[Node, bytes]]]:
    """Leaf hashes and newly completed nodes for appending ``leaf_data`` at ``start``.

    ``frontier`` holds the hashes of ``merkle.range_nodes(0, start)`` (the tree's right edge).
    """
    edge = merkle.range_nodes(0, start)
    if len(frontier) != len(edge):
        raise StorageError("frontier does not match the tree size")
    stack = list(zip(edge, frontier, strict=True))
    entries: list[tuple[bytes, bytes]] = []
    nodes: list[tuple[Node, bytes]] = []
    for offset, data in enumerate(leaf_data):
        h = merkle.leaf_hash(data)
        entries.append((data, h))
        node = Node(0, start + offset)
        # The stack top at the same level is the left sibling: hash up while they pair.
        while stack and stack[-1][0].level == node.level:
            _, left = stack.pop()
            h = merkle.node_hash(left, h)
            node = Node(node.level + 1, node.index >> 1)
            nodes.append((node, h))
        stack.append((node, h))
    return entries, nodes


MAX_CLOCK_SKEW = timedelta(seconds=60)  # an event may lie this far ahead of the writer's clock


class Log:
    """A transparency log with one origin over a storage."""

    def __init__(self, storage: LogStorage, origin: str) -> None:
        self.storage = storage
        self.origin = origin

    @property
    def size(self) -> int:
        return self.storage.size()

    def append(self, leaf_data: Sequence[bytes]) -> range:
        """Append a batch in one storage transaction (group commit); return its indexes."""
        start = self.storage.size()
        frontier = self.storage.node_hashes(merkle.range_nodes(0, start))
        entries, nodes = plan_append(start, frontier, leaf_data)
        self.storage.append(start, entries, nodes)
        return range(start, start + len(entries))

    def append_events(self, batch: Sequence[events.Event], *, now: datetime | None = None) -> range:
        """Append events in time order: none before the previous event, none beyond `now`
        (the writer's clock, when given) plus MAX_CLOCK_SKEW. A log whose times go backwards
        or into the future could place a signature inside a period it was not in."""
        previous = self._last_time()
        limit = None if now is None else events.format_time(now + MAX_CLOCK_SKEW)
        for event in batch:
            if previous is not None and event.at < previous:
                raise EventTimeError(f"event time {event.at} is before the previous {previous}")
            if limit is not None and event.at > limit:
                raise EventTimeError(f"event time {event.at} is beyond the clock ({limit})")
            previous = event.at
        return self.append([e.leaf_data() for e in batch])

    def _last_time(self) -> str | None:
        size = self.storage.size()
        if size == 0:
            return None
        (last,) = self.storage.entries(size - 1, size)
        return events.leaf_time(bytes(last))

    def root(self, size: int | None = None) -> bytes:
        return merkle.root_at(self.size if size is None else size, self.storage)

    def checkpoint(self, signers: Sequence[NoteSigner]) -> bytes:
        """Cut, sign and store a checkpoint of the current tree; return the note."""
        size = self.storage.size()
        note = sign_checkpoint(Checkpoint(self.origin, size, self.root(size)), signers)
        self.storage.add_checkpoint(size, note)
        return note

    def rotate_key(
        self, at: datetime, old: NoteSigner, new: NoteSigner, *, now: datetime | None = None
    ) -> bytes:
        """Log ``key.rotated`` and cut the switch checkpoint signed by both keys."""
        event = events.key_rotated(
            at=at,
            purpose=events.LOG_KEY_PURPOSE,
            old_key=old.verifier().vkey,
            new_key=new.verifier().vkey,
        )
        self.append_events([event], now=now)
        return self.checkpoint([old, new])

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return merkle.inclusion_proof(index, size, self.storage)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return merkle.consistency_proof(old_size, new_size, self.storage)

    def receipt(self, index: int) -> bytes:
        """tlog-proof receipt of entry ``index`` against the latest checkpoint."""
        latest = self.storage.latest_checkpoint()
        if latest is None or latest[0] <= index:
            raise StorageError(f"no checkpoint covers entry {index} yet")
        size, note = latest
        (data,) = self.storage.entries(index, index + 1)
        proof = tuple(self.inclusion_proof(index, size))
        return Receipt(index, proof, note, extra=data).encode()
