"""receipt.js's RFC 9162 checks, run in chromium against proofs made by audit/merkle.py: every
inclusion proof and every consistency proof of trees up to 17 leaves verifies, and each one
fails once one bit of a proof hash, of the root, or an index/size is changed."""

from __future__ import annotations

import base64
from typing import Any

from audit import merkle
from tests.pages.browser.conftest import Browser, Site

N = 17


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 0x80]) + data[1:]


def _vectors() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    leaves = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(N)]
    tree = merkle.TreeLevels(leaves)
    roots = {n: merkle.root_at(n, tree) for n in range(1, N + 1)}
    inclusion, consistency = [], []
    for size in range(1, N + 1):
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, tree)
            case = {
                "leaf": _b64(leaves[index]),
                "index": index,
                "size": size,
                "root": _b64(roots[size]),
            }
            inclusion.append({**case, "proof": [_b64(p) for p in proof], "ok": True})
            inclusion.append(
                {
                    **case,
                    "root": _b64(_flip(roots[size])),
                    "proof": [_b64(p) for p in proof],
                    "ok": False,
                }
            )
            if proof:
                bad = [_b64(_flip(proof[0])), *(_b64(p) for p in proof[1:])]
                inclusion.append({**case, "proof": bad, "ok": False})
            if size > 1:
                other = (index + 1) % size
                inclusion.append(
                    {**case, "index": other, "proof": [_b64(p) for p in proof], "ok": False}
                )
    for new in range(1, N + 1):
        for old in range(1, new + 1):
            proof = merkle.consistency_proof(old, new, tree)
            case = {
                "old": old,
                "new": new,
                "oldRoot": _b64(roots[old]),
                "newRoot": _b64(roots[new]),
            }
            consistency.append({**case, "proof": [_b64(p) for p in proof], "ok": True})
            consistency.append(
                {
                    **case,
                    "oldRoot": _b64(_flip(roots[old])),
                    "proof": [_b64(p) for p in proof],
                    "ok": False,
                }
            )
            consistency.append(
                {
                    **case,
                    "newRoot": _b64(_flip(roots[new])),
                    "proof": [_b64(p) for p in proof],
                    "ok": False,
                }
            )
            if proof:
                bad = [*(_b64(p) for p in proof[:-1]), _b64(_flip(proof[-1]))]
                consistency.append({**case, "proof": bad, "ok": False})
    return inclusion, consistency


SCRIPT = """
const [inclusion, consistency, done] = arguments;
const p = window.sigsvcProofs;
const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
(async () => {
  const wrong = [];
  for (const c of inclusion) {
    const ok = await p.verifyInclusion(
      bytes(c.leaf), BigInt(c.index), BigInt(c.size), c.proof.map(bytes), bytes(c.root));
    if (ok !== c.ok) wrong.push(["inclusion", c.index, c.size, c.ok]);
  }
  for (const c of consistency) {
    const ok = await p.verifyConsistency(
      BigInt(c.old), BigInt(c.new), bytes(c.oldRoot), bytes(c.newRoot), c.proof.map(bytes));
    if (ok !== c.ok) wrong.push(["consistency", c.old, c.new, c.ok]);
  }
  done({ wrong, checked: inclusion.length + consistency.length });
})().catch((e) => done({ error: String(e) }));
"""


def test_receipt_js_agrees_with_audit_merkle(page: Browser, site: Site) -> None:
    inclusion, consistency = _vectors()
    page.open("/receipt")
    page.driver.set_script_timeout(120)
    answer = page.driver.execute_async_script(SCRIPT, inclusion, consistency)
    assert "error" not in answer, answer
    assert answer["checked"] == len(inclusion) + len(consistency) > 1000
    assert answer["wrong"] == []
