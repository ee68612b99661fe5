"""Revocation evidence for a certificate at the signing time (ETSI EN 319 102-1 §5.2.6, §5.6).

The one freshness rule (README, docs/adr/0005-revocation-and-time.md): evidence about a
certificate proves it unrevoked at the time stamp T when
- it was produced at or after T (minus a minute of clock skew), at any delay, while the
  certificate was still valid (or the OCSP responder's archive cutoff covers its expiry); a
  delay beyond `Policy.ocsp_max_delay` (15 min) is accepted with a "not fresh" warning, as
  digidoc4j and SiVa do; or
- it was produced before T, at most `Policy.revocation_max_age` before, and its nextUpdate
  covers T.
Embedded evidence is used first; when none of it meets the rule the injected fetcher is asked
for fresh evidence (at intake that is always after T). Whether the evidence is signed by an
authorised responder and what it says is decided by pyhanko-certvalidator (crypto._internal.chain).
Outages are REVOCATION_UNAVAILABLE/TRY_LATER (retryable); a permanent lack of evidence is
REVOCATION_UNAVAILABLE/CERTIFICATE_CHAIN_GENERAL_FAILURE with what was found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asn1crypto import crl, ocsp, x509

from crypto.errors import FetchError, RevocationUnavailable, UnsafeInput
from crypto.fetcher import Fetcher
from crypto.policy import Policy, SizeLimits
from crypto.reasons import SubIndication

_TOLERANCE = timedelta(seconds=60)  # clock skew between TSA and OCSP responder
_MAX_URLS = 4  # never follow more URLs than this from one certificate
_PERMANENT = SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE


@dataclass
class Revinfo:
    ocsps: list[bytes] = field(default_factory=list)
    crls: list[bytes] = field(default_factory=list)
    fetched: bool = False  # the signing certificate's evidence came from the fetcher
    # The earliest revocation the accepted evidence reports for the certificate checked first
    # (time, reason): after the time stamp it is a verdict line, not a reject (EN 319 102-1).
    revoked: tuple[datetime, str] | None = None
    # The accepted OCSP responses as parsed here, so that path validation reads each one once.
    parsed: dict[bytes, ocsp.OCSPResponse] = field(default_factory=dict)

    def ocsp_responses(self) -> list[bytes | ocsp.OCSPResponse]:
        return [self.parsed.get(der, der) for der in self.ocsps]


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


@dataclass(frozen=True)
class _About:
    """What one OCSP response or CRL says about one certificate, for the freshness rule."""

    kind: str  # "OCSP response" | "CRL"
    this_update: datetime
    next_update: datetime | None
    archive_cutoff: datetime | None = None
    revoked: tuple[datetime, str] | None = None  # (revocation time, reason) when it says so


def _ocsp_about(
    der: bytes,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    limits: SizeLimits,
    parsed: dict[bytes, ocsp.OCSPResponse],
) -> _About | str:
    """The response's single answer about `cert`, or why there is none (a true message);
    the parsed response is left in `parsed`.

    A response padded with entries or certificates is refused before anything iterates over
    them (10,000 entries cost 10 s of CPU in path validation before this bound).
    """
    try:
        response = parsed[der] = ocsp.OCSPResponse.load(der)
        status = response["response_status"].native
        if status != "successful":
            return f"OCSP responder answered {status}"
        basic = response["response_bytes"]["response"].parsed
        tbs = basic["tbs_response_data"]
        responses = tbs["responses"]
        if len(responses) > limits.max_ocsp_entries:
            raise UnsafeInput(
                f"OCSP response with {len(responses)} entries (limit {limits.max_ocsp_entries})"
            )
        bag = basic["certs"]
        if bag and len(bag) > limits.max_certificate_bag:
            raise UnsafeInput(
                f"OCSP response with {len(bag)} certificates (limit {limits.max_certificate_bag})"
            )
        cutoff = None
        for ext in tbs["response_extensions"] or ():
            if ext["extn_id"].native == "archive_cutoff":
                cutoff = ext["extn_value"].parsed.native
        for single in responses:
            cert_id = single["cert_id"]
            alg = cert_id["hash_algorithm"]["algorithm"].native
            key_hash = getattr(issuer.public_key, alg, None)
            if (
                cert_id["serial_number"].native == cert.serial_number
                and key_hash is not None
                and cert_id["issuer_key_hash"].native == key_hash
            ):
                status = single["cert_status"]
                revoked = None
                if status.name == "revoked":
                    info = status.chosen
                    revoked = (
                        info["revocation_time"].native,
                        info["revocation_reason"].native or "unspecified",
                    )
                return _About(
                    "OCSP response",
                    single["this_update"].native,
                    single["next_update"].native,
                    cutoff,
                    revoked,
                )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return f"unreadable OCSP response ({type(exc).__name__})"
    return "OCSP response about another certificate"


def _crl_about(der: bytes, cert: x509.Certificate, limits: SizeLimits) -> _About | str:
    try:
        tbs = crl.CertificateList.load(der)["tbs_cert_list"]
        if tbs["issuer"] != cert.issuer:
            return "CRL of another issuer"
        revoked = tbs["revoked_certificates"]
        if revoked and len(revoked) > limits.max_crl_entries:
            raise UnsafeInput(f"CRL with {len(revoked)} entries (limit {limits.max_crl_entries})")
        revoked_entry = None
        serial = cert["tbs_certificate"]["serial_number"].dump()
        for entry in revoked or ():
            if entry["user_certificate"].dump() == serial:
                revoked_entry = (
                    entry["revocation_date"].native,
                    entry.crl_reason_value.native if entry.crl_reason_value else "unspecified",
                )
                break
        return _About(
            "CRL", tbs["this_update"].native, tbs["next_update"].native, revoked=revoked_entry
        )
    except (ValueError, TypeError, KeyError) as exc:
        return f"unreadable CRL ({type(exc).__name__})"


def _judge(about: _About, cert: x509.Certificate, ts: datetime, policy: Policy) -> str | None:
    """None if `about` can prove `cert` unrevoked at `ts` (the module's rule), else why not."""
    if about.this_update >= ts - _TOLERANCE:
        covered = about.archive_cutoff is not None and about.archive_cutoff <= cert.not_valid_after
        if about.this_update > cert.not_valid_after and not covered:
            return f"{about.kind} produced after the certificate expired"
        return None
    if (
        about.next_update is not None
        and ts <= about.next_update
        and ts - about.this_update <= policy.revocation_max_age
    ):
        return None
    return f"{about.kind} produced {about.this_update:%Y-%m-%d %H:%M:%S}, before the time stamp"


def _delay_warning(about: _About, ts: datetime, policy: Policy) -> str | None:
    delay = about.this_update - ts
    if delay <= policy.ocsp_max_delay:
        return None
    hours, rest = divmod(int(delay.total_seconds()) // 60, 60)
    return (
        f"{about.kind} not fresh: produced {hours} h {rest} min after the time stamp "
        f"(over {int(policy.ocsp_max_delay.total_seconds() // 60)} min); accepted because the "
        "certificate was still valid then (EN 319 102-1)"
    )


def evidence(
    path: list[tuple[x509.Certificate, x509.Certificate]],
    embedded_ocsps: tuple[bytes, ...],
    embedded_crls: tuple[bytes, ...],
    fetcher: Fetcher | None,
    ts: datetime,
    policy: Policy,
    warnings: list[str],
    *,
    fetch_first: bool = False,
) -> Revinfo:
    """Evidence for `path` ((cert, issuer) pairs, the certificate to check first) at `ts`.

    Appends "not fresh" and similar notes to `warnings` even when it raises.
    """
    out = Revinfo()
    leaf, issuer = path[0]
    problems: list[str] = []
    used: list[_About] = []  # what the accepted evidence says (parsed once)
    if not fetch_first:
        for der in embedded_ocsps:
            about = _ocsp_about(der, leaf, issuer, policy.limits, out.parsed)
            if _consider(about, der, leaf, ts, policy, out.ocsps, problems):
                assert isinstance(about, _About)
                used.append(about)
        for der in embedded_crls:
            about = _crl_about(der, leaf, policy.limits)
            if _consider(about, der, leaf, ts, policy, out.crls, problems):
                assert isinstance(about, _About)
                used.append(about)
    if not out.ocsps and not out.crls:
        if fetcher is None:
            found = "; ".join(p for p in problems if "another" not in p)
            raise RevocationUnavailable(
                f"embedded revocation data does not cover the time stamp ({found}) and "
                "fetching is disabled"
                if found
                else "no embedded revocation data and fetching is disabled"
            )
        used = [_fetch(leaf, issuer, fetcher, ts, policy, out, problems)]
        out.fetched = True
    out.revoked = min((a.revoked for a in used if a.revoked is not None), default=None)
    # A stated revocation time, not the delay, decides about evidence that reports one.
    notes = [n for a in used if a.revoked is None and (n := _delay_warning(a, ts, policy))]
    warnings.extend(notes[:1])
    # Issuing CAs: their CRLs when they declare some (soft when offline, retryable on outage).
    if fetcher is not None:
        for cert, _ in path[1:]:
            for url in _crl_urls(cert):
                der = _as_der(fetcher.crl(url), url)
                _crl_about(der, cert, policy.limits)  # bounds its entries before validation
                out.crls.append(der)
    return out


def _consider(
    about: _About | str,
    der: bytes,
    cert: x509.Certificate,
    ts: datetime,
    policy: Policy,
    into: list[bytes],
    problems: list[str],
) -> bool:
    if isinstance(about, str):
        problems.append(about)
        return False
    why = _judge(about, cert, ts, policy)
    if why is not None:
        problems.append(why)
        return False
    into.append(der)
    return True


def _fetch(
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    fetcher: Fetcher,
    ts: datetime,
    policy: Policy,
    out: Revinfo,
    problems: list[str],
) -> _About:
    outages: list[str] = []
    request = ocsp_request(leaf, issuer)
    for url in leaf.ocsp_urls[:_MAX_URLS]:
        try:
            der = fetcher.ocsp(url, request)
        except FetchError as exc:
            outages.append(f"OCSP {url}: {exc.message}")
            continue
        about = _ocsp_about(der, leaf, issuer, policy.limits, out.parsed)
        if about == "OCSP responder answered try_later":  # RFC 6960 §2.3: an outage
            outages.append(f"OCSP {url}: tryLater")
        elif _consider(about, der, leaf, ts, policy, out.ocsps, problems):
            assert isinstance(about, _About)
            return about
        else:
            problems[-1] = f"OCSP {url}: {problems[-1]}"
    for url in _crl_urls(leaf):
        try:
            der = _as_der(fetcher.crl(url), url)
        except FetchError as exc:
            outages.append(f"CRL {url}: {exc.message}")
            continue
        about = _crl_about(der, leaf, policy.limits)
        if _consider(about, der, leaf, ts, policy, out.crls, problems):
            assert isinstance(about, _About)
            return about
        problems[-1] = f"CRL {url}: {problems[-1]}"
    if outages:
        raise FetchError("revocation responder unavailable: " + "; ".join(outages + problems))
    raise RevocationUnavailable(
        "no usable revocation data: "
        + ("; ".join(problems) or "the certificate names no OCSP responder or CRL"),
        subindication=_PERMANENT,
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


def _as_der(data: bytes, url: str) -> bytes:
    from asn1crypto import pem

    if pem.detect(data):
        try:
            return bytes(pem.unarmor(data)[2])
        except ValueError as exc:
            raise RevocationUnavailable(
                f"{url} returned unreadable PEM", subindication=_PERMANENT
            ) from exc
    return data
