"""audit.merkle against the RFC 9162 §2.1.5 example tree, a recursive reference and properties."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle
from audit.errors import ProofError, ProofShapeError, RootMismatchError
from tests.audit import reference

# RFC 9162 §2.1.5: seven leaves d0..d6 and the named interior nodes of its figure.
D = [f"d{i}".encode() for i in range(7)]
a, b, c, d, e, f = (merkle.leaf_hash(x) for x in D[:6])
j = merkle.leaf_hash(D[6])
g, h, i = merkle.node_hash(a, b), merkle.node_hash(c, d), merkle.node_hash(e, f)
k, l = merkle.node_hash(g, h), merkle.node_hash(i, j)  # noqa: E741
HASH7 = merkle.node_hash(k, l)
LEAVES = [merkle.leaf_hash(x) for x in D]


def test_known_hash_values() -> None:
    # RFC 6962 §2.1 by hand: empty tree, one leaf, domain separation.
    assert merkle.root([]) == hashlib.sha256(b"").digest()
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert merkle.root([a]) == a
    assert merkle.root(LEAVES) == HASH7 == reference.mth(D)


@pytest.mark.parametrize(
    ("index", "expected"),
    [(0, [b, h, l]), (3, [c, g, l]), (4, [f, j, k]), (6, [i, k])],
)
def test_rfc9162_inclusion_examples(index: int, expected: list[bytes]) -> None:
    assert merkle.inclusion_proof(index, 7, LEAVES) == expected
    merkle.verify_inclusion(LEAVES[index], index, 7, expected, HASH7)


@pytest.mark.parametrize(
    ("old", "expected"),
    [(3, [c, d, g, l]), (4, [l]), (6, [i, j, k])],
)
def test_rfc9162_consistency_examples(old: int, expected: list[bytes]) -> None:
    assert merkle.consistency_proof(old, 7, LEAVES) == expected
    merkle.verify_consistency(old, 7, expected, merkle.root(LEAVES[:old]), HASH7)


# --- edge rules -------------------------------------------------------------------------


def test_inclusion_edges() -> None:
    with pytest.raises(ProofShapeError):
        merkle.inclusion_proof(0, 0, [])
    with pytest.raises(ProofShapeError):
        merkle.inclusion_proof(7, 7, LEAVES)
    with pytest.raises(ProofShapeError):
        merkle.verify_inclusion(a, 0, 0, [], merkle.EMPTY_ROOT)
    with pytest.raises(ProofShapeError):
        merkle.verify_inclusion(a, 1, 1, [], a)
    with pytest.raises(ProofShapeError):
        merkle.verify_inclusion(a, -1, 1, [], a)
    merkle.verify_inclusion(a, 0, 1, [], a)  # size 1: empty path, root = leaf
    with pytest.raises(ProofShapeError):  # size 1 with a non-empty path
        merkle.verify_inclusion(a, 0, 1, [b], a)
    with pytest.raises(ProofShapeError):  # wrong hash lengths
        merkle.verify_inclusion(a[:31], 0, 1, [], a)
    with pytest.raises(ProofShapeError):
        merkle.verify_inclusion(a, 0, 2, [b + b"\x00"], HASH7)


def test_consistency_edges() -> None:
    empty = merkle.EMPTY_ROOT
    merkle.verify_consistency(0, 0, [], empty, empty)
    merkle.verify_consistency(0, 7, [], empty, HASH7)
    merkle.verify_consistency(7, 7, [], HASH7, HASH7)
    assert merkle.consistency_proof(0, 7, LEAVES) == []
    assert merkle.consistency_proof(7, 7, LEAVES) == []
    with pytest.raises(RootMismatchError):
        merkle.verify_consistency(7, 7, [], HASH7, k)
    with pytest.raises(RootMismatchError):
        merkle.verify_consistency(0, 7, [], k, HASH7)
    with pytest.raises(ProofShapeError):
        merkle.verify_consistency(7, 7, [l], HASH7, HASH7)
    with pytest.raises(ProofShapeError):
        merkle.verify_consistency(0, 7, [l], empty, HASH7)
    with pytest.raises(ProofShapeError):
        merkle.verify_consistency(8, 7, [], HASH7, HASH7)
    with pytest.raises(ProofShapeError):
        merkle.consistency_proof(8, 7, LEAVES)
    with pytest.raises(ProofShapeError):  # 0 < old < new with an empty proof
        merkle.verify_consistency(4, 7, [], k, HASH7)
    with pytest.raises(ProofShapeError):
        merkle.verify_consistency(4, 7, [l[:16]], k, HASH7)


def test_proof_errors_share_one_base() -> None:
    assert issubclass(ProofShapeError, ProofError)
    assert issubclass(RootMismatchError, ProofError)


def test_proofs_read_few_nodes() -> None:
    # O(log n) reads: at most 2*log2(n)+1 distinct nodes per proof.
    n = 1_000_003
    for index in (0, 1, n // 2, n - 2, n - 1):
        plan = merkle.inclusion_plan(index, n)
        assert len({x for el in plan for x in el}) <= 2 * n.bit_length() + 1
    for old in (1, 2, n // 3, n - 1):
        plan = merkle.consistency_plan(old, n)
        assert len({x for el in plan for x in el}) <= 2 * n.bit_length() + 1


# --- against the recursive reference ---------------------------------------------------


@pytest.mark.parametrize("n", range(1, 34))
def test_matches_reference_exhaustively(n: int) -> None:
    data = [bytes([x, n]) for x in range(n)]
    leaves = [merkle.leaf_hash(x) for x in data]
    levels = merkle.TreeLevels(leaves)
    assert merkle.root(leaves) == reference.mth(data) == merkle.root_at(n, levels)
    for m in range(n):
        assert merkle.inclusion_proof(m, n, levels) == reference.path(m, data)
        assert merkle.root_at(m + 1, levels) == reference.mth(data[: m + 1])
    for m in range(1, n + 1):
        expected = reference.proof(m, data) if m < n else []
        assert merkle.consistency_proof(m, n, levels) == expected


# --- properties -----------------------------------------------------------------------


def _tree(n: int) -> tuple[list[bytes], merkle.TreeLevels]:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    return leaves, merkle.TreeLevels(leaves)


def _bit_flips(proof: list[bytes], drawn: int) -> list[list[bytes]]:
    """Proofs with one bit flipped: the drawn bit and both ends, in every element."""
    out = []
    for pi, p in enumerate(proof):
        for bit in {0, 7, 8 * 31 + 7, drawn}:
            q = bytearray(p)
            q[bit // 8] ^= 1 << (bit % 8)
            out.append([*proof[:pi], bytes(q), *proof[pi + 1 :]])
    return out


def _flip(h: bytes, bit: int) -> bytes:
    q = bytearray(h)
    q[bit // 8] ^= 1 << (bit % 8)
    return bytes(q)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))),
    st.integers(0, 255),
)
def test_inclusion_properties(n_m: tuple[int, int], bit: int) -> None:
    n, m = n_m
    leaves, levels = _tree(n)
    r = merkle.root_at(n, levels)
    proof = merkle.inclusion_proof(m, n, levels)
    merkle.verify_inclusion(leaves[m], m, n, proof, r)
    bad: list[tuple[bytes, int, int, list[bytes], bytes]] = [
        (_flip(leaves[m], bit), m, n, proof, r),
        (leaves[m], m, n, proof, _flip(r, bit)),
        (leaves[m], m + 1, n, proof, r),
        (leaves[m], m - 1, n, proof, r),
        # A different size is judged against that size's own root, as a checkpoint binds both.
        (leaves[m], m, n + 1, proof, merkle.root([*leaves, merkle.leaf_hash(b"next")])),
        (leaves[m], m, n - 1, proof, merkle.root_at(n - 1, levels)),
        (leaves[m], m, n, [*proof, leaves[0]], r),
    ]
    if proof:
        bad.append((leaves[m], m, n, proof[:-1], r))
        bad.extend((leaves[m], m, n, p, r) for p in _bit_flips(proof, bit))
    for args in bad:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*args)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))),
    st.integers(0, 255),
)
def test_consistency_properties(old_new: tuple[int, int], bit: int) -> None:
    old, new = old_new
    leaves, levels = _tree(new)
    old_root, new_root = merkle.root_at(old, levels), merkle.root_at(new, levels)
    proof = merkle.consistency_proof(old, new, levels)
    merkle.verify_consistency(old, new, proof, old_root, new_root)
    bad: list[tuple[int, int, list[bytes], bytes, bytes]] = [
        (old, new, proof, _flip(old_root, bit), new_root),
        (old, new, proof, old_root, _flip(new_root, bit)),
        (old, new, [*proof, leaves[0]], old_root, new_root),
        (old + 1, new, proof, merkle.root(leaves[: old + 1]), new_root),
        (old, new + 1, proof, old_root, merkle.root([*leaves, merkle.leaf_hash(b"next")])),
        (old, new - 1, proof, old_root, merkle.root_at(new - 1, levels)),
    ]
    if old > 1:  # old - 1 == 0 would be the valid empty-tree case
        bad.append((old - 1, new, proof, merkle.root(leaves[: old - 1]), new_root))
    if proof:
        bad.append((old, new, proof[:-1], old_root, new_root))
        bad.append((old, new, proof[1:], old_root, new_root))
        bad.extend((old, new, p, old_root, new_root) for p in _bit_flips(proof, bit))
    for args in bad:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*args)


@given(st.lists(st.binary(max_size=8), max_size=40))
def test_frontier_equals_reference(data: list[bytes]) -> None:
    assert merkle.root(merkle.leaf_hash(x) for x in data) == reference.mth(data)
