"""The one boundary between the verifier and the injected fetcher.

`crypto.verify` wraps the caller's fetcher once. Every call maps failures to exactly two
outcomes: an outage (`FetchError`: REVOCATION_UNAVAILABLE, TRY_LATER, retryable) or a typed
internal error (`FetcherFailure`) — never a container reason. No lock is held while it runs
(verifications share no lock at all: crypto._internal.shared), so one slow responder never
stalls the other verifications of the process.
"""

from __future__ import annotations

from collections.abc import Callable

from crypto.errors import FetcherFailure, FetchError
from crypto.fetcher import Fetcher


class FetchBoundary:
    """Implements `Fetcher`; see the module docstring."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher

    def ocsp(self, url: str, request_der: bytes) -> bytes:
        return self._call(self._fetcher.ocsp, url, request_der)

    def crl(self, url: str) -> bytes:
        return self._call(self._fetcher.crl, url)

    def certificate(self, url: str) -> bytes:
        return self._call(self._fetcher.certificate, url)

    def _call(self, fetch: Callable[..., bytes], url: str, *args: bytes) -> bytes:
        try:
            body = fetch(url, *args)
        except FetchError:
            raise
        except Exception as exc:
            raise FetcherFailure(f"fetcher failed on {url}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(body, bytes | bytearray):
            raise FetcherFailure(f"fetcher returned {type(body).__name__} for {url}")
        return bytes(body)
