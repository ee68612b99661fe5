"""The operator's seal over a batch manifest: XAdES-B-B (ETSI EN 319 132-1) in an ASiC-E.

``Sealer`` is the seam for the key: a file-based implementation here; an HSM/PKCS#11 one only
has to return the certificate chain, the XMLDSig signature method and raw signature values.
The signature layout matches what ``crypto`` validates for .edoc signatures (and what Latvian
eID produces): ``asic:XAdESSignatures`` root, C14N 1.1, one detached reference to the data file
by name, one reference to ``#<id>-SignedProperties``, SigningCertificateV2 with IssuerSerialV2.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree

NS_ASIC = "http://uri.etsi.org/02918/v1.2.1#"  # ETSI EN 319 162-1 §A.5
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XADES = "http://uri.etsi.org/01903/v1.3.2#"  # ETSI EN 319 132-1
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256"
ECDSA_SHA256_URI = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"  # RFC 6931 §2.3.6
RSA_SHA256_URI = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"  # RFC 6931 §2.3.2
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
SEAL_ID = "S0"

# Environment of the file-based sealer (the service reads these; PEM files).
ENV_KEY = "SIGSVC_BATCH_SEAL_KEY"
ENV_CERT = "SIGSVC_BATCH_SEAL_CERT"  # seal certificate first, then its chain, nearest first
ENV_KEY_PASSWORD = "SIGSVC_BATCH_SEAL_KEY_PASSWORD"  # noqa: S105 (a variable name) optional


class SealError(Exception):
    """The sealer cannot be configured or cannot sign."""


class Sealer(Protocol):
    """Signs for the operator; implementations keep the private key wherever they like."""

    @property
    def certificate_chain(self) -> Sequence[bytes]:
        """DER certificates: the seal certificate first, then issuing CAs, nearest first."""
        ...

    @property
    def signature_method(self) -> str:
        """XMLDSig SignatureMethod URI of what ``sign`` produces."""
        ...

    def sign(self, data: bytes) -> bytes:
        """XMLDSig SignatureValue over ``data``: PKCS#1 v1.5 (RSA) or raw r||s (ECDSA)."""
        ...


@dataclass(frozen=True)
class FileSealer:
    """A PEM private key and certificate chain from files (development and small deployments)."""

    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    chain: tuple[bytes, ...]

    @classmethod
    def from_files(
        cls, key_path: str | Path, cert_path: str | Path, password: bytes | None = None
    ) -> FileSealer:
        try:
            key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password)
            certs = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise SealError(f"cannot load the batch seal key or certificate: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise SealError("the batch seal key must be ECDSA or RSA")
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if certs[0].public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
            raise SealError("the first certificate is not the seal key's certificate")
        der = tuple(c.public_bytes(serialization.Encoding.DER) for c in certs)
        return cls(key, der)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> FileSealer:
        """``SIGSVC_BATCH_SEAL_KEY`` / ``_CERT`` (PEM paths), optional ``_KEY_PASSWORD``."""
        key_path, cert_path = env.get(ENV_KEY), env.get(ENV_CERT)
        if not key_path or not cert_path:
            raise SealError(f"{ENV_KEY} and {ENV_CERT} must name PEM files")
        password = env.get(ENV_KEY_PASSWORD)
        return cls.from_files(key_path, cert_path, password.encode() if password else None)

    @property
    def certificate_chain(self) -> Sequence[bytes]:
        return self.chain

    @property
    def signature_method(self) -> str:
        return (
            ECDSA_SHA256_URI if isinstance(self.key, ec.EllipticCurvePrivateKey) else RSA_SHA256_URI
        )

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        r, s = utils.decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        size = (self.key.curve.key_size + 7) // 8  # XMLDSig 1.1 §6.4.3: r || s, fixed width
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sub(
    parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrib: str
) -> etree._Element:
    child = etree.SubElement(parent, f"{{{ns}}}{tag}", attrib)
    if text is not None:
        child.text = text
    return child


def _c14n(element: etree._Element) -> bytes:
    # lxml's C14N 1.0 equals C14N 1.1 for documents without xml:id/xml:base (ours).
    return etree.tostring(element, method="c14n", exclusive=False, with_comments=False)


def _issuer_serial_v2(cert_der: bytes) -> bytes:
    cert = asn1_x509.Certificate.load(cert_der)
    value = cms.IssuerSerial(
        {
            "issuer": [asn1_x509.GeneralName(name="directory_name", value=cert.issuer)],
            "serial": cert.serial_number,
        }
    )
    return bytes(value.dump())


def seal_document(
    sealer: Sealer,
    *,
    data_name: str,
    data_sha256: bytes,
    signing_time: datetime,
    mime_type: str = "application/json",
) -> bytes:
    """``META-INF/signatures0.xml`` bytes: a XAdES-B-B seal over the file ``data_name``.

    Only the data file's SHA-256 is needed, so a large manifest is hashed while streaming.
    """
    if signing_time.utcoffset() is None:
        raise SealError("signing time must be timezone-aware")
    chain = list(sealer.certificate_chain)
    if not chain:
        raise SealError("the sealer has no certificate")
    root = etree.Element(
        f"{{{NS_ASIC}}}XAdESSignatures", nsmap={"asic": NS_ASIC, "ds": NS_DS, "xades": NS_XADES}
    )
    sid = SEAL_ID
    signature = _sub(root, NS_DS, "Signature", Id=sid)
    signed_info = _sub(signature, NS_DS, "SignedInfo")
    _sub(signed_info, NS_DS, "CanonicalizationMethod", Algorithm=C14N_11)
    _sub(signed_info, NS_DS, "SignatureMethod", Algorithm=sealer.signature_method)
    data_ref = _sub(signed_info, NS_DS, "Reference", Id=f"{sid}-RefId0", URI=quote(data_name))
    _sub(data_ref, NS_DS, "DigestMethod", Algorithm=SHA256_URI)
    _sub(data_ref, NS_DS, "DigestValue", _b64(data_sha256))
    props_ref = _sub(
        signed_info,
        NS_DS,
        "Reference",
        Id=f"{sid}-RefId1",
        Type=SIGNED_PROPERTIES_TYPE,
        URI=f"#{sid}-SignedProperties",
    )
    _sub(props_ref, NS_DS, "DigestMethod", Algorithm=SHA256_URI)
    value = _sub(signature, NS_DS, "SignatureValue", Id=f"{sid}-SIG")
    x509_data = _sub(_sub(signature, NS_DS, "KeyInfo"), NS_DS, "X509Data")
    for der in chain:
        _sub(x509_data, NS_DS, "X509Certificate", _b64(der))
    qualifying = _sub(
        _sub(signature, NS_DS, "Object"), NS_XADES, "QualifyingProperties", Target=f"#{sid}"
    )
    signed_props = _sub(qualifying, NS_XADES, "SignedProperties", Id=f"{sid}-SignedProperties")
    ssp = _sub(signed_props, NS_XADES, "SignedSignatureProperties")
    _sub(ssp, NS_XADES, "SigningTime", signing_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    cert_el = _sub(_sub(ssp, NS_XADES, "SigningCertificateV2"), NS_XADES, "Cert")
    cert_digest = _sub(cert_el, NS_XADES, "CertDigest")
    _sub(cert_digest, NS_DS, "DigestMethod", Algorithm=SHA256_URI)
    _sub(cert_digest, NS_DS, "DigestValue", _b64(hashlib.sha256(chain[0]).digest()))
    _sub(cert_el, NS_XADES, "IssuerSerialV2", _b64(_issuer_serial_v2(chain[0])))
    sdop = _sub(signed_props, NS_XADES, "SignedDataObjectProperties")
    dof = _sub(sdop, NS_XADES, "DataObjectFormat", ObjectReference=f"#{sid}-RefId0")
    _sub(dof, NS_XADES, "MimeType", mime_type)
    # Digest of the SignedProperties in document context, then the signature over SignedInfo.
    _sub(props_ref, NS_DS, "DigestValue", _b64(hashlib.sha256(_c14n(signed_props)).digest()))
    value.text = _b64(sealer.sign(_c14n(signed_info)))
    declaration = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    return declaration + etree.tostring(root, encoding="UTF-8", xml_declaration=False)
