"""TrustStore: what the verifier trusts, built once and shared by every verification.

Sources: ETSI TS 119 612 trusted lists (each verified against pinned scheme-operator
certificates at the time it was fetched; an EU LOTL may announce the national lists' operators)
and, for test and demo PKIs only, explicit anchors that are flagged as such in every verdict.
Parsing lists and certificates is the expensive part, so it happens here, once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import pem, x509
from pyhanko.sign.validation.qualified.tsp import (
    CA_QC_URI,
    QTST_URI,
    QualifiedServiceInformation,
    TSPRegistry,
)
from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.registry import SimpleTrustManager

from crypto._internal import shared, tl
from crypto.errors import TrustListError

TRUSTED_LIST = "trusted-list"
TEST_ANCHOR = "test-anchor"


@dataclass(frozen=True, slots=True)
class TrustedListSource:
    """One trusted list as fetched: XML bytes, pinned operator certificates, fetch time."""

    xml: bytes
    signer_certs: tuple[bytes, ...]  # DER or PEM; the list's signature must verify with one
    fetched_at: datetime  # the list's signature and operator certificate are checked then


@dataclass(frozen=True, slots=True)
class TrustedListInfo:
    territory: str | None
    sequence: int | None
    issued: datetime | None
    next_update: datetime | None
    fetched_at: datetime
    stale: bool  # fetched after its NextUpdate


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """One granted period of a trust service, for listing (e.g. `sigsvc trust show`)."""

    kind: str  # "CA/QC" | "QTST"
    name: str
    granted_from: datetime
    granted_until: datetime | None
    certificate_sha256: str


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """DER, or one or more PEM blocks, into certificates (TrustListError if unreadable)."""
    try:
        if pem.detect(data):
            return [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
        return [x509.Certificate.load(data)]
    except (ValueError, TypeError) as exc:
        raise TrustListError(f"not a certificate: {exc}") from exc


def _certs(blobs: Iterable[bytes]) -> list[x509.Certificate]:
    return [c for blob in blobs for c in load_certificates(blob)]


def read_lotl(source: TrustedListSource) -> dict[str, tl.ListReference]:
    """Territory -> (location, operator certificates) from a list of the lists whose signature
    one of `source.signer_certs` verifies at `source.fetched_at` (TrustListError otherwise)."""
    payload = tl.verified_payload(source.xml, _certs(source.signer_certs), source.fetched_at)
    return tl.lotl_references(payload)


def _authority_ders(registry: TSPRegistry) -> set[bytes]:
    return {
        a.certificate.dump()
        for a in registry.known_certificate_authorities
        if isinstance(a, AuthorityWithCert)
    }


class TrustStore:
    """Trusted CA/QC and QTST services and test anchors; immutable after construction."""

    def __init__(
        self,
        *,
        trusted_lists: Sequence[TrustedListSource] = (),
        lotl: TrustedListSource | None = None,
        test_anchors: Sequence[bytes] = (),
        intermediates: Sequence[bytes] = (),
        checks: shared.SharedChecks | None = None,
    ) -> None:
        """Verify and load every list; raise TrustListError on the first that fails.

        With `lotl`, each national list may also be verified by the operator certificates the
        (verified) LOTL announces for its territory. `checks`: where signer-independent check
        outcomes are shared (default: one cache per process, keyed by `version`).
        """
        self.checks = checks if checks is not None else shared.PROCESS_CHECKS
        version = hashlib.sha256(b"sigsvc-trust-v1")
        self.registry = TSPRegistry()
        self._territory: dict[bytes, str | None] = {}  # listed CA certificate -> list territory
        self.lists: list[TrustedListInfo] = []
        self.parse_warnings: list[str] = []
        announced: dict[str, list[x509.Certificate]] = {}
        if lotl is not None:
            payload = tl.verified_payload(lotl.xml, _certs(lotl.signer_certs), lotl.fetched_at)
            announced = tl.lotl_pointers(payload)
        for source in trusted_lists:
            signers = _certs(source.signer_certs)
            claimed = tl.claimed_territory(source.xml) if announced else None
            if claimed is not None:
                signers.extend(announced.get(claimed, []))
            payload = tl.verified_payload(source.xml, signers, source.fetched_at)
            territory, seq, issued, next_update = tl.list_metadata(payload)
            if claimed is not None and territory != claimed:
                raise TrustListError("signed territory differs from the unsigned one")
            before = _authority_ders(self.registry)
            self.parse_warnings.extend(tl.add_to_registry(payload, self.registry))
            for der in _authority_ders(self.registry) - before:
                self._territory[der] = territory
            stale = next_update is not None and source.fetched_at > next_update
            version.update(f"{territory}|{seq}|".encode() + hashlib.sha256(source.xml).digest())
            self.lists.append(
                TrustedListInfo(territory, seq, issued, next_update, source.fetched_at, stale)
            )
        self.test_anchors: tuple[x509.Certificate, ...] = tuple(_certs(test_anchors))
        self.intermediates: tuple[x509.Certificate, ...] = tuple(_certs(intermediates))
        self._test_anchor_keys = frozenset(c.public_key.dump() for c in self.test_anchors)
        for der in (*test_anchors, *intermediates):
            version.update(b"|" + hashlib.sha256(der).digest())
        # Identifies this trust material (each list's territory, sequence number and content,
        # the anchors and intermediates): part of every shared check's key.
        self.version = version.hexdigest()
        ca_certs: dict[bytes, x509.Certificate] = {}
        tsa_certs: dict[bytes, x509.Certificate] = {}
        for authority in self.registry.known_certificate_authorities:
            if isinstance(authority, AuthorityWithCert):
                ca_certs[authority.certificate.dump()] = authority.certificate
        for authority in self.registry.known_timestamp_authorities:
            if isinstance(authority, AuthorityWithCert):
                tsa_certs[authority.certificate.dump()] = authority.certificate
        self.tl_ca_certs = tuple(ca_certs.values())
        self.tl_tsa_certs = tuple(tsa_certs.values())
        self.tl_tsa_ders = frozenset(tsa_certs)
        self.trust_manager = SimpleTrustManager.build(
            trust_roots=[*self.tl_ca_certs, *self.test_anchors]
        )
        self.tsa_trust_manager = SimpleTrustManager.build(
            trust_roots=[*self.tl_tsa_certs, *self.test_anchors]
        )
        # Shared by every verification thread, so fully parsed before anyone can see them
        # (shared.freeze): no thread ever finishes another's lazy parsing, and no lock is held
        # around a verification. The lock below guards single dict operations only.
        for cert in (*self.tl_ca_certs, *self.tl_tsa_certs, *self.test_anchors):
            shared.freeze(cert)
        for cert in self.intermediates:
            shared.freeze(cert)
        self._lock = threading.Lock()
        # Parsed certificates by DER (CA, TSA, OCSP responder certificates recur in every
        # container). A certificate is shared from its second sighting on: a citizen's own
        # certificate usually comes once and is not worth freezing.
        self._parsed: dict[bytes, x509.Certificate] = {
            c.dump(): c for c in (*self.tl_ca_certs, *self.tl_tsa_certs, *self.test_anchors)
        }
        self._seen: dict[bytes, None] = {}
        self._periods: dict[bytes, tuple[QualifiedServiceInformation, ...]] = {}
        self._anchor_managers: dict[bytes, SimpleTrustManager] = {}

    # -- queries used by the verifier ------------------------------------------------------

    @property
    def has_test_anchors(self) -> bool:
        return bool(self.test_anchors)

    def territory_of(self, cert: x509.Certificate) -> str | None:
        """The territory of the trusted list that lists `cert` as a CA/QC service, if any."""
        return self._territory.get(cert.dump())

    def is_test_anchor(self, cert: x509.Certificate) -> bool:
        return cert.public_key.dump() in self._test_anchor_keys

    def granted_services(
        self, cert: x509.Certificate, moment: datetime, service_type: str
    ) -> list[QualifiedServiceInformation]:
        """Service definitions of `service_type` in which `cert` was granted at `moment`.

        Every granted period of a listed certificate is looked up once per store (the registry
        hashes certificate names on every lookup) and filtered by `moment` here, with the
        registry's own rule (from <= moment <= until)."""
        return [
            sd
            for sd in self.service_definitions(cert)
            if sd.base_info.service_type == service_type
            and sd.base_info.valid_from <= moment
            and (not sd.base_info.valid_until or sd.base_info.valid_until >= moment)
        ]

    def service_definitions(
        self, cert: x509.Certificate
    ) -> tuple[QualifiedServiceInformation, ...]:
        """Every service definition `cert` acts for, in the registry's order (pyHanko's
        `applicable_service_definitions(authority, None)`), looked up once per store."""
        key = cert.dump()
        periods = self._periods.get(key)
        if periods is None:
            periods = tuple(
                self.registry.applicable_service_definitions(AuthorityWithCert(cert), None)
            )
            if periods or len(self._periods) < 4096:  # unlisted certificates: bounded
                self._periods[key] = periods
        return periods

    def known_certificates(self) -> tuple[x509.Certificate, ...]:
        return (*self.intermediates, *self.tl_ca_certs, *self.test_anchors)

    def services(self) -> list[ServiceEntry]:
        """Every granted period of every CA/QC and QTST service, sorted by name and start."""
        entries = []
        for kind, authorities in (
            ("CA/QC", self.registry.known_certificate_authorities),
            ("QTST", self.registry.known_timestamp_authorities),
        ):
            for authority in authorities:
                if not isinstance(authority, AuthorityWithCert):
                    continue
                digest = hashlib.sha256(authority.certificate.dump()).hexdigest()
                for sd in self.registry.applicable_service_definitions(authority, None):
                    entries.append(
                        ServiceEntry(
                            kind,
                            sd.base_info.service_name,
                            sd.base_info.valid_from,
                            sd.base_info.valid_until,
                            digest,
                        )
                    )
        return sorted(entries, key=lambda e: (e.kind, e.name, e.granted_from))

    # -- caches of expensive, input-independent work ---------------------------------------

    def parse_certificate(self, der: bytes) -> x509.Certificate:
        """asn1crypto certificate for `der`: the shared, fully parsed one for a certificate seen
        before (bounded cache), else a fresh one of the caller's own."""
        hit = self._parsed.get(der)
        if hit is not None:
            return hit
        digest = hashlib.sha256(der).digest()
        with self._lock:
            again = digest in self._seen
            if not again:
                if len(self._seen) > 8192:
                    self._seen.clear()
                self._seen[digest] = None
        if not again:
            return x509.Certificate.load(der)
        return self.shared_certificate(der)

    def shared_certificate(self, der: bytes) -> x509.Certificate:
        """The shared, fully parsed certificate for `der` (parsed once, bounded cache)."""
        hit = self._parsed.get(der)
        if hit is not None:
            return hit
        cert = shared.freeze(x509.Certificate.load(der))
        with self._lock:
            if len(self._parsed) > 4096:
                self._parsed = {
                    c.dump(): c for c in (*self.known_certificates(), *self.tl_tsa_certs)
                }
            return self._parsed.setdefault(der, cert)

    def anchor_manager(self, anchor: x509.Certificate) -> SimpleTrustManager:
        """A trust manager of `anchor` alone (an anchor, or the validated issuer that a path
        splits at: crypto._internal.signer_step), built once per certificate (bounded)."""
        key = anchor.dump()
        with self._lock:
            hit = self._anchor_managers.get(key)
        if hit is None:
            hit = SimpleTrustManager.build(trust_roots=[anchor])
            with self._lock:
                if len(self._anchor_managers) >= 4096:
                    self._anchor_managers.clear()
                self._anchor_managers[key] = hit
        return hit


ListReference = tl.ListReference

__all__ = [
    "CA_QC_URI",
    "QTST_URI",
    "TEST_ANCHOR",
    "TRUSTED_LIST",
    "ListReference",
    "ServiceEntry",
    "TrustStore",
    "TrustedListInfo",
    "TrustedListSource",
    "load_certificates",
    "read_lotl",
]
