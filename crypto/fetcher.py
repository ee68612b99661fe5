"""Injected I/O for revocation data and certificates; crypto/ itself never opens a socket."""

from __future__ import annotations

from typing import Protocol

from crypto.errors import FetchError

__all__ = ["FetchError", "Fetcher"]


class Fetcher(Protocol):
    """Fetches by URL; every failure (network, HTTP status, size) raises `FetchError`."""

    def ocsp(self, url: str, request_der: bytes) -> bytes:
        """POST an OCSP request (RFC 6960 A.1) and return the DER response."""
        ...

    def crl(self, url: str) -> bytes:
        """GET a CRL and return it (DER or PEM)."""
        ...

    def certificate(self, url: str) -> bytes:
        """GET an issuer certificate (caIssuers) and return it (DER or PEM)."""
        ...
