"""Certificate paths at the signing time (pyhanko-certvalidator), trust source and TL status.

Steps follow ETSI EN 319 102-1 §5.2.6 (X.509 certificate validation): build a path to a trust
anchor, check the anchor's trusted-list status at the signing time, then validate the path
(RFC 5280 §6.1) with revocation at that time.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypeVar, cast
from urllib.parse import urlsplit

from asn1crypto import ocsp, x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509 import load_der_x509_certificate
from pyhanko_certvalidator import errors as cv_errors
from pyhanko_certvalidator.authority import AuthorityWithCert, TrustAnchor
from pyhanko_certvalidator.context import ValidationContext
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import CertificateRegistry, TrustManager
from pyhanko_certvalidator.validate import async_validate_path

from crypto._internal import budget, names, responders, shared, signer_step
from crypto.errors import (
    CertExpired,
    CertNotYetValid,
    CertRevoked,
    FetchError,
    RevocationUnavailable,
    TimestampInvalid,
    TrustListError,
    UntrustedChain,
    VerificationError,
    WeakAlgorithm,
)
from crypto.fetcher import Fetcher
from crypto.reasons import SubIndication
from crypto.trust import (
    CA_QC_URI,
    QTST_URI,
    TEST_ANCHOR,
    TRUSTED_LIST,
    TrustStore,
    load_certificates,
)

T = TypeVar("T")
names.install()  # name comparisons dominate path building and OCSP responder checks
responders.install()  # a CA's OCSP responder certificate checked once, not per response
_TOLERANCE = timedelta(seconds=1)
_LOCAL = threading.local()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run on this thread's own event loop (asyncio.run would build and tear one down each time)."""
    loop = getattr(_LOCAL, "loop", None)
    if loop is None or loop.is_closed():
        loop = _LOCAL.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)


_SIGNER_REVOCATION = CertRevTrustPolicy(
    RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
        intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
    ),
    retroactive_revinfo=True,  # freshness is our explicit policy (crypto._internal.revocation)
)
_NO_REVOCATION = CertRevTrustPolicy(
    RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.NO_CHECK,
        intermediate_ca_cert_rule=RevocationCheckingRule.NO_CHECK,
    )
)


@dataclass(frozen=True)
class TrustedPath:
    path: ValidationPath
    anchor: x509.Certificate
    source: str  # TRUSTED_LIST | TEST_ANCHOR

    def pairs(self) -> list[tuple[x509.Certificate, x509.Certificate]]:
        """(cert, issuer) from the leaf up to the anchor's child."""
        certs = list(self.path.iter_certs(include_root=True))
        return [(certs[i], certs[i - 1]) for i in range(len(certs) - 1, 0, -1)]

    def chain_der(self) -> tuple[bytes, ...]:
        certs = list(self.path.iter_certs(include_root=True))[:-1]
        return tuple(c.dump() for c in reversed(certs))


# Path search bounds (RFC 4158 §2.4 calls unbounded search a denial-of-service vector): a
# time-stamp token of 15 same-name certificates made the exhaustive search never finish.
MAX_PATH_DEPTH = 6  # certificates below the anchor; real EU chains have 1-3
MAX_CANDIDATES_PER_STEP = 4  # same-name issuers tried for one certificate
MAX_SEARCH_STEPS = 64  # candidate links examined in one search, over all branches


class _SearchFailed(Exception):
    """No path; `forged` is a link refusal worth reporting over a bare "no path"."""

    def __init__(self, message: str, forged: UntrustedChain | None) -> None:
        super().__init__(message)
        self.forged = forged


def _identity(cert: x509.Certificate) -> bytes:
    return bytes(cert.sha256)


def _search(
    leaf: x509.Certificate, others: list[x509.Certificate], manager: TrustManager
) -> ValidationPath:
    """Depth-first, bounded search; the first path whose every link verifies wins.

    At each step anchors come first, then pool certificates whose key identifier matches the
    child's authority key identifier, then the other same-name candidates (at most
    MAX_CANDIDATES_PER_STEP in all). Each link's signature is verified before descending, so
    same-name decoys are dropped at one signature check each.
    """
    anchor = manager.as_trust_anchor(AuthorityWithCert(leaf))
    if anchor is not None:
        return ValidationPath(anchor, [], None)
    registry = CertificateRegistry.build(others)
    steps = 0
    forged: UntrustedChain | None = None

    def extend(chain: list[x509.Certificate], seen: set[bytes]) -> ValidationPath | None:
        nonlocal steps, forged
        cert = chain[-1]
        aki = cert.authority_key_identifier
        anchors: list[TrustAnchor] = []
        issuers: list[x509.Certificate] = []
        for candidate in registry.find_potential_issuers(cert, manager):
            if isinstance(candidate, TrustAnchor):
                anchors.append(candidate)
            elif _identity(candidate) not in seen:
                issuers.append(candidate)
            if len(anchors) + len(issuers) >= 2 * MAX_CANDIDATES_PER_STEP:
                break
        issuers.sort(key=lambda c: not (aki is not None and c.key_identifier == aki))
        for candidate in [*anchors, *issuers][:MAX_CANDIDATES_PER_STEP]:
            steps += 1
            budget.check("certificate path search")
            if steps > MAX_SEARCH_STEPS:
                raise _SearchFailed(f"path search gave up after {MAX_SEARCH_STEPS} steps", forged)
            issuer_cert = (
                candidate.authority.certificate  # type: ignore[attr-defined]
                if isinstance(candidate, TrustAnchor)
                else candidate
            )
            if isinstance(issuer_cert, x509.Certificate) and not _weak_hash(cert):
                try:
                    check_issued_by(cert, issuer_cert)
                except UntrustedChain as exc:
                    forged = forged or exc
                    continue
            if isinstance(candidate, TrustAnchor):
                return ValidationPath(candidate, chain[1:][::-1], leaf)
            if len(chain) >= MAX_PATH_DEPTH:
                continue
            found = extend([*chain, candidate], seen | {_identity(candidate)})
            if found is not None:
                return found
        return None

    found = extend([leaf], {_identity(leaf)})
    if found is None:
        raise _SearchFailed(f"no issuer of {leaf.issuer.human_friendly} leads to one", forged)
    return found


def _anchor_cert(path: ValidationPath) -> x509.Certificate:
    cert = path.trust_anchor.authority.certificate  # type: ignore[attr-defined]
    assert isinstance(cert, x509.Certificate)
    return cert


def trusted_path(
    leaf: x509.Certificate,
    others: list[x509.Certificate],
    trust: TrustStore,
    moment: datetime,
    service_type: str = CA_QC_URI,
    error: type[VerificationError] = UntrustedChain,
    fetcher: Fetcher | None = None,
) -> TrustedPath:
    """1. Build paths to a listed service or a test anchor (shortest first).

    The path found above a leaf is shared (crypto._internal.shared) with every later leaf of
    the same issuer name and key identifier that comes with the same other certificates, under
    the same trust version, and whose signature verifies with the path's first issuer: exactly
    the path the search would find for it. A path that needed fetched issuers is not shared
    (the next fetch may fail). validate() still checks every link of the path it is given."""
    manager = trust.trust_manager if service_type == CA_QC_URI else trust.tsa_trust_manager
    key = (
        "path",
        trust.version,
        service_type,
        leaf.issuer.dump(),
        leaf.authority_key_identifier,
        tuple(_digest(c) for c in others),
    )
    found = trust.checks.get(key, moment)
    if found is not None and manager.as_trust_anchor(AuthorityWithCert(leaf)) is None:
        anchor, interm_ders, source = cast(_SharedPath, found)
        interm = [trust.shared_certificate(der) for der in interm_ders]
        path = ValidationPath(anchor, interm, leaf)
        certs = list(path.iter_certs(include_root=True))  # anchor, ..., leaf's issuer, leaf
        if isinstance(certs[-2], x509.Certificate) and _verifies(leaf, certs[-2]):
            return TrustedPath(path, _anchor_cert(path), source)
    tp, fetched = _find_path(leaf, others, trust, manager, error, fetcher)
    if not fetched and tp.path.leaf is not None:
        interm = list(tp.path.iter_certs(include_root=False))[:-1]
        shared_path: _SharedPath = (
            tp.path.trust_anchor,
            tuple(c.dump() for c in interm),
            tp.source,
        )
        trust.checks.put(key, shared.Window(None, None), shared_path)  # search needs no time
    return tp


_SharedPath = tuple[TrustAnchor, tuple[bytes, ...], str]


def _verifies(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """As the search judges a link (a weak hash is refused as such by check_links)."""
    if _weak_hash(cert):
        return True
    try:
        check_issued_by(cert, issuer)
    except UntrustedChain:
        return False
    return True


def check_links(tp: TrustedPath) -> None:
    """Each link's signature hash and signature, from the leaf up (the first failure raises).
    The links above the leaf's own are checked once per pair of certificates and shared."""
    for index, (cert, issuer) in enumerate(tp.pairs()):
        if index == 0:
            check_signature_hash(cert)
            check_issued_by(cert, issuer)
            continue
        shared.remembered(
            "link",
            (_digest(cert), _digest(issuer)),
            _EPOCH,
            lambda: shared.Window(None, None),  # a signature verifies or not, at any time
            lambda cert=cert, issuer=issuer: _check_link(cert, issuer),  # type: ignore[misc]
        )


def _check_link(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    check_signature_hash(cert)
    check_issued_by(cert, issuer)
    return True


def _digest(cert: x509.Certificate) -> bytes:
    return hashlib.sha256(cert.dump()).digest()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _find_path(
    leaf: x509.Certificate,
    others: list[x509.Certificate],
    trust: TrustStore,
    manager: TrustManager,
    error: type[VerificationError],
    fetcher: Fetcher | None,
) -> tuple[TrustedPath, bool]:
    """The path, and whether it needed issuers fetched through caIssuers."""
    pool = [*others, *trust.known_certificates()]
    fetched: list[x509.Certificate] = []
    try:
        path = _search(leaf, pool, manager)
    except _SearchFailed as exc:
        # 1a. Missing intermediates: follow caIssuers (RFC 5280 §4.2.2.1) through the fetcher.
        # Not when an issuer was there and its signature did not verify: nothing is fetched on
        # behalf of a forged certificate.
        if exc.forged is not None:
            _refuse(error, exc)
        fetched = _fetch_issuers(leaf, fetcher, trust) if fetcher is not None else []
        if not fetched:
            _refuse(error, exc)
        try:
            path = _search(leaf, [*pool, *fetched], manager)
        except _SearchFailed as exc2:
            _refuse(error, exc2)
    anchor = _anchor_cert(path)
    if trust.is_test_anchor(anchor):
        return TrustedPath(path, anchor, TEST_ANCHOR), bool(fetched)
    # Any service on the list anchors the chain (as in EU DSS); whether it was *granted*
    # at the signing time decides qualification (NOT_QUALIFIED) or, for TSAs, validity.
    return TrustedPath(path, anchor, TRUSTED_LIST), bool(fetched)


def _refuse(error: type[VerificationError], exc: _SearchFailed) -> NoReturn:
    if exc.forged is not None and error is UntrustedChain:
        raise exc.forged from exc  # a link that does not verify says more than "no path"
    raise error(f"no path to a trusted anchor: {exc}") from exc


_MAX_AIA_DEPTH = 4


_WEAK_CERT_HASHES = frozenset({"md2", "md5", "sha1"})


def check_signature_hash(cert: x509.Certificate) -> None:
    """A certificate signed with a broken hash is WEAK_ALGORITHM (ETSI TS 119 312), whatever
    else is wrong with its path: the signature is not worth verifying (so the path search does
    not verify it either, and links it by name and key identifier)."""
    if _weak_hash(cert):
        algo = cert["signature_algorithm"].hash_algo
        raise WeakAlgorithm(f"{cert.subject.human_friendly} is signed with {algo.upper()}")


def _weak_hash(cert: x509.Certificate) -> bool:
    try:
        return cert["signature_algorithm"].hash_algo in _WEAK_CERT_HASHES
    except ValueError:  # e.g. Ed25519: no separate hash
        return False


def check_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    """The certificate's signature verifies with the issuer's key (RFC 5280 §6.1.3 (a)(1))."""
    check_signature_hash(cert)  # cryptography ≥ 50 no longer verifies SHA-1: say why first
    try:
        child = load_der_x509_certificate(cert.dump())
        child.verify_directly_issued_by(load_der_x509_certificate(issuer.dump()))
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
        raise UntrustedChain(
            f"{cert.subject.human_friendly} is not signed by its issuer: {exc}",
            subindication=SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
        ) from exc


def _ca_issuer_urls(cert: x509.Certificate) -> list[str]:
    aia = cert.authority_information_access_value
    if aia is None:
        return []
    return [
        str(ad["access_location"].native)
        for ad in aia
        if ad["access_method"].native == "ca_issuers"
        and str(ad["access_location"].native).startswith(("http://", "https://"))
    ]


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def _vouched_origins(trust: TrustStore) -> set[tuple[str, str, int | None]]:
    """Where listed CAs/QTSTs, test anchors and configured intermediates publish (their own
    caIssuers, OCSP and CRL URLs): the only places a missing issuer is fetched from."""
    origins = set()
    for cert in (*trust.known_certificates(), *trust.tl_tsa_certs):
        for url in [*_ca_issuer_urls(cert), *cert.ocsp_urls, *_crl_urls(cert)]:
            origin = _origin(url)
            if origin is not None:
                origins.add(origin)
    return origins


def _crl_urls(cert: x509.Certificate) -> list[str]:
    urls = []
    for dp in cert.crl_distribution_points:
        try:
            url = dp.url
        except ValueError:
            continue
        if isinstance(url, str):
            urls.append(url)
    return urls


def _fetch_issuers(
    cert: x509.Certificate, fetcher: Fetcher, trust: TrustStore
) -> list[x509.Certificate]:
    """Issuer certificates named by caIssuers URLs, up to a few levels (the fetcher caches).

    An outage that leaves a certificate without its issuer is REVOCATION_UNAVAILABLE (TRY_LATER):
    the same container can pass later, so it must not become a permanent UNTRUSTED_CHAIN.

    A certificate that does not chain names URLs of its author's choosing (SSRF: loopback,
    cloud metadata, ...). So a caIssuers URL is followed only when trusted material vouches for
    its origin (scheme, host, port): a listed service or anchor publishes there. Anything else
    is never requested, whatever the fetcher would allow. With TEST/DEMO anchors configured
    (never in production) a root anchor names no URLs, so caIssuers are followed as before; the
    fetcher's own address rules still apply.
    """
    vouched = None if trust.has_test_anchors else _vouched_origins(trust)
    found: list[x509.Certificate] = []
    current = cert
    for _ in range(_MAX_AIA_DEPTH):
        urls = [u for u in _ca_issuer_urls(current) if vouched is None or _origin(u) in vouched]
        urls = urls[:2]
        issuer = None
        outages: list[str] = []
        for url in urls:
            try:
                candidates = load_certificates(fetcher.certificate(url))
            except FetchError as exc:
                outages.append(exc.message)
                continue
            except TrustListError:
                continue
            for candidate in candidates:
                if candidate.subject == current.issuer:
                    issuer = candidate
                    break
            if issuer is not None:
                break
        if issuer is None and outages:
            raise FetchError("issuer certificate unavailable: " + "; ".join(outages))
        if issuer is None or issuer.self_signed != "no":
            if issuer is not None:
                found.append(issuer)
            break
        found.append(issuer)
        current = issuer
    return found


def validate(
    tp: TrustedPath,
    trust: TrustStore,
    moment: datetime,
    ocsps: Sequence[bytes | ocsp.OCSPResponse],
    crls: list[bytes],
    with_revocation: bool = True,
) -> None:
    """3. RFC 5280 §6.1 path validation at `moment`, revocation from the given data only
    (OCSP responses as DER, or as parsed by crypto._internal.revocation for this request).

    The part of the path above the signer is validated once and shared where that is known to
    give the same outcome (crypto._internal.signer_step); per request only the signer's step
    runs. Anything else, and any failure of either part, validates the whole path here."""
    policy = _SIGNER_REVOCATION if with_revocation else _NO_REVOCATION
    responses = [responders.with_shared_certificates(o, trust.parse_certificate) for o in ocsps]
    # Only where a verification shares its checks: alone, the split would be pure overhead.
    parts = signer_step.split(tp.path, policy, crls) if shared.CURRENT.get() else None
    if parts is not None and _split_valid(parts, trust, moment, responses, crls, policy):
        return
    context = ValidationContext(
        trust_manager=trust.anchor_manager(tp.anchor),
        other_certs=(),  # the path is given: nothing to build, nothing to register
        moment=moment,
        ocsps=responses,
        crls=crls,
        revinfo_policy=policy,
        time_tolerance=_TOLERANCE,
    )
    try:
        _run(async_validate_path(context, tp.path))
    except cv_errors.RevokedError as exc:
        raise CertRevoked(str(exc)) from exc
    except cv_errors.ExpiredError as exc:
        raise CertExpired(str(exc)) from exc
    except cv_errors.NotYetValidError as exc:
        raise CertNotYetValid(str(exc)) from exc
    except cv_errors.InsufficientRevinfoError as exc:
        # Evidence was given (crypto._internal.revocation) but does not prove the status:
        # e.g. signed by a responder the issuer did not authorise. Permanent, not "try later".
        raise RevocationUnavailable(
            f"revocation data present but not usable: {exc}",
            subindication=SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
        ) from exc
    except cv_errors.DisallowedAlgorithmError as exc:
        raise WeakAlgorithm(str(exc)) from exc
    except (cv_errors.PathValidationError, cv_errors.InvalidCertificateError) as exc:
        raise UntrustedChain(
            str(exc), subindication=SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
        ) from exc


def _split_valid(
    parts: signer_step.Split,
    trust: TrustStore,
    moment: datetime,
    responses: list[ocsp.OCSPResponse],
    crls: list[bytes],
    policy: CertRevTrustPolicy,
) -> bool:
    """The part above the signer (shared) and the signer's step both pass. False on any
    failure, expected or not: the whole path is then validated and reports what it finds."""

    def above() -> bool:
        if not signer_step.hands_down_initial_state(parts.above):
            raise _NotSplit
        context = ValidationContext(
            trust_manager=trust.anchor_manager(_anchor_cert(parts.above)),
            other_certs=(),
            moment=moment,
            ocsps=responses,
            crls=crls,
            revinfo_policy=parts.above_policy,
            time_tolerance=_TOLERANCE,
        )
        _run(async_validate_path(context, parts.above))
        return True

    try:
        shared.remembered(
            "path-above-signer",
            (*parts.above_key, parts.above_policy, _TOLERANCE),
            moment,
            parts.window,
            above,
        )
        # The manager outlives this request (one per issuer and store): built on the store's
        # fully parsed instance, never on this request's lazily parsed one.
        issuer = trust.shared_certificate(_anchor_cert(parts.signer).dump())
        context = ValidationContext(
            trust_manager=trust.anchor_manager(issuer),
            other_certs=(),
            moment=moment,
            ocsps=responses,
            crls=crls,
            revinfo_policy=policy,
            time_tolerance=_TOLERANCE,
        )
        _run(async_validate_path(context, parts.signer))
    except Exception:  # any failure: the whole path is validated next and says what failed
        return False
    return True


class _NotSplit(Exception):
    """The certificates above the signer do not hand down the anchor's initial state."""


def trusted_tsa(
    tsa_cert: x509.Certificate,
    token_certs: tuple[x509.Certificate, ...],
    trust: TrustStore,
    gen_time: datetime,
    fetcher: Fetcher | None = None,
) -> TrustedPath | None:
    """The TSA is a granted QTST at genTime (TS 119 612 service status history) or test-anchored.

    Returns the TSA certificate's path when it chains to an anchor (its revocation at genTime is
    then the caller's next check); None when the TSA certificate itself is the listed service
    or the test anchor (its trusted-list status is its status).
    """
    if tsa_cert.dump() in trust.tl_tsa_ders:
        if trust.granted_services(tsa_cert, gen_time, QTST_URI):
            return None
        raise TimestampInvalid("the TSA was not a granted QTST at the time stamp's genTime")
    if trust.is_test_anchor(tsa_cert):
        return None
    tp = trusted_path(
        tsa_cert, list(token_certs), trust, gen_time, QTST_URI, TimestampInvalid, fetcher
    )
    if tp.source == TRUSTED_LIST and not trust.granted_services(tp.anchor, gen_time, QTST_URI):
        raise TimestampInvalid("the TSA's service was not a granted QTST at genTime")
    certs = list(tp.path.iter_certs(include_root=True))

    def check() -> bool:
        try:
            validate(tp, trust, gen_time, [], [], with_revocation=False)
        except VerificationError as exc:
            raise TimestampInvalid(f"TSA certificate path: {exc.message}") from exc
        return True

    # The TSA certificate's path (signatures, names, extensions, validity at genTime) is the
    # same for every time stamp of that unit: checked once per path and validity window.
    shared.remembered(
        "tsa-path",
        tuple(_digest(c) for c in certs),
        gen_time,
        lambda: shared.validity(*certs[1:]),  # pyhanko checks all but the anchor's validity
        check,
    )
    return tp
