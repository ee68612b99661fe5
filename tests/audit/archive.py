"""Test helpers: read an export into members, rewrite it, locate members in the raw bytes."""

from __future__ import annotations

import io

from audit.export import decode_bundle
from audit.tar import BLOCK, TarReader, TarWriter


def members(archive: bytes) -> list[tuple[str, bytes]]:
    reader = TarReader(io.BytesIO(archive))
    out = []
    while (name := reader.peek()) is not None:
        out.append((name, reader.member(name)))
    reader.end()
    return out


def rebuild(items: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    writer = TarWriter(out)
    for name, data in items:
        writer.add(name, data)
    writer.close()
    return out.getvalue()


def spans(archive: bytes) -> list[tuple[str, int, int]]:
    """(name, data start, data end) of each member in the raw archive."""
    out, offset = [], 0
    for name, data in members(archive):
        start = offset + BLOCK
        out.append((name, start, start + len(data)))
        offset = start + len(data) + (-len(data) % BLOCK)
    return out


def group_of(name: str) -> int:
    """Group number n of 'tile/entries/<N>[.p/W]' or 'tile/0/<N>[.p/W]'."""
    path = name.split("/", 2)[2].split(".p/")[0]
    return int(path.replace("x", "").replace("/", ""))


def entry_at_offset(bundle: bytes, offset: int) -> int:
    """Which entry of a bundle a byte offset belongs to (its length prefix included)."""
    pos = 0
    for i, data in enumerate(decode_bundle(bundle, _count(bundle))):
        pos += 2 + len(data)
        if offset < pos:
            return i
    raise AssertionError("offset outside the bundle")


def _count(bundle: bytes) -> int:
    n, pos = 0, 0
    while pos < len(bundle):
        pos += 2 + int.from_bytes(bundle[pos : pos + 2], "big")
        n += 1
    return n
