"""Revocation data for the signing certificate: embedded first, else fetched, then freshness.

Whether the data proves "not revoked at the time stamp" is decided by pyhanko-certvalidator
(signatures, responder authorisation, status); this module only finds candidate responses and
applies the explicit freshness policy relative to the time stamp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asn1crypto import crl, ocsp, x509

from crypto.errors import FetchError, RevocationUnavailable, UnsafeInput
from crypto.fetcher import Fetcher
from crypto.policy import Policy, SizeLimits
from crypto.trust import TrustStore

_TOLERANCE = timedelta(seconds=60)  # clock skew between TSA and OCSP responder
_MAX_URLS = 4  # never follow more URLs than this from one certificate


@dataclass
class Revinfo:
    ocsps: list[bytes] = field(default_factory=list)
    crls: list[bytes] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def ocsp_request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """RFC 6960 §4.1 request; CertID with SHA-1 as identifier (§4.3, what responders expect)."""
    request = ocsp.OCSPRequest(
        {
            "tbs_request": {
                "request_list": [
                    {
                        "req_cert": {
                            "hash_algorithm": {"algorithm": "sha1"},
                            "issuer_name_hash": cert.issuer.sha1,
                            "issuer_key_hash": issuer.public_key.sha1,
                            "serial_number": cert.serial_number,
                        }
                    }
                ]
            }
        }
    )
    return bytes(request.dump())


def _ocsp_single(
    der: bytes, cert: x509.Certificate, issuer: x509.Certificate, limits: SizeLimits
) -> ocsp.SingleResponse | None:
    """The SingleResponse about `cert` in a successful basic OCSP response, else None.

    A response padded with entries or certificates is refused before anything iterates over
    them (10,000 entries cost 10 s of CPU in path validation before this bound).
    """
    try:
        response = ocsp.OCSPResponse.load(der)
        if response["response_status"].native != "successful":
            return None
        basic = response["response_bytes"]["response"].parsed
        responses = basic["tbs_response_data"]["responses"]
        if len(responses) > limits.max_ocsp_entries:
            raise UnsafeInput(
                f"OCSP response with {len(responses)} entries (limit {limits.max_ocsp_entries})"
            )
        bag = basic["certs"]
        if bag and len(bag) > limits.max_certificate_bag:
            raise UnsafeInput(
                f"OCSP response with {len(bag)} certificates (limit {limits.max_certificate_bag})"
            )
        for single in responses:
            cert_id = single["cert_id"]
            alg = cert_id["hash_algorithm"]["algorithm"].native
            key_hash = getattr(issuer.public_key, alg, None)
            if (
                cert_id["serial_number"].native == cert.serial_number
                and key_hash is not None
                and cert_id["issuer_key_hash"].native == key_hash
            ):
                return single
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return None


def _fresh(
    this_update: datetime, next_update: datetime | None, ts: datetime, policy: Policy
) -> bool:
    """Issued shortly after the time stamp, or valid across it (explicit policy, see Policy)."""
    if ts - _TOLERANCE <= this_update <= ts + policy.ocsp_max_delay:
        return True
    return next_update is not None and this_update <= ts <= next_update


def _crl_about(
    der: bytes, cert: x509.Certificate, limits: SizeLimits
) -> tuple[datetime, datetime | None] | None:
    try:
        cl = crl.CertificateList.load(der)
        tbs = cl["tbs_cert_list"]
        if tbs["issuer"] != cert.issuer:
            return None
        revoked = tbs["revoked_certificates"]
        if revoked and len(revoked) > limits.max_crl_entries:
            raise UnsafeInput(f"CRL with {len(revoked)} entries (limit {limits.max_crl_entries})")
        this_update = tbs["this_update"].native
        next_update = tbs["next_update"].native
    except (ValueError, TypeError, KeyError):
        return None
    return this_update, next_update


def gather(
    path: list[tuple[x509.Certificate, x509.Certificate]],
    embedded_ocsps: tuple[bytes, ...],
    embedded_crls: tuple[bytes, ...],
    fetcher: Fetcher | None,
    trust: TrustStore,
    ts: datetime,
    policy: Policy,
) -> Revinfo:
    """`path` is (cert, issuer) pairs, signing certificate first."""
    out = Revinfo()
    leaf, issuer = path[0]
    # 1. Embedded OCSP/CRL for the signing certificate (XAdES RevocationValues).
    for der in embedded_ocsps:
        single = _ocsp_single(der, leaf, issuer, policy.limits)
        if single is None:
            continue
        if _fresh(single["this_update"].native, single["next_update"].native, ts, policy):
            out.ocsps.append(der)
        else:
            out.warnings.append("embedded OCSP response is not fresh relative to the time stamp")
    for der in embedded_crls:
        window = _crl_about(der, leaf, policy.limits)
        if window is not None and _fresh(window[0], window[1], ts, policy):
            out.crls.append(der)
    # 2. Else fetch: OCSP from the AIA, then CRLs from the distribution points.
    if not out.ocsps and not out.crls:
        if fetcher is None:
            raise RevocationUnavailable("no embedded revocation data and fetching is disabled")
        _fetch_leaf(leaf, issuer, fetcher, trust, ts, policy, out)
    # 3. Issuing CAs: CRLs when declared; failure to fetch is a warning (checked if present).
    if fetcher is not None:
        for cert, _ in path[1:]:
            for url in _crl_urls(cert):
                try:
                    der = _get_crl(url, fetcher, trust, ts)
                except FetchError as exc:
                    out.warnings.append(f"CA CRL unavailable from {url}: {exc.message}")
                    continue
                _crl_about(der, cert, policy.limits)  # bounds its entries before validation
                out.crls.append(der)
    return out


def _fetch_leaf(
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    fetcher: Fetcher,
    trust: TrustStore,
    ts: datetime,
    policy: Policy,
    out: Revinfo,
) -> None:
    problems: list[str] = []
    request = ocsp_request(leaf, issuer)
    for url in leaf.ocsp_urls[:_MAX_URLS]:
        try:
            der = fetcher.ocsp(url, request)
        except FetchError as exc:
            problems.append(f"OCSP {url}: {exc.message}")
            continue
        single = _ocsp_single(der, leaf, issuer, policy.limits)
        if single is None:
            problems.append(f"OCSP {url}: no usable response about this certificate")
        elif not _fresh(single["this_update"].native, single["next_update"].native, ts, policy):
            problems.append(f"OCSP {url}: response is not fresh relative to the time stamp")
        else:
            out.ocsps.append(der)
            return
    for url in _crl_urls(leaf):
        try:
            der = _get_crl(url, fetcher, trust, ts)
        except FetchError as exc:
            problems.append(f"CRL {url}: {exc.message}")
            continue
        window = _crl_about(der, leaf, policy.limits)
        if window is None:
            problems.append(f"CRL {url}: not a CRL of the signing certificate's issuer")
        elif not _fresh(window[0], window[1], ts, policy):
            problems.append(f"CRL {url}: not fresh relative to the time stamp")
        else:
            out.crls.append(der)
            return
    raise RevocationUnavailable(
        "no usable revocation data: " + ("; ".join(problems) or "certificate names no responder")
    )


def _crl_urls(cert: x509.Certificate) -> list[str]:
    urls: list[str] = []
    for dp in cert.crl_distribution_points:
        try:
            url = dp.url
        except ValueError:
            continue
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            urls.append(url)
    return urls[:_MAX_URLS]


def _get_crl(url: str, fetcher: Fetcher, trust: TrustStore, ts: datetime) -> bytes:
    cached = trust.cached(url, ts)
    if cached is not None:
        return cached
    der = _as_der(fetcher.crl(url))
    try:
        next_update = crl.CertificateList.load(der)["tbs_cert_list"]["next_update"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise FetchError(f"{url} did not return a CRL") from exc
    trust.remember(url, next_update, der)
    return der


def _as_der(data: bytes) -> bytes:
    from asn1crypto import pem

    if pem.detect(data):
        try:
            return bytes(pem.unarmor(data)[2])
        except ValueError as exc:
            raise FetchError("unreadable PEM") from exc
    return data
