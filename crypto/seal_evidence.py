"""XAdES-BASELINE-LT/-LTA evidence of an operator's seal, judged at a validation time.

Why: a seal proves something years later only if it is known *when* it was made and that its
certificate was valid and not revoked then. The signature time stamp (a TSA's genTime over the
SignatureValue) proves the seal existed at that time; the seal certificate chain and an OCSP
response issued after it, embedded in the seal, prove the certificate was valid and not
revoked then. That stays checkable after the seal certificate expires, for as long as the
newest time stamp can itself be trusted at the validation time. An archive time stamp (LTA)
over everything before it extends this: every older time stamp needs its TSA chain valid only
at the genTime of the next one, the newest at the validation time.

Archive time stamp input (EN 319 132-1 §5.5.2.2, for a signature without further ds:Object):
the referenced data in SignedInfo order (the data file bytes, the canonical SignedProperties),
then canonical SignedInfo, SignatureValue and KeyInfo, then each unsigned signature property
before this archive time stamp, all with the archive time stamp's CanonicalizationMethod.

TSAs are trusted by chaining to the TSA anchors the caller pins (the seal's own trusted-list
qualification is not looked up here). Time is always passed in: nothing reads a clock.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID
from lxml import etree

from crypto._internal import safexml
from crypto._internal.archive import covered_bytes
from crypto._internal.timestamp import VerifiedTimestamp, verify_token
from crypto._internal.xades import SIGNED_PROPERTIES_TYPE, parse_and_verify
from crypto._internal.xmldsig import DS, XADES, XADES141, b64, c14n, one, q
from crypto.errors import VerificationError
from crypto.policy import AlgorithmPolicy, SizeLimits
from crypto.seal import MAX_CHAIN, SealInvalid, _issued_by, _load

C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
_TOLERANCE = timedelta(seconds=60)  # clock skew between TSA and OCSP responder
LEVEL_LT, LEVEL_LTA = "XAdES-BASELINE-LT", "XAdES-BASELINE-LTA"


class SealEvidenceExpired(SealInvalid):
    """The newest time stamp's TSA chain is not valid at the validation time: an archive time
    stamp was due before it expired (the seal itself may be fine)."""


@dataclass(frozen=True, slots=True)
class LtSealInfo:
    """Who sealed, when it is proven they did, and until when the evidence holds."""

    subject: str
    certificate_sha256: str
    signing_time: datetime | None  # the seal's claim
    level: str  # XAdES-BASELINE-LT or -LTA
    sealed_before: datetime  # genTime of the signature time stamp: proof of existence
    timestamps: tuple[datetime, ...]  # genTimes: signature time stamp, then archive ones
    renew_before: datetime  # the newest TSA chain's expiry: add an archive time stamp before
    ocsp_this_update: datetime  # the embedded OCSP "good" for the seal certificate
    validated_at: datetime


@dataclass(frozen=True)
class _Parts:
    signature: etree._Element
    signed_info: etree._Element
    signature_value: etree._Element
    key_info: etree._Element
    signed_properties: etree._Element
    unsigned: etree._Element | None  # xades:UnsignedSignatureProperties


def _parts(root: etree._Element) -> _Parts:
    sig = one(root, q(DS, "Signature"), "ds:Signature", SealInvalid)
    qp = sig.find(f"{q(DS, 'Object')}/{q(XADES, 'QualifyingProperties')}")
    if qp is None:
        raise SealInvalid("no xades:QualifyingProperties")
    return _Parts(
        signature=sig,
        signed_info=one(sig, q(DS, "SignedInfo"), "ds:SignedInfo", SealInvalid),
        signature_value=one(sig, q(DS, "SignatureValue"), "ds:SignatureValue", SealInvalid),
        key_info=one(sig, q(DS, "KeyInfo"), "ds:KeyInfo", SealInvalid),
        signed_properties=one(qp, q(XADES, "SignedProperties"), "SignedProperties", SealInvalid),
        unsigned=qp.find(
            f"{q(XADES, 'UnsignedProperties')}/{q(XADES, 'UnsignedSignatureProperties')}"
        ),
    )


def _archive_input(parts: _Parts, data: bytes, before: int, method: str) -> bytes:
    """Bytes an archive time stamp placed after ``before`` unsigned properties covers (the
    signatures' own rule, crypto._internal.archive)."""
    references: list[tuple[str, etree._Element | bytes]] = [
        ("xml", parts.signed_properties)
        if ref.get("Type") == SIGNED_PROPERTIES_TYPE
        else ("data", data)
        for ref in parts.signed_info.findall(q(DS, "Reference"))
    ]
    return covered_bytes(parts.signature, references, parts.unsigned, before, method, SealInvalid)


def signature_timestamp_input(seal_xml: bytes) -> bytes:
    """What the signature time stamp's imprint hashes: C14N 1.1 of ds:SignatureValue."""
    parts = _parts(safexml.parse(seal_xml, SizeLimits()))
    return c14n(parts.signature_value, C14N_11, SealInvalid)


def archive_timestamp_input(seal_xml: bytes, data: bytes) -> bytes:
    """What a new archive time stamp, appended after every unsigned property, must cover."""
    parts = _parts(safexml.parse(seal_xml, SizeLimits()))
    count = len(parts.unsigned) if parts.unsigned is not None else 0
    return _archive_input(parts, data, count, C14N_11)


def _path(
    cert: x509.Certificate,
    pool: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    what: str,
) -> list[x509.Certificate]:
    """``cert`` .. anchor (inclusive), by signature, through ``pool``."""
    path = [cert]
    for _ in range(MAX_CHAIN):
        if any(cert == anchor for anchor in anchors):
            return path
        anchor = next((a for a in anchors if _issued_by(cert, a)), None)
        if anchor is not None:
            return [*path, anchor]
        issuer = next((c for c in pool if c != cert and _issued_by(cert, c)), None)
        if issuer is None:
            raise SealInvalid(f"{what} does not chain to an anchor")
        cert = issuer
        path.append(cert)
    raise SealInvalid(f"{what} chain is too long")


def _invalid_at(path: Sequence[x509.Certificate], at: datetime) -> x509.Certificate | None:
    return next(
        (c for c in path if not c.not_valid_before_utc <= at <= c.not_valid_after_utc), None
    )


def _timestamp(token: bytes, imprint_input: bytes, algs: AlgorithmPolicy) -> VerifiedTimestamp:
    try:
        return verify_token(token, imprint_input, algs)
    except VerificationError as exc:
        raise SealInvalid(f"seal time stamp: {exc.message}") from exc


def _key_hash(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    bits = asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))["tbs_certificate"][
        "subject_public_key_info"
    ]["public_key"].contents[1:]  # the key bits without the BIT STRING's unused-bits octet
    digest = hashes.Hash(algorithm)
    digest.update(bits)
    return digest.finalize()


def _signed_by(response: ocsp.OCSPResponse, key_cert: x509.Certificate) -> bool:
    public = key_cert.public_key()
    algorithm = response.signature_hash_algorithm
    if algorithm is None:
        return False
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(
                response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm
            )
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(algorithm))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _responder_ok(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, produced: datetime
) -> bool:
    """Signed by the issuer itself, or by a responder it delegated to (RFC 6960 §4.2.2.2)."""
    if _signed_by(response, issuer):
        return True
    for delegate in response.certificates:
        try:
            eku = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            continue
        if (
            ExtendedKeyUsageOID.OCSP_SIGNING in eku
            and _issued_by(delegate, issuer)
            and _invalid_at([delegate], produced) is None
            and _signed_by(response, delegate)
        ):
            return True
    return False


def _not_revoked(
    ders: Sequence[bytes], cert: x509.Certificate, issuer: x509.Certificate, at: datetime
) -> datetime:
    """thisUpdate of an embedded OCSP 'good' for ``cert`` that speaks for time ``at``."""
    problems: list[str] = []
    for der in ders:
        try:
            response = ocsp.load_der_ocsp_response(der)
            if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
                continue
            if response.serial_number != cert.serial_number or response.issuer_key_hash != (
                _key_hash(issuer, response.hash_algorithm)
            ):
                continue
            this_update, next_update = response.this_update_utc, response.next_update_utc
            status, produced = response.certificate_status, response.produced_at_utc
        except ValueError as exc:  # malformed, or several single responses
            problems.append(str(exc))
            continue
        if not _responder_ok(response, issuer, produced):
            problems.append("OCSP response not signed by the issuer or its responder")
            continue
        if status == ocsp.OCSPCertStatus.REVOKED:
            raise SealInvalid("the seal certificate is revoked (embedded OCSP)")
        if status != ocsp.OCSPCertStatus.GOOD:
            problems.append(f"OCSP status {status.name}")
            continue
        # Issued at or after the time stamp, or valid across it (as for signatures, crypto/).
        after = at - _TOLERANCE <= this_update
        across = next_update is not None and this_update <= at <= next_update
        if after or across:
            return this_update
        problems.append(f"OCSP response of {this_update} does not speak for {at}")
    detail = "; ".join(problems) or "none embedded"
    raise SealInvalid(f"no OCSP response shows the seal certificate good at {at}: {detail}")


def verify_seal_lt(
    seal_xml: bytes,
    data_name: str,
    data: bytes,
    anchors: Sequence[bytes],
    tsa_anchors: Sequence[bytes],
    at: datetime,
    *,
    algorithms: AlgorithmPolicy | None = None,
) -> LtSealInfo:
    """Verify the seal over ``data`` and its LT/LTA evidence as of validation time ``at``.

    Raises SealInvalid (SealEvidenceExpired when only the evidence ran out at ``at``).
    """
    if at.utcoffset() is None:
        raise ValueError("validation time must be timezone-aware")
    if not anchors or not tsa_anchors:
        raise SealInvalid("no seal anchor or no TSA anchor given")
    algs = algorithms or AlgorithmPolicy()
    try:
        sig = parse_and_verify(seal_xml, data_name, data, SizeLimits(), algs)
    except VerificationError as exc:
        raise SealInvalid(f"seal: {exc}") from exc
    parts = _parts(safexml.parse(seal_xml, SizeLimits()))
    if len(sig.timestamps) != 1:
        raise SealInvalid(
            f"{len(sig.timestamps)} signature time stamps: XAdES-BASELINE-LT needs exactly one"
        )
    stamps = [_timestamp(sig.timestamps[0].token, sig.timestamps[0].imprint_input, algs)]
    properties = list(parts.unsigned) if parts.unsigned is not None else []
    for position, prop in enumerate(properties):
        if prop.tag != q(XADES141, "ArchiveTimeStamp"):
            continue
        method_el = prop.find(q(DS, "CanonicalizationMethod"))
        method = method_el.get("Algorithm", "") if method_el is not None else C14N_11
        token = b64(
            one(prop, q(XADES, "EncapsulatedTimeStamp"), "EncapsulatedTimeStamp", SealInvalid).text,
            "EncapsulatedTimeStamp",
            SealInvalid,
        )
        stamps.append(_timestamp(token, _archive_input(parts, data, position, method), algs))
    for older, newer in itertools.pairwise(stamps):
        if newer.gen_time < older.gen_time:
            raise SealInvalid("archive time stamps are not in time order")
    if at < stamps[-1].gen_time - _TOLERANCE:
        raise SealInvalid(f"validation time {at} is before the newest time stamp")
    carried = [_load(c.dump()) for c in sig.other_certs]
    tsa_trusted = [_load(der) for der in tsa_anchors]
    # 1. Time stamps: each TSA chain valid when the next time stamp proves it existed.
    renew_before = at
    for position, stamp in enumerate(stamps):
        newest = position == len(stamps) - 1
        poe = at if newest else stamps[position + 1].gen_time
        pool = [_load(der) for der in stamp.cert_ders] + carried
        path = _path(_load(stamp.tsa_cert.dump()), pool, tsa_trusted, "TSA certificate")
        bad = _invalid_at(path, poe)
        if bad is not None:
            what = f"{bad.subject.rfc4514_string()} (valid to {bad.not_valid_after_utc})"
            if newest and bad.not_valid_after_utc < poe:
                raise SealEvidenceExpired(
                    f"the newest time stamp ({stamp.gen_time}) cannot be trusted at {at}: "
                    f"{what} expired; an archive time stamp was due before then"
                )
            raise SealInvalid(f"time stamp of {stamp.gen_time}: {what} not valid at {poe}")
        if newest:
            renew_before = min(c.not_valid_after_utc for c in path)
    # 2. The seal certificate at the signature time stamp: chain valid, not revoked.
    # SigningTime stays the operator's claim: the proof of time is the time stamp's genTime.
    sealed = stamps[0].gen_time
    claimed = sig.claimed_signing_time
    seal_cert = _load(sig.signer_der)
    path = _path(seal_cert, carried, [_load(der) for der in anchors], "seal certificate")
    bad = _invalid_at(path, sealed)
    if bad is not None:
        raise SealInvalid(f"certificate {bad.subject.rfc4514_string()} not valid at {sealed}")
    if len(path) < 2:
        raise SealInvalid("the seal certificate is itself the anchor: no issuer to ask OCSP")
    this_update = _not_revoked(sig.ocsps, seal_cert, path[1], sealed)
    return LtSealInfo(
        subject=seal_cert.subject.rfc4514_string(),
        certificate_sha256=hashlib.sha256(sig.signer_der).hexdigest(),
        signing_time=claimed,
        level=LEVEL_LTA if len(stamps) > 1 else LEVEL_LT,
        sealed_before=sealed,
        timestamps=tuple(s.gen_time for s in stamps),
        renew_before=renew_before,
        ocsp_this_update=this_update,
        validated_at=at,
    )
