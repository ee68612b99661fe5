"""Deterministic, strict POSIX ustar: the container of an export.

The writer emits regular files only, with every metadata field fixed (mode 0644, uid/gid 0,
mtime 0, empty owner names), 512-byte padding and the two-zero-block trailer, nothing more: the
same members give the same bytes. The reader accepts exactly what the writer emits (it rebuilds
each header and compares bytes), so any flipped byte anywhere in the archive is an error; GNU or
BSD ``tar -xf`` read these archives as usual.
"""

from __future__ import annotations

from typing import BinaryIO

from audit.errors import ExportError

BLOCK = 512
_NAME_SIZE = 100
_MAX_SIZE = 8**11 - 1  # 11 octal digits


def header(name: str, size: int) -> bytes:
    """The ustar header of a regular file ``name`` of ``size`` bytes."""
    raw = name.encode("ascii")
    if not raw or len(raw) > _NAME_SIZE or not 0 <= size <= _MAX_SIZE:
        raise ExportError(f"cannot store {name!r} ({size} bytes) in ustar", kind="archive")
    fields = [
        raw.ljust(100, b"\0"),  # name
        b"0000644\0",  # mode
        b"0000000\0",  # uid
        b"0000000\0",  # gid
        f"{size:011o}\0".encode(),  # size
        b"00000000000\0",  # mtime
        b" " * 8,  # checksum placeholder
        b"0",  # typeflag: regular file
        b"\0" * 100,  # linkname
        b"ustar\x0000",  # magic, version
        b"\0" * 32,  # uname
        b"\0" * 32,  # gname
        b"0000000\0",  # devmajor
        b"0000000\0",  # devminor
        b"\0" * 155,  # prefix
        b"\0" * 12,  # padding to 512
    ]
    block = bytearray(b"".join(fields))
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    return bytes(block)


def _padding(size: int) -> int:
    return -size % BLOCK


class TarWriter:
    """Streams members to a binary file object."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out

    def add(self, name: str, data: bytes) -> None:
        self.out.write(header(name, len(data)))
        self.out.write(data)
        self.out.write(b"\0" * _padding(len(data)))

    def close(self) -> None:
        self.out.write(b"\0" * (2 * BLOCK))


class TarReader:
    """Reads members one by one from a stream, strictly; ``peek`` looks at the next name."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self._next: tuple[str, int] | None = None
        self._ended = False

    def _read(self, n: int, what: str) -> bytes:
        data = self.stream.read(n)
        if len(data) != n:
            raise ExportError(f"archive truncated in {what}", kind="archive")
        return data

    def peek(self) -> str | None:
        """Name of the next member, or None at the (verified) end of the archive."""
        if self._next is None and not self._ended:
            block = self._read(BLOCK, "a header")
            if block == b"\0" * BLOCK:
                if self._read(BLOCK, "the trailer") != b"\0" * BLOCK or self.stream.read(1):
                    raise ExportError("bytes after the archive trailer", kind="archive")
                self._ended = True
                return None
            try:
                name = block[:_NAME_SIZE].rstrip(b"\0").decode("ascii")
                size = int(block[124:135], 8)
                expected = header(name, size)
            except (UnicodeDecodeError, ValueError, ExportError):
                raise ExportError("malformed member header", kind="archive") from None
            if block != expected:
                raise ExportError(f"non-canonical header for {name!r}", kind="archive")
            self._next = (name, size)
        return None if self._next is None else self._next[0]

    def member(self, expected: str) -> bytes:
        """Read the next member, which must be named ``expected``."""
        name = self.peek()
        if name != expected:
            found = "the end of the archive" if name is None else repr(name)
            raise ExportError(f"expected {expected!r}, found {found}", kind="archive")
        assert self._next is not None
        size = self._next[1]
        self._next = None
        data = self._read(size, expected)
        if self._read(_padding(size), expected) != b"\0" * _padding(size):
            raise ExportError(f"non-zero padding after {expected!r}", kind="archive")
        return data

    def end(self) -> None:
        if self.peek() is not None:
            raise ExportError(f"unexpected member {self.peek()!r}", kind="archive")
