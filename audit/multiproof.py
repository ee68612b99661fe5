"""Subtree multiproof (``subtree-multiproof-v1``): one proof that many leaves are in one tree.

Walk the RFC 9162 §2.1.1 split of ``D[0:size]``; a subrange holding none of the proven leaf
indexes contributes its hash MTH(D[start:end]) to the proof, in walk order; a proven leaf
contributes its own leaf hash (given by the verifier, not the proof). The verifier runs the same
walk and folds to the root. For one leaf it holds the same hashes as the RFC 9162 inclusion
proof (in walk order); shared upper hashes appear once, so a batch of n leaves costs at most
about n * log2(size / n) hashes instead of n * log2(size). See docs/batch-format.md.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from audit import merkle
from audit.errors import ProofShapeError, RootMismatchError
from audit.merkle import HASH_SIZE, Node, NodeSource

_CHUNK = 4096  # ranges resolved per storage call


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n > 1), RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_indexes(indexes: Sequence[int], size: int) -> None:
    if not indexes:
        raise ProofShapeError("a multiproof needs at least one leaf")
    previous = -1
    for index in indexes:
        if index <= previous:
            raise ProofShapeError(f"leaf indexes must strictly increase (at {index})")
        previous = index
    if previous >= size:
        raise ProofShapeError(f"leaf index {previous} is not below the tree size {size}")


def proof_ranges(indexes: Sequence[int], size: int) -> Iterator[tuple[int, int]]:
    """The leaf-free ranges ``[start, end)`` whose hashes form the proof, in walk order."""
    _check_indexes(indexes, size)
    # Explicit stack instead of recursion: right half pushed first so the left is walked first.
    stack = [(0, size, 0, len(indexes))]
    while stack:
        start, end, lo, hi = stack.pop()
        if lo == hi:
            yield start, end
        elif end - start > 1:
            mid_leaf = start + _split(end - start)
            mid = bisect_left(indexes, mid_leaf, lo, hi)
            stack.append((mid_leaf, end, mid, hi))
            stack.append((start, mid_leaf, lo, mid))


def prove(indexes: Sequence[int], size: int, source: NodeSource) -> Iterator[bytes]:
    """The proof hashes, streamed; ``source`` answers complete-subtree hashes (log storage)."""
    pending: list[tuple[Node, ...]] = []
    for start, end in proof_ranges(indexes, size):
        pending.append(merkle.range_nodes(start, end))
        if len(pending) >= _CHUNK:
            yield from _resolve(pending, source)
            pending = []
    yield from _resolve(pending, source)


def _resolve(plan: list[tuple[Node, ...]], source: NodeSource) -> Iterator[bytes]:
    flat = [node for group in plan for node in group]
    hashes = iter(source.node_hashes(flat)) if flat else iter(())
    for group in plan:
        yield merkle.fold([next(hashes) for _ in group])


def verify(
    indexes: Sequence[int],
    leaf_hashes: Sequence[bytes],
    size: int,
    proof: Sequence[bytes],
    root: bytes,
) -> None:
    """Raise ProofError unless the leaves sit at ``indexes`` in the tree of ``size``/``root``."""
    _check_indexes(indexes, size)
    if len(leaf_hashes) != len(indexes):
        raise ProofShapeError("one leaf hash per index is needed")
    if len(root) != HASH_SIZE or any(len(h) != HASH_SIZE for h in (*leaf_hashes, *proof)):
        raise ProofShapeError("every hash must be 32 bytes")
    # Post-order evaluation on an explicit stack; start < 0 marks "join the top two values".
    values: list[bytes] = []
    used = 0
    work: list[tuple[int, int, int, int]] = [(0, size, 0, len(indexes))]
    while work:
        start, end, lo, hi = work.pop()
        if start < 0:  # join marker: combine the two values on top
            right, left = values.pop(), values.pop()
            values.append(merkle.node_hash(left, right))
        elif lo == hi:
            if used == len(proof):
                raise ProofShapeError("multiproof is too short")
            values.append(proof[used])
            used += 1
        elif end - start == 1:
            values.append(leaf_hashes[lo])
        else:
            mid_leaf = start + _split(end - start)
            mid = bisect_left(indexes, mid_leaf, lo, hi)
            work.append((-1, 0, 0, 0))
            work.append((mid_leaf, end, mid, hi))
            work.append((start, mid_leaf, lo, mid))
    if used != len(proof):
        raise ProofShapeError("multiproof has unused hashes")
    if values != [root]:
        raise RootMismatchError("multiproof does not lead to the checkpoint root")
