"""The production HTTP fetcher for OCSP responses, CRLs and certificates (AIA caIssuers).

Why: ``crypto/`` decides revocation on bytes and never opens a socket; this is the one place
the service talks to a QTSP's responders. It must never hang a request worker, never read an
unbounded body, never follow a URL to a non-HTTP scheme, and fail in exactly one typed way
(:class:`FetchUnavailable`) so the caller can answer ``REVOCATION_UNAVAILABLE`` (retryable)
instead of accepting. It satisfies the ``Fetcher`` protocol of ``crypto/`` structurally:
``ocsp(url, request_der)``, ``crl(url)``, ``certificate(url)``, each returning bytes.

Caching: CRLs and certificates by URL, OCSP responses by (URL, request). An entry lives until
the earlier of the object's own ``nextUpdate`` and the configured maximum age; a CRL without a
usable ``nextUpdate`` lives for the short default. OCSP responses are cached only when
``successful`` and every single response has a ``nextUpdate``: without one the responder says
newer information is always available (RFC 6960 §4.2.2.1), and ``crypto/`` judges such a
response fresh only near the signature's time stamp, so a cached one could turn a later
signature by the same person into ``REVOCATION_UNAVAILABLE``. Freshness is still judged by
``crypto/``; the cache only avoids re-fetching what cannot have changed.

Errors: ``crypto/`` catches its own ``crypto.FetchError``; pass
``translate=lambda e: crypto.FetchError(str(e))`` so every failure reaches it as that type
(chained to the :class:`FetchUnavailable`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp

import crypto
from sigsvc import clockskew, metrics
from sigsvc.intake import netguard

OCSP_REQUEST_TYPE = "application/ocsp-request"  # RFC 6960 Appendix A.1
OCSP_RESPONSE_TYPE = "application/ocsp-response"
ALLOWED_SCHEMES = frozenset({"http", "https"})
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


class FetchUnavailable(Exception):
    """The object could not be fetched; ``reason`` is a short stable word for logs."""

    def __init__(self, url: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {url}" + (f" ({detail})" if detail else ""))
        self.url = url
        self.reason = reason
        metrics.fetch_failed(reason)  # every failure is raised exactly once, here


@dataclass(frozen=True)
class FetchLimits:
    """Timeouts in seconds and body caps in bytes. ``total_timeout`` bounds slow-drip bodies,
    which a per-read timeout alone does not."""

    connect_timeout: float = 2.0
    read_timeout: float = 3.0
    total_timeout: float = 5.0
    max_redirects: int = 3
    max_ocsp_bytes: int = 64 * 1024
    max_crl_bytes: int = 32 * 1024 * 1024
    max_certificate_bytes: int = 64 * 1024


@dataclass(frozen=True)
class CachePolicy:
    """Cache ages in seconds; ``max_entries`` and ``max_bytes`` bound memory per process."""

    crl_max_age: float = 3600.0
    certificate_max_age: float = 86400.0
    ocsp_max_age: float = 300.0
    default_age: float = 60.0
    max_entries: int = 1024
    max_bytes: int = 64 * 1024 * 1024


class _TtlCache:
    """Bounded by entry count and total bytes; expired, then soonest-to-expire, go first."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._entries: dict[tuple[str, ...], tuple[float, bytes]] = {}
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], now: float) -> bytes | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            if hit[0] <= now:
                self._drop(key)
                return None
            return hit[1]

    def put(self, key: tuple[str, ...], value: bytes, expires: float, now: float) -> None:
        if expires <= now or len(value) > self._max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            for stale in [k for k, (exp, _) in self._entries.items() if exp <= now]:
                self._drop(stale)
            while self._entries and (
                len(self._entries) >= self._max_entries
                or self._bytes + len(value) > self._max_bytes
            ):
                self._drop(min(self._entries, key=lambda k: self._entries[k][0]))
            self._entries[key] = (expires, value)
            self._bytes += len(value)

    def _drop(self, key: tuple[str, ...]) -> None:
        self._bytes -= len(self._entries.pop(key)[1])


def _ocsp_next_update(body: bytes) -> datetime | None:
    """Earliest nextUpdate of a successful OCSP response; None → do not cache."""
    try:
        response = asn1_ocsp.OCSPResponse.load(body)
        if response["response_status"].native != "successful":
            return None
        basic = response.basic_ocsp_response
        times = [r["next_update"].native for r in basic["tbs_response_data"]["responses"]]
    except Exception:  # asn1crypto raises several types on malformed input; crypto/ judges
        return None
    valid = [t for t in times if isinstance(t, datetime)]
    if not valid or len(valid) != len(times):
        return None
    return min(valid)


def _crl_next_update(body: bytes) -> datetime | None:
    try:
        value = asn1_crl.CertificateList.load(body)["tbs_cert_list"]["next_update"].native
    except Exception:  # malformed CRL: cache briefly, crypto/ rejects it
        return None
    return value if isinstance(value, datetime) else None


class HttpFetcher:
    """OCSP/CRL/certificate fetching over HTTP(S) with limits and a TTL cache.

    ``clock`` returns POSIX seconds and drives only cache expiry (tests pass a fake one).
    Thread-safe: one instance can serve every thread of a worker process.
    """

    def __init__(
        self,
        *,
        limits: FetchLimits | None = None,
        cache: CachePolicy | None = None,
        clock: Callable[[], float] = time.time,
        session: requests.Session | None = None,
        user_agent: str = "sigsvc-fetcher/1",
        translate: Callable[[FetchUnavailable], Exception] | None = None,
        allow_private: bool | None = None,
    ) -> None:
        self.limits = limits or FetchLimits()
        self.policy = cache or CachePolicy()
        self._clock = clock
        self._cache = _TtlCache(self.policy.max_entries, self.policy.max_bytes)
        if session is None:
            # Public addresses only, checked after DNS (sigsvc.intake.netguard); the tests' own
            # responders on 127.0.0.1 need the explicit test setting.
            allow = netguard.test_setting() if allow_private is None else allow_private
            session = requests.Session()
            session.trust_env = False  # no proxy from the environment: we decide where to go
            adapter = netguard.GuardedAdapter(allow_private=allow)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self._session = session
        self._user_agent = user_agent
        self._translate = translate

    # --- the Fetcher protocol --------------------------------------------------------------

    def ocsp(self, url: str, request_der: bytes) -> bytes:
        """POST ``request_der`` (RFC 6960 Appendix A.1) and return the DER response."""
        return self._translated(self._ocsp, url, request_der)

    def crl(self, url: str) -> bytes:
        """GET a CRL (DER or PEM, returned as served)."""
        return self._translated(self._crl, url)

    def certificate(self, url: str) -> bytes:
        """GET an issuer certificate (AIA caIssuers)."""
        return self._translated(self._certificate, url)

    # --- internals ---------------------------------------------------------------------------

    def _translated(self, fetch: Callable[..., bytes], *args: Any) -> bytes:
        try:
            return fetch(*args)
        except FetchUnavailable as exc:
            if self._translate is None:
                raise
            raise self._translate(exc) from exc

    def _ocsp(self, url: str, request_der: bytes) -> bytes:
        key = ("ocsp", url, hashlib.sha256(request_der).hexdigest())
        now = self._clock()
        cached = self._cache.get(key, now)
        if cached is not None:
            return cached
        body = self._request(
            "POST",
            url,
            self.limits.max_ocsp_bytes,
            data=request_der,
            headers={"Content-Type": OCSP_REQUEST_TYPE, "Accept": OCSP_RESPONSE_TYPE},
        )
        next_update = _ocsp_next_update(body)
        if next_update is not None:
            expiry = min(now + self.policy.ocsp_max_age, next_update.timestamp())
            self._cache.put(key, body, expiry, now)
        return body

    def _crl(self, url: str) -> bytes:
        key = ("crl", url)
        now = self._clock()
        cached = self._cache.get(key, now)
        if cached is not None:
            return cached
        body = self._request("GET", url, self.limits.max_crl_bytes)
        expiry = self._crl_expiry(now, _crl_next_update(body))
        self._cache.put(key, body, expiry, now)
        return body

    def _certificate(self, url: str) -> bytes:
        key = ("certificate", url)
        now = self._clock()
        cached = self._cache.get(key, now)
        if cached is not None:
            return cached
        body = self._request("GET", url, self.limits.max_certificate_bytes)
        self._cache.put(key, body, now + self.policy.certificate_max_age, now)
        return body

    def _crl_expiry(self, now: float, next_update: datetime | None) -> float:
        if next_update is None:
            return now + min(self.policy.crl_max_age, self.policy.default_age)
        return min(now + self.policy.crl_max_age, next_update.timestamp())

    def _request(
        self,
        method: str,
        url: str,
        max_bytes: int,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        deadline = time.monotonic() + self.limits.total_timeout
        all_headers = {
            "User-Agent": self._user_agent,
            "Accept-Encoding": "identity",
            **(headers or {}),
        }
        # Redirects are followed by hand for GET only, each hop checked against the schemes;
        # a POST is never re-sent elsewhere.
        hops = self.limits.max_redirects if method == "GET" else 0
        current = url
        for _ in range(hops + 1):
            _check_url(url, current)
            sent = time.time()  # the wall clock, not self._clock: this measures it
            try:
                response = self._session.request(
                    method,
                    current,
                    data=data,
                    headers=all_headers,
                    timeout=(self.limits.connect_timeout, self.limits.read_timeout),
                    allow_redirects=False,
                    stream=True,
                )
            except requests.Timeout as exc:
                raise FetchUnavailable(url, "timeout", type(exc).__name__) from exc
            except requests.RequestException as exc:
                if _refused_address(exc):
                    raise FetchUnavailable(url, "address", "not a public address") from exc
                raise FetchUnavailable(url, "connection", type(exc).__name__) from exc
            with response:
                location = response.headers.get("Location")
                if response.status_code in _REDIRECT_CODES and location and hops:
                    target = urljoin(current, location)
                    _check_url(url, target)
                    if urlsplit(target).hostname != urlsplit(current).hostname:
                        raise FetchUnavailable(url, "redirect", "to another host")
                    current = target
                    continue
                if response.status_code != 200:
                    raise FetchUnavailable(url, "status", str(response.status_code))
                received = time.time()
                clockskew.record(
                    clockskew.measure(response.headers.get("Date"), sent, received, current)
                )
                return _read_capped(response, url, max_bytes, deadline)
        raise FetchUnavailable(url, "redirects", f"more than {hops}")


def _refused_address(exc: BaseException) -> bool:
    """Whether netguard refused the address somewhere in the exception's chain."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, netguard.AddressRefused) or any(
            isinstance(a, netguard.AddressRefused) for a in getattr(seen, "args", ())
        ):
            return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, netguard.AddressRefused):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _check_url(url: str, hop: str) -> None:
    """Refuse ``hop`` (``url`` itself or a redirect target) unless it is http(s) with a host."""
    try:
        parts = urlsplit(hop)
        acceptable = parts.scheme.lower() in ALLOWED_SCHEMES and bool(parts.hostname)
    except ValueError as exc:
        raise FetchUnavailable(url, "url", f"unparsable: {hop!r}") from exc
    if not acceptable:
        raise FetchUnavailable(url, "url", f"only http(s) URLs with a host are fetched: {hop!r}")


def _read_capped(response: requests.Response, url: str, max_bytes: int, deadline: float) -> bytes:
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":  # we ask for identity; refusing others rules out zip bombs
        raise FetchUnavailable(url, "encoding", encoding)
    declared = response.headers.get("Content-Length", "")
    if declared.isdecimal() and int(declared) > max_bytes:
        raise FetchUnavailable(url, "too_large", f"Content-Length {declared} > {max_bytes}")
    body = bytearray()
    try:
        # read1: at most one socket read per call, so each wait is bounded by the read timeout
        # and the total deadline is checked between them (a slow-drip body cannot stall us).
        while chunk := response.raw.read1(_CHUNK, decode_content=False):
            body += chunk
            if len(body) > max_bytes:
                raise FetchUnavailable(url, "too_large", f"more than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchUnavailable(url, "timeout", "total time exceeded")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise FetchUnavailable(url, "connection", type(exc).__name__) from exc
    return bytes(body)


def crypto_fetcher(**options: Any) -> HttpFetcher:
    """The fetcher `crypto.verify` is given: its failures become `crypto.FetchError`, which the
    verifier answers with REVOCATION_UNAVAILABLE (never an accept)."""
    return HttpFetcher(translate=lambda e: crypto.FetchError(str(e)), **options)
