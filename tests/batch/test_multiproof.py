"""Subtree multiproof: every generated proof verifies; every change to leaves, indexes, proof
or root fails; for one leaf it carries the RFC 9162 inclusion proof's hashes.

Like an RFC 9162 inclusion proof, a multiproof does not pin the tree size by itself (index 0 in
sizes 3 and 4 has the same path shape); the signed checkpoint binds size and root together.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import merkle, multiproof
from audit.errors import ProofError


def _tree(size: int) -> tuple[list[bytes], merkle.TreeLevels]:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    return leaves, merkle.TreeLevels(leaves)


@st.composite
def cases(draw: st.DrawFn) -> tuple[int, list[int]]:
    size = draw(st.integers(1, 300))
    picked = draw(st.sets(st.integers(0, size - 1), min_size=1, max_size=min(size, 40)))
    return size, sorted(picked)


@given(cases())
def test_generated_proofs_verify(case: tuple[int, list[int]]) -> None:
    size, indexes = case
    leaves, tree = _tree(size)
    proof = list(multiproof.prove(indexes, size, tree))
    root = merkle.root(leaves)
    multiproof.verify(indexes, [leaves[i] for i in indexes], size, proof, root)


@given(cases(), st.data())
def test_every_change_fails(case: tuple[int, list[int]], data: st.DataObject) -> None:
    size, indexes = case
    leaves, tree = _tree(size)
    proof = list(multiproof.prove(indexes, size, tree))
    root = merkle.root(leaves)
    hashes = [leaves[i] for i in indexes]
    kind = data.draw(st.sampled_from(["leaf", "proof", "root", "index", "drop", "extra"]))
    if kind == "leaf":
        k = data.draw(st.integers(0, len(hashes) - 1))
        hashes[k] = hashlib.sha256(hashes[k]).digest()
    elif kind == "proof" and proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        proof[k] = bytes([proof[k][0] ^ 1]) + proof[k][1:]
    elif kind == "root":
        root = hashlib.sha256(root).digest()
    elif kind == "index":
        k = data.draw(st.integers(0, len(indexes) - 1))
        moved = indexes[k] + data.draw(st.sampled_from([-1, 1]))
        indexes = sorted({*indexes[:k], moved, *indexes[k + 1 :]})
        if len(indexes) != len(hashes) or moved < 0:
            indexes = [*indexes, size]  # still a change: an index outside the tree
    elif kind == "drop" and proof:
        proof.pop()
    else:
        proof.append(root)
    with pytest.raises(ProofError):
        multiproof.verify(indexes, hashes, size, proof, root)


@given(st.integers(1, 200), st.data())
def test_single_leaf_carries_the_inclusion_proof(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    _, tree = _tree(size)
    multi = list(multiproof.prove([index], size, tree))
    assert sorted(multi) == sorted(merkle.inclusion_proof(index, size, tree))


def test_contiguous_batch_is_compact() -> None:
    size = 1 << 16
    _, tree = _tree(size)
    indexes = list(range(1000, 6000))
    proof = list(multiproof.prove(indexes, size, tree))
    assert len(proof) <= 2 * 16


@pytest.mark.parametrize(
    ("indexes", "size"), [([], 4), ([2, 1], 4), ([1, 1], 4), ([4], 4), ([0], 0)]
)
def test_impossible_shapes(indexes: list[int], size: int) -> None:
    with pytest.raises(ProofError):
        list(multiproof.proof_ranges(indexes, size))
