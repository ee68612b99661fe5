"""Every way to tamper with a batch, each with the one reason code a verifier must give.

"plain" tampers change the file after the operator sealed it (someone on the way);
"resealed" ones have the operator seal a manifest that lies (the operator itself).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audit import events
from audit.log import Log
from audit.storage import MemoryStorage
from tests.batch.kit import ACCEPTED_AT, ORIGIN, Kit, reseal, rewrite

Tamper = Callable[[Kit, Path, Path], Path]  # (kit, batch, output) -> tampered batch


def _entries(files: dict[str, bytes]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(files["manifest.json"])["entries"]
    return entries


def drop_container(kit: Kit, src: Path, dst: Path) -> Path:
    def change(files: dict[str, bytes]) -> dict[str, bytes]:
        del files[_entries(files)[1]["file"]]
        return files

    return rewrite(src, dst, change)


def add_container(kit: Kit, src: Path, dst: Path) -> Path:
    def change(files: dict[str, bytes]) -> dict[str, bytes]:
        first = _entries(files)[0]["file"]
        files["signatures/sig-extra.edoc"] = files[first]
        return files

    return rewrite(src, dst, change)


def alter_container(kit: Kit, src: Path, dst: Path) -> Path:
    def change(files: dict[str, bytes]) -> dict[str, bytes]:
        name = _entries(files)[2]["file"]
        files[name] = files[name][:-1] + bytes([files[name][-1] ^ 1])
        return files

    return rewrite(src, dst, change)


def edit_manifest_unsealed(kit: Kit, src: Path, dst: Path) -> Path:
    def change(files: dict[str, bytes]) -> dict[str, bytes]:
        files["manifest.json"] = files["manifest.json"].replace(b"OZOLI", b"OZOLA")
        return files

    return rewrite(src, dst, change)


def break_seal_value(kit: Kit, src: Path, dst: Path) -> Path:
    def change(files: dict[str, bytes]) -> dict[str, bytes]:
        seal = files["META-INF/signatures0.xml"]
        at = seal.index(b"<ds:SignatureValue")
        at = seal.index(b">", at) + 5
        flipped = b"A" if seal[at : at + 1] != b"A" else b"B"
        files["META-INF/signatures0.xml"] = seal[:at] + flipped + seal[at + 1 :]
        return files

    return rewrite(src, dst, change)


def swap_checkpoint_file(kit: Kit, src: Path, dst: Path) -> Path:
    kit.log.append_events([_noise()])
    newer = kit.log.checkpoint([kit.log_signer])

    def change(files: dict[str, bytes]) -> dict[str, bytes]:
        files["log/checkpoint"] = newer
        return files

    return rewrite(src, dst, change)


def _noise() -> events.Event:
    return events.initiative_closed(at=ACCEPTED_AT, initiative="init-9", reason="TEST", accepted=0)


def reorder_entries(kit: Kit, src: Path, dst: Path) -> Path:
    def edit(m: dict[str, Any]) -> None:
        m["entries"][0], m["entries"][1] = m["entries"][1], m["entries"][0]

    return reseal(kit, src, dst, edit)


def drop_entry_keep_count(kit: Kit, src: Path, dst: Path) -> Path:
    return reseal(kit, src, dst, lambda m: m["entries"].pop(1))


def drop_entry_fix_count(kit: Kit, src: Path, dst: Path) -> Path:
    def edit(m: dict[str, Any]) -> None:
        m["entries"].pop(1)
        m["count"] -= 1

    return reseal(kit, src, dst, edit)


def older_checkpoint(kit: Kit, src: Path, dst: Path) -> Path:
    """The operator claims a checkpoint that does not yet hold the last entries."""
    size = json.loads(_manifest(src))["entries"][1]["leaf_index"]
    root = kit.log.root(size)
    from audit.checkpoint import Checkpoint, sign_checkpoint

    note = sign_checkpoint(Checkpoint(ORIGIN, size, root), [kit.log_signer]).decode()
    return reseal(kit, src, dst, lambda m: m["log"].__setitem__("checkpoint", note))


def leaf_of_other_signature(kit: Kit, src: Path, dst: Path) -> Path:
    def edit(m: dict[str, Any]) -> None:
        m["entries"][0]["leaf"]["signature"] = m["entries"][1]["signature"]

    return reseal(kit, src, dst, edit)


def leaf_pseudonym_changed(kit: Kit, src: Path, dst: Path) -> Path:
    def edit(m: dict[str, Any]) -> None:
        m["entries"][0]["leaf"]["signer"] = "0" * 64

    return reseal(kit, src, dst, edit)


def wrong_index(kit: Kit, src: Path, dst: Path) -> Path:
    def edit(m: dict[str, Any]) -> None:
        m["entries"][0]["leaf_index"] += 1  # the noise leaf next to it

    return reseal(kit, src, dst, edit)


def forked_previous(kit: Kit, src: Path, dst: Path) -> Path:
    """Batch 2 claims a previous checkpoint from a fork (same key, other history)."""
    fork = Log(MemoryStorage(), ORIGIN)
    fork.append_events([_noise(), _noise()])
    note = fork.checkpoint([kit.log_signer]).decode()
    return reseal(kit, src, dst, lambda m: m["log"]["previous"].__setitem__("checkpoint", note))


def _manifest(path: Path) -> bytes:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return zf.read("manifest.json")


# name -> (tamper, reason, applies to the second batch)
TAMPERS: dict[str, tuple[Tamper, str, bool]] = {
    "drop-container": (drop_container, "ENTRY_MISSING", False),
    "add-container": (add_container, "ENTRY_ADDED", False),
    "alter-container": (alter_container, "DIGEST_MISMATCH", False),
    "edit-manifest": (edit_manifest_unsealed, "SEAL_INVALID", False),
    "break-seal": (break_seal_value, "SEAL_INVALID", False),
    "swap-checkpoint": (swap_checkpoint_file, "CHECKPOINT_INVALID", False),
    "reorder-entries": (reorder_entries, "ORDER_MISMATCH", False),
    "drop-entry": (drop_entry_keep_count, "COUNT_MISMATCH", False),
    "drop-entry-fix-count": (drop_entry_fix_count, "ENTRY_ADDED", False),
    "older-checkpoint": (older_checkpoint, "NOT_INCLUDED", False),
    "leaf-of-other-signature": (leaf_of_other_signature, "LEAF_MISMATCH", False),
    "leaf-changed": (leaf_pseudonym_changed, "NOT_INCLUDED", False),
    "wrong-index": (wrong_index, "NOT_INCLUDED", False),
    "forked-previous": (forked_previous, "INCONSISTENT_LOG", True),
}
