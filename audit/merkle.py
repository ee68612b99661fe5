"""RFC 6962 / RFC 9162 Merkle tree: hashing, proofs over stored subtree hashes, verification.

Indexes are 0-based. A *node* ``Node(level, index)`` is the perfect subtree of ``2**level``
leaves ``[index << level, (index + 1) << level)``; every range the RFC's recursion visits splits
into at most ~log2(n) such aligned nodes, so a storage that keeps the hash of every complete
node answers any proof in O(log n) reads (one batched call per proof here).

Edge rules (RFC 9162 defines proofs only for 0 <= index < size and 0 < old < new):
- ``root([])`` is SHA-256 of the empty string (RFC 9162 §2.1.1).
- inclusion: ``index >= size`` or ``size == 0`` fails; for ``size == 1`` the proof is empty
  and the root is the leaf hash.
- consistency: ``old_size > new_size`` fails; ``old_size == new_size`` needs an empty proof and
  equal roots; ``old_size == 0`` needs an empty proof and ``old_root`` equal to the empty root
  (every tree extends the empty one); otherwise RFC 9162 §2.1.4.2, which rejects empty proofs.
- every hash (leaf, roots, proof elements) must be exactly 32 bytes; a proof longer or shorter
  than the tree shape dictates fails.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from audit.errors import ProofError, ProofShapeError, RootMismatchError, StorageError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"  # RFC 6962 §2.1: leaf hash domain separator
NODE_PREFIX = b"\x01"  # RFC 6962 §2.1: interior node domain separator
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = HASH()


@dataclass(frozen=True, order=True, slots=True)
class Node:
    """Perfect subtree of ``2**level`` leaves starting at leaf ``index << level``."""

    level: int
    index: int


class NodeSource(Protocol):
    """Supplies hashes of complete (perfect) subtrees; storage implements it."""

    def node_hashes(self, nodes: Sequence[Node]) -> Sequence[bytes]:
        """Return the hash of each node, in order; every node is complete in the tree."""
        ...


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162 §2.1.1: largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> tuple[Node, ...]:
    """Aligned perfect subtrees, largest first, whose fold is MTH(D[start:end]).

    Valid for the ranges RFC 9162's recursion produces (start aligned to the largest piece).
    """
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        nodes.append(Node(level, start >> level))
        start += 1 << level
    return tuple(nodes)


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its perfect pieces, largest first: H(p1, H(p2, ... H(pj-1, pj)))."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


class Frontier:
    """Streaming root computation in O(log n) memory (compact range from index 0)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (level, hash), levels strictly decreasing
        self.size = 0

    def append(self, leaf: bytes) -> None:
        self.append_subtree(0, leaf)

    def append_subtree(self, level: int, subtree_hash: bytes) -> None:
        """Append a perfect subtree of 2**level leaves; the size must be a multiple of it."""
        if self.size % (1 << level):
            raise ProofShapeError("subtree not aligned with the frontier")
        added, h = 1 << level, subtree_hash
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            h = node_hash(left, h)
            level += 1
        self._stack.append((level, h))
        self.size += added

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        return fold([h for _, h in self._stack])


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of the tree whose leaves have these hashes (RFC 9162 §2.1.1)."""
    frontier = Frontier()
    for h in leaf_hashes:
        frontier.append(h)
    return frontier.root()


class TreeLevels:
    """In-memory NodeSource keeping every complete node: ~2n hashes for n leaves."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add a leaf; return every node it completes (the leaf included)."""
        created = [(Node(0, len(self.levels[0])), leaf)]
        self.levels[0].append(leaf)
        level, h = 0, leaf
        while len(self.levels[level]) % 2 == 0:
            h = node_hash(self.levels[level][-2], h)
            level += 1
            if len(self.levels) == level:
                self.levels.append([])
            created.append((Node(level, len(self.levels[level])), h))
            self.levels[level].append(h)
        return created

    def node_hashes(self, nodes: Sequence[Node]) -> Sequence[bytes]:
        try:
            return [self.levels[n.level][n.index] for n in nodes]
        except IndexError:
            raise StorageError("node not complete in this tree") from None


def _resolve(plan: Sequence[tuple[Node, ...]], source: NodeSource) -> list[bytes]:
    wanted = sorted({n for element in plan for n in element})
    got = source.node_hashes(wanted)
    if len(got) != len(wanted) or any(len(h) != HASH_SIZE for h in got):
        raise StorageError("node source returned wrong number or size of hashes")
    table = dict(zip(wanted, got, strict=True))
    return [fold([table[n] for n in element]) for element in plan]


def root_at(size: int, source: NodeSource) -> bytes:
    """MTH(D[0:size]) from stored complete nodes."""
    if size < 0:
        raise ProofShapeError("negative tree size")
    if size == 0:
        return EMPTY_ROOT
    return _resolve([range_nodes(0, size)], source)[0]


def inclusion_plan(index: int, size: int) -> list[tuple[Node, ...]]:
    """Nodes folded into each element of PATH(index, D[0:size]) (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ProofShapeError(f"index {index} outside tree of size {size}")
    top_down: list[tuple[Node, ...]] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index < start + k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            top_down.append(range_nodes(start + k, end))
            end = start + k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            top_down.append(range_nodes(start, start + k))
            start += k
    return top_down[::-1]


def consistency_plan(old_size: int, new_size: int) -> list[tuple[Node, ...]]:
    """Nodes folded into each element of PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1)."""
    if not 0 <= old_size <= new_size:
        raise ProofShapeError(f"old size {old_size} not within new size {new_size}")
    if old_size in (0, new_size):
        return []
    top_down: list[tuple[Node, ...]] = []
    start, end, m, whole_old_subtree = 0, new_size, old_size, True
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            top_down.append(range_nodes(start + k, end))
            end = start + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            top_down.append(range_nodes(start, start + k))
            start, m, whole_old_subtree = start + k, m - k, False
    if not whole_old_subtree:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        top_down.append(range_nodes(start, end))
    return top_down[::-1]


def inclusion_proof(index: int, size: int, source: NodeSource | Sequence[bytes]) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree of ``size`` leaves, bottom-up."""
    return _resolve(inclusion_plan(index, size), _as_source(source))


def consistency_proof(
    old_size: int, new_size: int, source: NodeSource | Sequence[bytes]
) -> list[bytes]:
    """Consistency proof between the trees of ``old_size`` and ``new_size`` leaves."""
    return _resolve(consistency_plan(old_size, new_size), _as_source(source))


def _as_source(source: NodeSource | Sequence[bytes]) -> NodeSource:
    if isinstance(source, Sequence):
        return TreeLevels(source)
    return source


def _check_hashes(*hashes: bytes) -> None:
    for h in hashes:
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ProofShapeError("hash is not 32 bytes")


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2; returns None or raises ProofError."""
    _check_hashes(leaf_hash, root, *proof)
    # 1. index must be inside the tree.
    if not 0 <= index < size:
        raise ProofShapeError(f"index {index} outside tree of size {size}")
    # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    fn, sn, r = index, size - 1, leaf_hash
    # 4. walk the path.
    for p in proof:
        if sn == 0:  # 4a. proof longer than the tree is tall
            raise ProofShapeError("inclusion proof too long")
        if fn & 1 or fn == sn:  # 4b.
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1  # 4c.
    # 5. sn must be 0 and r the root.
    if sn != 0:
        raise ProofShapeError("inclusion proof too short")
    if r != root:
        raise RootMismatchError("inclusion proof leads to a different root")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """RFC 9162 §2.1.4.2 plus the edge rules in the module docstring; raises ProofError."""
    _check_hashes(old_root, new_root, *proof)
    if not 0 <= old_size <= new_size:
        raise ProofShapeError(f"old size {old_size} not within new size {new_size}")
    if old_size == new_size or old_size == 0:
        if proof:
            raise ProofShapeError("proof must be empty for equal or empty old size")
        expected = new_root if old_size == new_size else EMPTY_ROOT
        if old_root != expected:
            raise RootMismatchError("roots differ")
        return
    # 1. an empty path fails.
    if not proof:
        raise ProofShapeError("consistency proof is empty")
    path = list(proof)
    # 2. if first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. fn = first - 1, sn = second - 1.  4. shift off shared trailing ones.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # 5. fr = sr = first path value.
    fr = sr = path[0]
    # 6. fold the rest.
    for c in path[1:]:
        if sn == 0:
            raise ProofShapeError("consistency proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    # 7. fr = first_hash, sr = second_hash, sn = 0.
    if sn != 0:
        raise ProofShapeError("consistency proof too short")
    if fr != old_root:
        raise RootMismatchError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise RootMismatchError("consistency proof does not lead to the new root")


__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "Node",
    "NodeSource",
    "ProofError",
    "TreeLevels",
    "consistency_plan",
    "consistency_proof",
    "inclusion_plan",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "range_nodes",
    "root",
    "root_at",
    "verify_consistency",
    "verify_inclusion",
]
