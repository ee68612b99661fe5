"""The whole log as one portable artefact: a C2SP tlog-tiles tree inside a deterministic tar.

Layout and order of members (see docs/audit-export.md):

1. ``checkpoint`` — the latest signed checkpoint (tlog-tiles ``<prefix>/checkpoint``); the
   export holds exactly the entries it covers.
2. ``checkpoints/<seq>`` for seq = 0, 1, ... — every checkpoint the log ever signed, in order.
3. For each group n of 256 entries: ``tile/entries/<N>`` (bundle of uint16-length-prefixed
   leaf data), then ``tile/0/<N>`` (their leaf hashes); whenever a level-L tile becomes full,
   ``tile/L/<N>`` follows at once. The last group may be partial (``.p/<W>``).
4. Then the partial tiles of levels 1 and up, lowest level first.

Everything is written in one pass in O(log n) memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from audit.errors import ExportError
from audit.merkle import Node
from audit.storage import LogStorage
from audit.tar import TarWriter

TILE_WIDTH = 256  # tlog-tiles: full tiles hold 256 hashes
TILE_HEIGHT = 8  # log2(TILE_WIDTH): a level-L tile holds tree nodes of level 8*L
MAX_ENTRY_SIZE = 0xFFFF  # tlog-tiles entry bundles use uint16 length prefixes
LATEST = "checkpoint"
HISTORY = "checkpoints/"


def tile_index_path(n: int) -> str:
    """tlog-tiles ``<N>``: zero-padded 3-digit elements, all but the last prefixed with x."""
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def tile_path(level: int | str, n: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]``; level ``"entries"`` names an entry bundle."""
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{tile_index_path(n)}{suffix}"


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    out = bytearray()
    for data in entries:
        if len(data) > MAX_ENTRY_SIZE:
            raise ExportError("entry larger than 65535 bytes", kind="entry")
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)


def decode_bundle(bundle: bytes, count: int) -> list[bytes]:
    """Split a bundle into exactly ``count`` entries; raises ValueError otherwise."""
    entries: list[bytes] = []
    pos = 0
    while pos < len(bundle) and len(entries) < count:
        end = pos + 2 + int.from_bytes(bundle[pos : pos + 2], "big")
        if pos + 2 > len(bundle) or end > len(bundle):
            raise ValueError("entry bundle ends inside an entry")
        entries.append(bundle[pos + 2 : end])
        pos = end
    if pos != len(bundle) or len(entries) != count:
        raise ValueError("entry bundle does not hold exactly its entries")
    return entries


def expected_layout(size: int) -> list[tuple[int, int, int]]:
    """Upper tiles after the leaf groups: ``(level, n, width)`` of each partial tile."""
    partial = []
    level = 1
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)
        if count % TILE_WIDTH:
            partial.append((level, count // TILE_WIDTH, count % TILE_WIDTH))
        level += 1
    return partial


def completed_upper_tiles(group: int) -> list[tuple[int, int]]:
    """Full upper tiles ``(level, n)`` completed by writing the full level-0 tile ``group``."""
    done = []
    level, n = 1, group
    while (n + 1) % TILE_WIDTH == 0:
        n = (n + 1) // TILE_WIDTH - 1
        done.append((level, n))
        level += 1
    return done


def _tile(storage: LogStorage, level: int, n: int, width: int) -> bytes:
    first = n * TILE_WIDTH
    nodes = [Node(TILE_HEIGHT * level, first + i) for i in range(width)]
    return b"".join(storage.node_hashes(nodes))


@dataclass(frozen=True)
class ExportSummary:
    size: int
    checkpoints: int


def write_export(
    storage: LogStorage, out: BinaryIO, progress: Callable[[int, int], None] | None = None
) -> ExportSummary:
    """Stream the log up to its latest checkpoint into ``out``; ``progress(done, size)`` is
    called after each group of 256 entries."""
    history = storage.checkpoints()
    if not history:
        raise ExportError("the log has no checkpoint to export", kind="checkpoint")
    size, latest = history[-1]
    tar = TarWriter(out)
    tar.add(LATEST, latest)
    for seq, (_, note) in enumerate(history):
        tar.add(f"{HISTORY}{seq}", note)
    for group in range(-(-size // TILE_WIDTH)):
        start = group * TILE_WIDTH
        width = min(TILE_WIDTH, size - start)
        tar.add(
            tile_path("entries", group, width), encode_bundle(storage.entries(start, start + width))
        )
        tar.add(tile_path(0, group, width), _tile(storage, 0, group, width))
        if width == TILE_WIDTH:
            for level, n in completed_upper_tiles(group):
                tar.add(tile_path(level, n), _tile(storage, level, n, TILE_WIDTH))
        if progress is not None:
            progress(start + width, size)
    for level, n, width in expected_layout(size):
        tar.add(tile_path(level, n, width), _tile(storage, level, n, width))
    tar.close()
    return ExportSummary(size, len(history))
