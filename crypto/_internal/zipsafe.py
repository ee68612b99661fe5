"""Bounded zip reading for ASiC containers: no trust in header sizes, no paths, no duplicates.

Every entry is decompressed while counting real output bytes against absolute and ratio limits,
so a zip bomb costs at most the limits in memory and time.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from crypto.errors import MalformedContainer, TooLarge, UnsafeInput
from crypto.policy import SizeLimits

_CHUNK = 64 * 1024
_RATIO_GRACE = 64 * 1024  # small entries may compress very well (XML), allow 64 KiB regardless
_LOCAL_HEADER = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class ZipEntry:
    name: str
    data: bytes
    stored: bool  # compress_type == ZIP_STORED
    offset: int  # local header offset


def _check_raw_name(info: zipfile.ZipInfo) -> None:
    """The name as stored, before zipfile cuts it at a NUL (`filename` is then shorter than
    `orig_filename`: a container verified under one name would be stored under another)."""
    raw = info.orig_filename
    if raw != info.filename or "\x00" in raw:
        raise UnsafeInput(f"entry name with a NUL byte {raw!r}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        raise UnsafeInput(f"control character in entry name {raw!r}")


def _check_name(name: str) -> None:
    if not name or len(name) > 255:
        raise UnsafeInput(f"entry name of length {len(name)}")
    if name.startswith(("/", "\\")) or "\\" in name or ":" in name or "\x00" in name:
        raise UnsafeInput(f"absolute or non-portable entry name {name!r}")
    parts = name.split("/")
    if any(p in ("..", ".") for p in parts):
        raise UnsafeInput(f"path traversal in entry name {name!r}")
    if any(ord(ch) < 0x20 for ch in name):
        raise UnsafeInput(f"control character in entry name {name!r}")


def _read_entry(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: SizeLimits, budget: int
) -> bytes:
    out = bytearray()
    cap = min(limits.max_entry_bytes, budget)
    with zf.open(info) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            out += chunk
            if len(out) > cap:
                raise TooLarge(f"entry {info.filename!r} decompresses beyond {cap} bytes")
            if len(out) > _RATIO_GRACE and len(out) > limits.max_ratio * max(info.compress_size, 1):
                raise UnsafeInput(f"entry {info.filename!r} exceeds ratio {limits.max_ratio}:1")
    return bytes(out)


def read_zip(data: bytes, limits: SizeLimits) -> list[ZipEntry]:
    """Return entries in central-directory order, fully and safely read."""
    if len(data) > limits.max_container_bytes:
        raise TooLarge(f"container of {len(data)} bytes exceeds {limits.max_container_bytes}")
    if not data.startswith(_LOCAL_HEADER):
        raise MalformedContainer("not a zip file starting with a local file header")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # zipfile raises BadZipFile, NotImplementedError, OSError, ...
        raise MalformedContainer(f"unreadable zip: {type(exc).__name__}: {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise TooLarge(f"{len(infos)} zip entries exceed {limits.max_entries}")
        seen: set[str] = set()
        entries: list[ZipEntry] = []
        budget = limits.max_total_bytes
        for info in infos:
            _check_raw_name(info)
            name = info.filename
            _check_name(name)
            folded = name.casefold()
            if folded in seen:
                raise UnsafeInput(f"duplicate entry name {name!r}")
            seen.add(folded)
            if info.flag_bits & 0x1:
                raise UnsafeInput(f"encrypted entry {name!r}")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise MalformedContainer(f"entry {name!r} uses compression {info.compress_type}")
            if name.endswith("/"):  # directory entry: no content, listed for the structure check
                entries.append(ZipEntry(name, b"", True, info.header_offset))
                continue
            try:
                content = _read_entry(zf, info, limits, budget)
            except (TooLarge, UnsafeInput):
                raise
            except Exception as exc:  # zipfile/zlib raise many types on corrupt input
                raise MalformedContainer(f"corrupt entry {name!r}: {exc}") from exc
            budget -= len(content)
            entries.append(
                ZipEntry(
                    name, content, info.compress_type == zipfile.ZIP_STORED, info.header_offset
                )
            )
        return entries
