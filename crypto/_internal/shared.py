"""Verification work that is the same for every signer, done once and shared (issue 12).

Every container of one CA repeats the same work above the signer: the path from the issuing CA
to its anchor, each intermediate link's signature, the OCSP responder's certificate, the time
stamping unit's certificate and path. `SharedChecks` remembers the *successful* outcome of such
a check under a key that names everything the outcome depends on:

- the kind of check and the DER digests of every certificate it looked at;
- the trust material's version (`TrustStore.version`: every trusted list's territory, sequence
  number and content digest, the test anchors, the configured intermediates), so an entry is
  never used under another trusted-list version;
- a validity window: the outcome holds for any validation moment inside it (the certificates'
  validity, the trusted-list status period); a lookup at a moment outside misses.

Failures are never remembered: a failing check runs again and fails with its own reason and
message, so a warm cache gives the same verdicts as a cold one, byte for byte
(tests/crypto/test_shared_checks.py). The signer's own work (its certificate's signature and
validity, its revocation, its time stamp token, its qualification) runs on every request.

Thread safety by design: values are immutable (DER bytes, digests, datetimes); certificates
shared between threads are fully parsed before anyone else can see them (`freeze`), so no
thread ever finishes another thread's lazy parsing. The cache's lock guards one dict operation
at a time, never a check. Bounded: least recently used entries are dropped beyond `max_entries`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from asn1crypto import core, x509

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Window:
    """The validation moments [start, end] an outcome holds for (None: unbounded)."""

    start: datetime | None
    end: datetime | None

    def covers(self, moment: datetime) -> bool:
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment <= self.end
        )


def validity(*certs: x509.Certificate) -> Window:
    """Where every one of `certs` is within its validity period."""
    return Window(max(c.not_valid_before for c in certs), min(c.not_valid_after for c in certs))


@dataclass(frozen=True, slots=True)
class _Entry:
    window: Window
    value: object  # immutable


class SharedChecks:
    """A bounded LRU of successful, signer-independent check outcomes (module docstring)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()  # one dict operation at a time, never a check
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, moment: datetime) -> object | None:
        """The remembered value of `key` if its window covers `moment`, else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.window.covers(moment):
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.value
            self.misses += 1
            return None

    def put(self, key: Hashable, window: Window, value: object) -> None:
        with self._lock:
            self._entries[key] = _Entry(window, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def remembered_keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# One per process unless a TrustStore is given its own: stores of different trusted-list
# versions share it safely (the version is part of every key).
PROCESS_CHECKS = SharedChecks()

# The checks of the verification running on this thread (crypto.verify sets it): how a hook
# inside pyhanko-certvalidator (chain.py) finds the cache and the trust version.
CURRENT: ContextVar[tuple[SharedChecks, str] | None] = ContextVar("shared_checks", default=None)


@contextmanager
def running(checks: SharedChecks, version: str) -> Iterator[None]:
    token = CURRENT.set((checks, version))
    try:
        yield
    finally:
        CURRENT.reset(token)


def remembered(
    kind: str,
    parts: tuple[Hashable, ...],
    moment: datetime,
    window: Callable[[], Window],
    check: Callable[[], T],
) -> T:
    """`check()`'s value, from the cache when a success for (kind, version, parts) covers
    `moment`; `check` raising is never remembered. Without a running cache: just `check()`."""
    current = CURRENT.get()
    if current is None:
        return check()
    checks, version = current
    key = (kind, version, *parts)
    hit = checks.get(key, moment)
    if hit is not None:
        return hit  # type: ignore[return-value]  # what check() returned for this key
    value = check()
    checks.put(key, window(), value)
    return value


# --- fully parsed certificates ----------------------------------------------------------------

_CERT_PROPERTIES = tuple(
    name
    for name in dir(x509.Certificate)
    if isinstance(getattr(x509.Certificate, name), property) and not name.startswith("_")
)
_KEY_PROPERTIES = tuple(
    name
    for name in dir(x509.PublicKeyInfo)
    if isinstance(getattr(x509.PublicKeyInfo, name), property) and not name.startswith("_")
)


def freeze(cert: x509.Certificate) -> x509.Certificate:
    """Parse `cert` completely: every child, every extension value, every cached property.

    asn1crypto parses lazily and caches on the object in several steps; two threads doing it at
    once can see a half-built list (rejecting a valid signature). After this, readers only read.
    """
    _walk(cert)
    for name in _CERT_PROPERTIES:
        _touch(cert, name)
    for name in _KEY_PROPERTIES:
        _touch(cert.public_key, name)
    for name in (cert.subject, cert.issuer):
        _ = name.native, name.human_friendly, name.sha1, name.sha256, name.hashable
    return cert


def _touch(obj: Any, name: str) -> None:
    try:
        value = getattr(obj, name)
    except Exception:  # e.g. `curve` of an RSA key: not a property this key has
        return
    if isinstance(value, core.Asn1Value):
        _walk(value)
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, core.Asn1Value):
                _walk(item)


def _walk(value: core.Asn1Value, depth: int = 0) -> None:
    if depth > 64:
        return
    _ = value.native
    if isinstance(value, core.ParsableOctetString | core.ParsableOctetBitString):
        try:
            parsed = value.parsed
        except (ValueError, TypeError):
            parsed = None
        if isinstance(parsed, core.Asn1Value):
            _walk(parsed, depth + 1)
    elif isinstance(value, core.Any | core.Choice):
        inner = value.parsed if isinstance(value, core.Any) else value.chosen
        if isinstance(inner, core.Asn1Value):
            _walk(inner, depth + 1)
    elif isinstance(value, core.Sequence):
        for name in value:  # field names
            child = value[name]
            if isinstance(child, core.Asn1Value):
                _walk(child, depth + 1)
    elif isinstance(value, core.SequenceOf):
        for child in value:
            if isinstance(child, core.Asn1Value):
                _walk(child, depth + 1)
