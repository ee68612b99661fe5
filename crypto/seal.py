"""Verify an operator's XAdES seal over one file (a batch manifest) against pinned anchors.

Reuses the XAdES core validation the .edoc verifier uses (``crypto._internal.xades``): the same
anti-wrapping rules, algorithm policy and SigningCertificateV2 binding. On top: the seal
certificate must chain, by signature, to one of the anchors the caller pins (the operator's seal
CA or the seal certificate itself), each certificate valid at the seal's SigningTime. A seal is
XAdES-B-B: SigningTime is the operator's claim; the batch's time evidence is the log checkpoint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from crypto._internal.xades import parse_and_verify
from crypto.errors import SignatureInvalid, VerificationError
from crypto.policy import AlgorithmPolicy, SizeLimits

MAX_CHAIN = 8  # certificates walked from the seal certificate to an anchor


class SealInvalid(SignatureInvalid):
    """The seal does not verify, does not cover the file, or does not chain to an anchor."""


@dataclass(frozen=True, slots=True)
class SealInfo:
    """Who sealed, and when they say they did."""

    subject: str  # RFC 4514 string of the seal certificate's subject
    certificate_sha256: str
    signing_time: datetime | None


def _load(der: bytes) -> x509.Certificate:
    """A certificate in DER (or PEM, for anchors given as files)."""
    try:
        if der.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(der)
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise SealInvalid(f"unreadable certificate: {exc}") from exc


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _valid_at(cert: x509.Certificate, at: datetime | None) -> None:
    if at is not None and not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise SealInvalid(f"certificate {cert.subject.rfc4514_string()} not valid at {at}")


def verify_seal(
    seal_xml: bytes,
    data_name: str,
    data: bytes,
    anchors: Sequence[bytes],
    *,
    algorithms: AlgorithmPolicy | None = None,
) -> SealInfo:
    """Raise SealInvalid unless ``seal_xml`` seals ``data`` (``data_name``) under an anchor."""
    if not anchors:
        raise SealInvalid("no seal anchor given")
    # 1. XAdES core validation: references, SignedProperties, SigningCertificateV2, value.
    try:
        sig = parse_and_verify(
            seal_xml, data_name, data, SizeLimits(), algorithms or AlgorithmPolicy()
        )
    except VerificationError as exc:
        raise SealInvalid(f"seal: {exc}") from exc
    # 2. Chain: from the seal certificate through the KeyInfo certificates to a pinned anchor.
    at = sig.claimed_signing_time
    trusted = [_load(der) for der in anchors]
    pool = [_load(c.dump()) for c in sig.other_certs]
    cert = _load(sig.signer_cert.dump())
    for _ in range(MAX_CHAIN):
        _valid_at(cert, at)
        if any(cert == anchor for anchor in trusted):
            break
        anchor = next((a for a in trusted if _issued_by(cert, a)), None)
        if anchor is not None:
            _valid_at(anchor, at)
            break
        issuer = next((c for c in pool if c != cert and _issued_by(cert, c)), None)
        if issuer is None:
            raise SealInvalid("seal certificate does not chain to a seal anchor")
        cert = issuer
    else:
        raise SealInvalid("seal certificate chain is too long")
    signer = _load(sig.signer_cert.dump())
    return SealInfo(
        subject=signer.subject.rfc4514_string(),
        certificate_sha256=hashlib.sha256(sig.signer_cert.dump()).hexdigest(),
        signing_time=at,
    )
