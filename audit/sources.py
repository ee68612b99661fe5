"""Where ``sigaudit verify`` reads a log from: an export tar (plain or gzipped, a file or
stdin), a directory holding the tlog-tiles layout (e.g. an unpacked export), or the base URL of
a tlog-tiles server (``<url>/checkpoint``, ``<url>/tile/...``, and sigsvc's
``<url>/checkpoints/<seq>`` history where served, needed to follow key rotations). The only
module of audit/ that may touch the network, and only when given a URL."""

from __future__ import annotations

import gzip
import io
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from audit import tiles

GZIP_MAGIC = b"\x1f\x8b"
HTTP_TIMEOUT = 30  # seconds per tile


class SourceError(Exception):
    """The source cannot be read (missing file, unreachable server): a usage error."""


def _maybe_gunzip(stream: BinaryIO) -> BinaryIO:
    buffered = io.BufferedReader(stream, 1 << 16)  # type: ignore[type-var]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered


def directory_reader(root: Path) -> tiles.Reader:
    def read(path: str) -> bytes | None:
        try:
            return (root / path).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SourceError(f"cannot read {root / path}: {exc.strerror}") from None

    return read


def http_reader(base: str) -> tiles.Reader:
    base = base.rstrip("/")

    def read(path: str) -> bytes | None:
        url = f"{base}/{path}"
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as answer:  # noqa: S310 (http(s) only, checked by the caller)
                data: bytes = answer.read()
                return data
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise SourceError(f"{url}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SourceError(f"{url}: {exc}") from None

    return read


@contextmanager
def open_log(source: str) -> Iterator[BinaryIO]:
    """The export byte stream of ``source`` ('-' is stdin)."""
    if source.startswith(("http://", "https://")):
        yield tiles.export_stream(http_reader(source))
        return
    if source == "-":
        yield _maybe_gunzip(sys.stdin.buffer)
        return
    path = Path(source)
    if path.is_dir():
        yield tiles.export_stream(directory_reader(path))
        return
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise SourceError(f"cannot read {source}: {exc.strerror}") from None
    with stream:
        yield _maybe_gunzip(stream)
