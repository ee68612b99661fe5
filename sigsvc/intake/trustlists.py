"""Trusted-list refresh: EU LOTL (pinned signers) -> the national list -> a versioned store.

`sigsvc trust refresh` and the service's schedule run the same `refresh`:
1. fetch the LOTL over HTTPS and verify it with the pinned LOTL signing certificates
   (configuration: SIGSVC_LOTL_SIGNERS, as published in the Official Journal), or, when the
   Commission has changed them since, with those announced by the pivot LOTLs it lists, each
   verified by the previous, back to one a pinned certificate signs (crypto.lotl);
2. follow its pointer to each configured territory's list and verify that list with the
   operator certificates the verified LOTL announces;
3. keep every version on disk by sequence number (old signatures are re-verified against the
   list in force then), switch `current.json` atomically and log `trust.updated`.
Workers watch `current.json` and swap their TrustStore without a restart (`TrustWatch`).

Directory layout (SIGSVC_TRUST_DIR):
    <territory>/<seq>.xml        the list as fetched (its own XML signature inside)
    <territory>/<seq>.lotl.xml   the LOTL that announced its operators
    <territory>/<seq>.pivot-<i>.xml  pivot LOTLs (newest first) that lead from the pinned LOTL
                                 signers to that LOTL's, when its signer is not pinned
    <territory>/<seq>.json       sequence, issue, next update, fetch time, SHA-256, location
    current.json                 {"<territory>": <seq>, ...}
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog

import crypto
import crypto.lotl
from crypto import TrustedListSource, TrustStore
from crypto.trust import read_lotl

log = structlog.get_logger("sigsvc.trust")

EU_LOTL_URL = "https://ec.europa.eu/tools/lotl/eu-lotl.xml"
MAX_LIST_BYTES = 16 * 1024 * 1024
CURRENT = "current.json"


class TrustRefreshError(Exception):
    """A refresh could not produce a verified list (message says which step failed)."""


@dataclass(frozen=True)
class RefreshSettings:
    directory: Path
    lotl_signers: tuple[bytes, ...]  # pinned LOTL signing certificates (DER or PEM)
    lotl_url: str = EU_LOTL_URL
    territories: tuple[str, ...] = ("LV",)
    allow_loopback_http: bool = False  # TEST ONLY: plain http to 127.0.0.1
    # CA certificates (PEM file) that HTTPS list servers must chain to, instead of the system's
    # store (SIGSVC_TRUST_CA_FILE: the tests' own CA; a deployment behind an inspecting proxy)
    ca_file: Path | None = None


@dataclass(frozen=True)
class ListVersion:
    territory: str
    sequence: int
    issued: str | None
    next_update: str | None
    fetched_at: str
    sha256: str
    location: str
    new: bool  # not on disk before this refresh


Getter = Callable[[str], bytes]


def http_get(
    url: str,
    *,
    allow_loopback_http: bool = False,
    ca_file: Path | None = None,
    timeout: float = 20.0,
) -> bytes:
    """GET a list: HTTPS only (plain HTTP only to loopback when allowed), the server's
    certificate checked (against `ca_file` when given), no redirects, capped."""
    import requests

    parts = urlsplit(url)
    if parts.scheme != "https" and not (
        allow_loopback_http and parts.scheme == "http" and _loopback(parts.hostname)
    ):
        raise TrustRefreshError(f"refusing {url}: trusted lists are fetched over HTTPS only")
    try:
        verify: str | bool = str(ca_file) if ca_file is not None else True
        with requests.get(
            url, timeout=timeout, stream=True, allow_redirects=False, verify=verify
        ) as reply:
            if reply.status_code != 200:
                raise TrustRefreshError(f"{url}: HTTP {reply.status_code}")
            body = bytearray()
            for chunk in reply.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_LIST_BYTES:
                    raise TrustRefreshError(f"{url}: more than {MAX_LIST_BYTES} bytes")
            return bytes(body)
    except requests.RequestException as exc:
        raise TrustRefreshError(f"{url}: {type(exc).__name__}") from exc


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refresh(
    settings: RefreshSettings, *, now: datetime, get: Getter | None = None
) -> list[ListVersion]:
    """Fetch, verify and store the configured territories' lists; return what is current."""
    fetch = get or (
        lambda url: http_get(
            url, allow_loopback_http=settings.allow_loopback_http, ca_file=settings.ca_file
        )
    )
    lotl_xml = fetch(settings.lotl_url)
    try:
        pivots = _pivots_if_needed(lotl_xml, settings.lotl_signers, now, fetch)
        lotl = TrustedListSource(
            lotl_xml, crypto.lotl.lotl_signers(lotl_xml, pivots, settings.lotl_signers, now), now
        )
        references = read_lotl(lotl)
    except crypto.VerificationError as exc:
        raise TrustRefreshError(f"LOTL {settings.lotl_url}: {exc.message}") from exc
    current = _read_current(settings.directory)
    versions = []
    for territory in settings.territories:
        reference = references.get(territory)
        if reference is None:
            raise TrustRefreshError(f"the LOTL has no pointer for {territory}")
        xml = fetch(reference.location)
        try:
            store = TrustStore(lotl=lotl, trusted_lists=[TrustedListSource(xml, (), now)])
        except crypto.VerificationError as exc:
            raise TrustRefreshError(
                f"{territory} list {reference.location}: {exc.message}"
            ) from exc
        (info,) = store.lists
        if info.territory != territory or info.sequence is None:
            raise TrustRefreshError(f"{reference.location} is not a sequenced {territory} list")
        version = _store(settings.directory, info, xml, lotl_xml, pivots, now, reference.location)
        versions.append(version)
        current[territory] = info.sequence
        if version.new:
            log.info(
                "trust.updated",
                territory=territory,
                sequence=info.sequence,
                sha256=version.sha256,
                next_update=version.next_update,
            )
    _write_atomically(settings.directory / CURRENT, json.dumps(current, sort_keys=True).encode())
    return versions


def _pivots_if_needed(
    lotl_xml: bytes, pinned: Sequence[bytes], now: datetime, fetch: Getter
) -> list[bytes]:
    """The pivot LOTLs the LOTL announces, fetched only when no pinned certificate signs it
    (crypto.lotl: the Commission changed its signing certificates since the pinned ones)."""
    try:
        crypto.lotl.lotl_signers(lotl_xml, (), pinned, now)
        return []
    except crypto.VerificationError:
        pass
    pivots = [fetch(url) for url in crypto.lotl.pivot_locations(lotl_xml)]
    if pivots:
        log.info("trust.lotl_pivots", count=len(pivots))
    return pivots


def _store(
    directory: Path,
    info: crypto.trust.TrustedListInfo,
    xml: bytes,
    lotl_xml: bytes,
    pivots: Sequence[bytes],
    now: datetime,
    location: str,
) -> ListVersion:
    assert info.territory is not None and info.sequence is not None
    folder = directory / info.territory
    folder.mkdir(parents=True, exist_ok=True)
    meta_path = folder / f"{info.sequence}.json"
    digest = hashlib.sha256(xml).hexdigest()
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta["sha256"] == digest:
            return ListVersion(**meta, new=False)
        # Same sequence, other bytes: a re-signed list; keep the first, say so.
        log.warning("trust.sequence_reused", territory=info.territory, sequence=info.sequence)
        return ListVersion(**meta, new=False)
    meta = {
        "territory": info.territory,
        "sequence": info.sequence,
        "issued": info.issued.isoformat() if info.issued else None,
        "next_update": info.next_update.isoformat() if info.next_update else None,
        "fetched_at": now.isoformat(),
        "sha256": digest,
        "location": location,
    }
    _write_atomically(folder / f"{info.sequence}.xml", xml)
    _write_atomically(folder / f"{info.sequence}.lotl.xml", lotl_xml)
    for index, pivot in enumerate(pivots):  # newest first, as the LOTL lists them
        _write_atomically(folder / f"{info.sequence}.pivot-{index}.xml", pivot)
    _write_atomically(meta_path, json.dumps(meta, sort_keys=True).encode())
    return ListVersion(**meta, new=True)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _read_current(directory: Path) -> dict[str, int]:
    try:
        raw: dict[str, int] = json.loads((directory / CURRENT).read_text())
    except FileNotFoundError:
        return {}
    return raw


def load(
    directory: Path,
    lotl_signers: Sequence[bytes],
    *,
    versions: dict[str, int] | None = None,
    test_anchors: Sequence[bytes] = (),
) -> TrustStore:
    """The TrustStore of the stored versions (default: current), re-verified from disk."""
    chosen = versions if versions is not None else _read_current(directory)
    if not chosen:
        raise TrustRefreshError(
            f"no trusted list stored in {directory}: run `sigsvc trust refresh`"
        )
    stores = []
    for territory, sequence in sorted(chosen.items()):
        folder = directory / territory
        meta = json.loads((folder / f"{sequence}.json").read_text())
        fetched_at = datetime.fromisoformat(meta["fetched_at"])
        lotl_xml = (folder / f"{sequence}.lotl.xml").read_bytes()
        pivot_files = sorted(
            folder.glob(f"{sequence}.pivot-*.xml"), key=lambda p: int(p.stem.split("-")[-1])
        )
        pivots = [p.read_bytes() for p in pivot_files]
        lotl = TrustedListSource(
            lotl_xml,
            crypto.lotl.lotl_signers(lotl_xml, pivots, lotl_signers, fetched_at),
            fetched_at,
        )
        xml = (folder / f"{sequence}.xml").read_bytes()
        stores.append((lotl, TrustedListSource(xml, (), fetched_at)))
    # One LOTL announces every territory's operators; lists of one refresh share it.
    return TrustStore(
        lotl=stores[0][0],
        trusted_lists=[source for _, source in stores],
        test_anchors=test_anchors,
    )


def version_in_force(directory: Path, territory: str, moment: datetime) -> int | None:
    """The sequence number of the stored list that was issued last at or before `moment`."""
    return _in_force(_issued_index(directory, territory), moment)


def _issued_index(directory: Path, territory: str) -> list[tuple[datetime, int]]:
    """(issue time, sequence) of every stored version of `territory`'s list, oldest first."""
    out = []
    for meta_path in (directory / territory).glob("*.json"):
        meta = json.loads(meta_path.read_text())
        if meta["issued"]:
            out.append((datetime.fromisoformat(meta["issued"]), int(meta["sequence"])))
    return sorted(out)


def _in_force(index: list[tuple[datetime, int]], moment: datetime) -> int | None:
    found = [seq for issued, seq in index if issued <= moment]
    return found[-1] if found else None


def verify_in_force(
    container: bytes,
    *,
    policy: crypto.Policy,
    current: TrustStore,
    watch: TrustWatch | None,
    fetcher: crypto.Fetcher | None,
    at: datetime,
) -> crypto.Verdict:
    """The verdict against the list versions in force at the signature's time stamp (ADR
    0005): first against `current`, which also yields that time; again against the older
    stored versions only when a list changed since (rare at intake: time stamps are fresh).
    Intake and `sigsvc verify --trust-dir` both judge this way."""
    verdict = crypto.verify(container, policy=policy, trust=current, fetcher=fetcher, at=at)
    if watch is None or verdict.signing_time is None:
        return verdict
    older = watch.in_force(verdict.signing_time)
    if older is None:
        return verdict
    log.info("trust.version_in_force", lists=describe(older))
    return crypto.verify(container, policy=policy, trust=older, fetcher=fetcher, at=at)


def stale_lists(trust: TrustStore, now: datetime, grace: timedelta) -> list[str]:
    """Lists past their NextUpdate plus `grace` at `now` ("LV #41")."""
    return [
        f"{info.territory} #{info.sequence}"
        for info in trust.lists
        if info.next_update is not None and now > info.next_update + grace
    ]


def describe(trust: TrustStore) -> list[dict[str, Any]]:
    """For /readyz: each list's territory, sequence, issue and next update."""
    return [
        {
            "territory": info.territory,
            "sequence": info.sequence,
            "issued": info.issued.isoformat() if info.issued else None,
            "next_update": info.next_update.isoformat() if info.next_update else None,
        }
        for info in trust.lists
    ]


class TrustWatch:
    """Reloads a worker's TrustStore when `current.json` changes (checked at most every
    `interval` seconds, from the request path; the rebuild happens outside any request lock)."""

    def __init__(
        self,
        directory: Path,
        lotl_signers: Sequence[bytes],
        test_anchors: Sequence[bytes] = (),
        interval: float = 5.0,
    ) -> None:
        self.directory = directory
        self.lotl_signers = tuple(lotl_signers)
        self.test_anchors = tuple(test_anchors)
        self.interval = interval
        self._seen = self._stamp()
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self._versions_lock = threading.Lock()  # not `_lock`: changed() holds it over load()
        self._current: dict[str, int] = {}
        self._index: dict[str, list[tuple[datetime, int]]] = {}
        self._older: dict[tuple[tuple[str, int], ...], TrustStore] = {}

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.directory / CURRENT).stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def load(self) -> TrustStore:
        """The current versions' store; also re-reads which versions exist (`in_force`)."""
        current = _read_current(self.directory)
        store = load(self.directory, self.lotl_signers, test_anchors=self.test_anchors)
        index = {t: _issued_index(self.directory, t) for t in current}
        with self._versions_lock:
            self._current, self._index = current, index
        return store

    def in_force(self, moment: datetime) -> TrustStore | None:
        """The store of the versions in force at `moment` (each territory's list issued last
        at or before it), or None when those are the current ones (the usual case at intake:
        a signature time-stamped minutes ago). Older stores are kept, a few at a time."""
        with self._versions_lock:
            current, index = self._current, self._index
        versions = {
            t: _in_force(index.get(t, []), moment) or seq for t, seq in sorted(current.items())
        }
        if versions == current:
            return None
        key = tuple(sorted(versions.items()))
        with self._versions_lock:
            hit = self._older.get(key)
        if hit is None:
            hit = load(
                self.directory, self.lotl_signers, versions=versions, test_anchors=self.test_anchors
            )
            with self._versions_lock:
                if len(self._older) >= 4:
                    self._older.pop(next(iter(self._older)))
                self._older[key] = hit
        return hit

    def changed(self) -> TrustStore | None:
        """A new TrustStore when the stored current versions changed since the last look."""
        if time.monotonic() - self._checked < self.interval or not self._lock.acquire(False):
            return None
        try:
            self._checked = time.monotonic()
            stamp = self._stamp()
            if stamp == self._seen:
                return None
            store = self.load()
            self._seen = stamp
            log.info("trust.reloaded", lists=describe(store))
            return store
        finally:
            self._lock.release()


class RefreshSchedule:
    """The service's own refresh: one daemon thread per worker process, `refresh` every
    `interval` seconds; an flock on the directory makes one worker at a time do the work."""

    def __init__(
        self, settings: RefreshSettings, interval: float, clock: Callable[[], datetime]
    ) -> None:
        self.settings = settings
        self.interval = interval
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trust-refresh", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()

    def run_once(self) -> list[ListVersion] | None:
        import fcntl

        self.settings.directory.mkdir(parents=True, exist_ok=True)
        with open(self.settings.directory / ".refresh.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # another worker is refreshing now
            try:
                return refresh(self.settings, now=self.clock())
            except TrustRefreshError as exc:
                log.error("trust.refresh_failed", detail=str(exc))
                return None
