"""C2SP tlog-tiles: tile paths both ways, the tiles of a tree size, and `sigaudit verify` reading
a directory of tiles, a gzipped export and stdin."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.cli import main
from audit.export import tile_path, write_export
from audit.log import Log
from audit.storage import MemoryStorage
from audit.tiles import Tile, parse_tile_path, tiles_for_size
from tests.audit import archive, golden


@given(
    level=st.one_of(st.none(), st.integers(0, 7)),
    n=st.integers(0, 10**12),
    width=st.integers(1, 256),
)
def test_tile_paths_round_trip(level, n, width):
    tile = Tile(level, n, width)
    assert tile.path == tile_path("entries" if level is None else level, n, width)
    assert parse_tile_path(tile.path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",  # not 3 digits
        "tile/0/x000/001",  # leading zero group
        "tile/0/001.p/256",  # a partial tile is narrower than 256
        "tile/0/001.p/0",
        "tile/0/001.p/007",
        "tile/01/001",
        "tile/9/001",  # beyond any 63-bit tree
        "tile/entries/001/",
        "tile/data/001",
        "../tile/0/001",
        "tile/0/x1/001",
    ],
)
def test_non_canonical_tile_paths_are_refused(path):
    with pytest.raises(ValueError):
        parse_tile_path(path)


@pytest.mark.parametrize("size", [1, 255, 256, 257, 256 * 256, 256 * 256 + 513])
def test_tiles_for_size_is_the_export_layout(size):
    names = [t.path for t in tiles_for_size(size)]
    assert len(names) == len(set(names))
    assert all(t.fits(size) for t in tiles_for_size(size))
    assert names[:2] == [tile_path("entries", 0, min(size, 256)), tile_path(0, 0, min(size, 256))]
    if size >= 256 * 256:
        assert "tile/1/000" in names and "tile/2/000.p/1" not in names[:3]


def test_the_golden_exports_members_are_its_tiles():
    members = [name for name, _ in archive.members(golden.GOLDEN.read_bytes())]
    tiles = [m for m in members if m.startswith("tile/")]
    checkpoint = dict(archive.members(golden.GOLDEN.read_bytes()))["checkpoint"]
    size = int(checkpoint.split(b"\n")[1])
    assert tiles == [t.path for t in tiles_for_size(size)]


def _vkey() -> str:
    return golden.FIRST_KEY.verifier().vkey


def _unpack(export: bytes, into: Path) -> Path:
    for name, data in archive.members(export):
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        (into / name).write_bytes(data)
    return into


def test_verify_reads_a_directory_of_tiles(tmp_path, capsys):
    root = _unpack(golden.export_bytes(), tmp_path / "log")
    assert main(["verify", str(root), "--key", _vkey(), "--quiet"]) == 0
    assert "export verified" in capsys.readouterr().out
    # Without the checkpoint history (as a plain tile server publishes it), the golden log's
    # key rotation cannot be followed: refused, not waved through.
    shutil.rmtree(root / "checkpoints")
    assert main(["verify", str(root), "--key", _vkey(), "--quiet"]) == 1
    assert "key rotation" in capsys.readouterr().out


def test_a_directory_without_history_verifies_against_the_latest_checkpoint(tmp_path):
    storage = MemoryStorage()
    log = Log(storage, golden.ORIGIN)
    for i in range(0, 600, 50):
        log.append([f"entry {j}".encode() for j in range(i, i + 50)])
        log.checkpoint([golden.FIRST_KEY])
    out = io.BytesIO()
    write_export(storage, out)
    root = _unpack(out.getvalue(), tmp_path / "log")
    shutil.rmtree(root / "checkpoints")
    assert main(["verify", str(root), "--key", _vkey(), "--quiet"]) == 0


def test_a_changed_or_missing_tile_in_a_directory_fails(tmp_path, capsys):
    root = _unpack(golden.export_bytes(), tmp_path / "log")
    level0 = next(iter(sorted((root / "tile" / "0").rglob("*"))))
    while level0.is_dir():
        level0 = next(iter(sorted(level0.iterdir())))
    data = bytearray(level0.read_bytes())
    data[5] ^= 1
    level0.write_bytes(bytes(data))
    assert main(["verify", str(root), "--key", _vkey(), "--quiet"]) == 1
    level0.unlink()
    capsys.readouterr()
    assert main(["verify", str(root), "--key", _vkey(), "--quiet", "--json"]) == 1
    assert "missing" in capsys.readouterr().out


def test_verify_reads_a_gzipped_export(tmp_path, capsys):
    path = tmp_path / "log.tar.gz"
    path.write_bytes(gzip.compress(golden.export_bytes()))
    assert main(["verify", str(path), "--key", _vkey(), "--quiet"]) == 0
    truncated = tmp_path / "short.tar.gz"
    truncated.write_bytes(path.read_bytes()[:-40])
    assert main(["verify", str(truncated), "--key", _vkey(), "--quiet"]) != 0


@pytest.mark.parametrize("compress", [False, True])
def test_verify_reads_stdin(compress):
    export = golden.export_bytes()
    data = gzip.compress(export) if compress else export
    result = subprocess.run(
        [sys.executable, "-m", "audit.cli", "verify", "-", "--key", _vkey()],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"export verified" in result.stdout
    assert result.stderr == b""  # not a terminal: no progress lines


def test_stdin_garbage_is_a_failure_not_a_crash():
    result = subprocess.run(
        [sys.executable, "-m", "audit.cli", "verify", "-", "--key", _vkey()],
        input=io.BytesIO(b"\x1f\x8bnot gzip at all").getvalue(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode in (1, 2) and b"Traceback" not in result.stderr
