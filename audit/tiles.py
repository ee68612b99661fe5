"""C2SP tlog-tiles: tile paths, which tiles a tree size has, and reading a tiled log as an export.

A tiled log is ``checkpoint`` plus ``tile/<L>/<N>[.p/<W>]`` (hashes) and
``tile/entries/<N>[.p/<W>]`` (entry bundles), the same members an export tar holds
(audit/export.py). :func:`export_stream` turns any reader of those paths (a directory, an HTTP
server; the caller does the I/O) into the byte stream of an export, so ``verify_export`` checks
a served log exactly as it checks a downloaded one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from audit.errors import ExportError
from audit.export import (
    HISTORY,
    LATEST,
    TILE_HEIGHT,
    TILE_WIDTH,
    completed_upper_tiles,
    expected_layout,
    tile_path,
)
from audit.tar import BLOCK, header
from audit.verify import read_checkpoint_note

# ``N``: 3-digit groups, all but the last prefixed with x; no leading zero group.
_INDEX = r"(?:x[0-9]{3}/)*[0-9]{3}"
_TILE = re.compile(rf"tile/(entries|0|[1-9][0-9]{{0,2}})/({_INDEX})(?:\.p/([1-9][0-9]{{0,2}}))?")
MAX_LEVEL = 63 // TILE_HEIGHT  # a level-L tile index must stay below 2**63 / 256**L


@dataclass(frozen=True)
class Tile:
    """One tile: ``level`` None for an entry bundle; ``width`` 1..256 (256 = full)."""

    level: int | None
    n: int
    width: int

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def path(self) -> str:
        return tile_path("entries" if self.level is None else self.level, self.n, self.width)

    def first_node(self) -> int:
        """Index, at node level ``TILE_HEIGHT * level``, of the tile's first hash."""
        return self.n * TILE_WIDTH

    def fits(self, size: int) -> bool:
        """The tile is fully determined by a tree of ``size`` leaves."""
        nodes_at_level = size >> (TILE_HEIGHT * (self.level or 0))
        return self.first_node() + self.width <= nodes_at_level


def parse_tile_path(path: str) -> Tile:
    """Strict inverse of :func:`audit.export.tile_path`; ValueError on anything else."""
    match = _TILE.fullmatch(path)
    if match is None:
        raise ValueError("not a tlog-tiles path")
    level_text, index_text, width_text = match.groups()
    groups = index_text.replace("x", "").split("/")
    if len(groups) > 1 and groups[0] == "000":
        raise ValueError("tile index with a leading zero group")
    n = int("".join(groups))
    width = int(width_text) if width_text else TILE_WIDTH
    if width_text and width >= TILE_WIDTH:
        raise ValueError("a partial tile is narrower than 256")
    level = None if level_text == "entries" else int(level_text)
    if level is not None and level > MAX_LEVEL:
        raise ValueError("tile level out of range")
    tile = Tile(level, n, width)
    if tile.path != path:  # e.g. an index with an extra x000 group
        raise ValueError("non-canonical tile path")
    return tile


def tiles_for_size(size: int) -> Iterator[Tile]:
    """Every tile of a tree of ``size`` entries, in export order (audit/export.py)."""
    for group in range(-(-size // TILE_WIDTH)):
        width = min(TILE_WIDTH, size - group * TILE_WIDTH)
        yield Tile(None, group, width)
        yield Tile(0, group, width)
        if width == TILE_WIDTH:
            for level, n in completed_upper_tiles(group):
                yield Tile(level, n, TILE_WIDTH)
    for level, n, width in expected_layout(size):
        yield Tile(level, n, width)


Reader = Callable[[str], bytes | None]  # path -> bytes, or None when absent


def _member(name: str, data: bytes) -> bytes:
    return header(name, len(data)) + data + b"\0" * (-len(data) % BLOCK)


def _export_chunks(read: Reader, size_of: Callable[[bytes], int]) -> Iterator[bytes]:
    latest = read(LATEST)
    if latest is None:
        raise ExportError("no checkpoint at the source", kind="checkpoint")
    yield _member(LATEST, latest)
    # Checkpoint history when the source keeps it (an unpacked export), else the latest alone.
    seq = 0
    while (note := read(f"{HISTORY}{seq}")) is not None:
        yield _member(f"{HISTORY}{seq}", note)
        seq += 1
    if seq == 0:
        yield _member(f"{HISTORY}0", latest)
    for tile in tiles_for_size(size_of(latest)):
        data = read(tile.path)
        if data is None:
            raise ExportError(f"{tile.path} is missing at the source", kind="archive")
        yield _member(tile.path, data)
    yield b"\0" * (2 * BLOCK)


class _ChunkStream(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


def export_stream(read: Reader) -> io.BufferedReader:
    """The export tar of a tiled log, streamed: tiles are read as the verifier reaches them."""

    def size_of(note: bytes) -> int:
        return read_checkpoint_note(note, "checkpoint").size

    return io.BufferedReader(_ChunkStream(_export_chunks(read, size_of)), 1 << 16)
