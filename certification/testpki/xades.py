"""Real XAdES signing (ETSI EN 319 132-1) on lxml + cryptography, shaped like Latvian eID output.

Layout and algorithm URIs follow the Latvian DEMO eID sample (``lv_demo_p384-T.asice``):
``asic:XAdESSignatures`` root declaring the asic/ds/xades namespaces, C14N 1.1 for SignedInfo and
the signature time stamp, detached references to the data files by (URL-encoded) name, one
reference to ``#<id>-SignedProperties``, SigningCertificateV2 and DataObjectFormat per file.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote

from asn1crypto import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree

NS_ASIC = "http://uri.etsi.org/02918/v1.2.1#"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XADES = "http://uri.etsi.org/01903/v1.3.2#"
NSMAP = {"asic": NS_ASIC, "ds": NS_DS, "xades": NS_XADES}

C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
C14N_EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
DIGEST_URIS = {
    "sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
    "sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "sha384": "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "sha512": "http://www.w3.org/2001/04/xmlenc#sha512",
}
RSA_SIGNATURE_URIS = {
    "sha1": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "sha384": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
}
ECDSA_SIGNATURE_URIS = {
    "sha1": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
    "sha256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "sha384": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "sha512": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
}
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha1": hashes.SHA1(),
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}

Hook = Callable[[etree._Element], None]


@dataclass(frozen=True)
class DataFile:
    """A file in the container that the signature covers."""

    name: str
    data: bytes
    mime_type: str = "text/plain"


def ds(tag: str) -> str:
    return f"{{{NS_DS}}}{tag}"


def xades(tag: str) -> str:
    return f"{{{NS_XADES}}}{tag}"


def canonicalize(element: etree._Element, method: str = C14N_11) -> bytes:
    """C14N of ``element`` in its document context (inherited namespaces included).

    lxml implements C14N 1.0; for documents without xml:id/xml:base attributes (ours) its output
    equals C14N 1.1 byte for byte.
    """
    exclusive = method == C14N_EXC
    return etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=False)


def b64(data: bytes, wrap: int | None = None) -> str:
    """Base64 text; ``wrap`` = line length with a newline after every line (as in the DEMO
    eID sample, whose tool wraps at 60), None = one line."""
    text = base64.b64encode(data).decode("ascii")
    if wrap is None:
        return text
    return "".join(text[i : i + wrap] + "\n" for i in range(0, len(text), wrap))


def _digest(data: bytes, algorithm: str, wrap: int | None = None) -> str:
    return b64(hashlib.new(algorithm, data).digest(), wrap)


def _sub(
    parent: etree._Element, tag: str, text: str | None = None, **attrib: str
) -> etree._Element:
    child = etree.SubElement(parent, tag, attrib)
    if text is not None:
        child.text = text
    return child


def signature_method_uri(key: object, digest: str) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return RSA_SIGNATURE_URIS[digest]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ECDSA_SIGNATURE_URIS[digest]
    raise TypeError(f"unsupported key type {type(key).__name__}")


def sign_bytes(key: object, data: bytes, digest: str) -> bytes:
    """XMLDSig SignatureValue bytes: PKCS#1 v1.5 for RSA, raw r||s for ECDSA (RFC 4050)."""
    algorithm = _HASHES[digest]
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), algorithm)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(algorithm)))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    raise TypeError(f"unsupported key type {type(key).__name__}")


def issuer_serial_v2(cert: x509.Certificate) -> bytes:
    """DER IssuerSerial (RFC 5035) naming ``cert``, for xades:IssuerSerialV2."""
    from asn1crypto import cms

    value = cms.IssuerSerial(
        {
            "issuer": [x509.GeneralName(name="directory_name", value=cert.issuer)],
            "serial": cert.serial_number,
        }
    )
    return bytes(value.dump())


def build_signature(
    parent: etree._Element,
    files: Sequence[DataFile],
    cert_der: bytes,
    key: object,
    *,
    signature_id: str,
    signing_time: datetime,
    digest: str = "sha256",
    c14n: str = C14N_11,
    signing_certificate_der: bytes | None = None,
    before_sign: Hook | None = None,
    wrap: int | None = None,
) -> etree._Element:
    """Append a signed ``ds:Signature`` (XAdES-B-B) over ``files`` to ``parent`` and return it.

    ``signing_certificate_der`` binds SigningCertificateV2 to another certificate than the one in
    KeyInfo (negative tests). ``before_sign`` may edit the ds:Signature before the digests and the
    signature value are computed: what it does stays validly signed.
    """
    sid = signature_id
    signature = _sub(parent, ds("Signature"), Id=sid)
    signed_info = _sub(signature, ds("SignedInfo"))
    _sub(signed_info, ds("CanonicalizationMethod"), Algorithm=c14n)
    _sub(signed_info, ds("SignatureMethod"), Algorithm=signature_method_uri(key, digest))
    file_refs = []
    for index, data_file in enumerate(files):
        ref = _sub(
            signed_info, ds("Reference"), Id=f"{sid}-RefId{index}", URI=quote(data_file.name)
        )
        _sub(ref, ds("DigestMethod"), Algorithm=DIGEST_URIS[digest])
        file_refs.append((ref, data_file))
    props_ref = _sub(
        signed_info,
        ds("Reference"),
        Id=f"{sid}-RefId{len(files)}",
        Type=SIGNED_PROPERTIES_TYPE,
        URI=f"#{sid}-SignedProperties",
    )
    if c14n == C14N_EXC:
        transforms = _sub(props_ref, ds("Transforms"))
        _sub(transforms, ds("Transform"), Algorithm=C14N_EXC)
    _sub(props_ref, ds("DigestMethod"), Algorithm=DIGEST_URIS[digest])
    signature_value = _sub(signature, ds("SignatureValue"), Id=f"{sid}-SIG")
    key_info = _sub(signature, ds("KeyInfo"))
    _sub(_sub(key_info, ds("X509Data")), ds("X509Certificate"), b64(cert_der, wrap))

    qualifying = _sub(
        _sub(signature, ds("Object")), xades("QualifyingProperties"), Target=f"#{sid}"
    )
    signed_props = _sub(qualifying, xades("SignedProperties"), Id=f"{sid}-SignedProperties")
    ssp = _sub(signed_props, xades("SignedSignatureProperties"))
    _sub(ssp, xades("SigningTime"), signing_time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    bound_der = signing_certificate_der or cert_der
    cert_el = _sub(_sub(ssp, xades("SigningCertificateV2")), xades("Cert"))
    cert_digest = _sub(cert_el, xades("CertDigest"))
    _sub(cert_digest, ds("DigestMethod"), Algorithm=DIGEST_URIS[digest])
    _sub(cert_digest, ds("DigestValue"), _digest(bound_der, digest, wrap))
    _sub(cert_el, xades("IssuerSerialV2"), b64(issuer_serial_v2(x509.Certificate.load(bound_der))))
    sdop = _sub(signed_props, xades("SignedDataObjectProperties"))
    for index, data_file in enumerate(files):
        dof = _sub(sdop, xades("DataObjectFormat"), ObjectReference=f"#{sid}-RefId{index}")
        _sub(dof, xades("MimeType"), data_file.mime_type)

    if before_sign is not None:
        before_sign(signature)

    # Digests: data files over their bytes, SignedProperties over its canonical form.
    for ref, data_file in file_refs:
        _sub(ref, ds("DigestValue"), _digest(data_file.data, digest, wrap))
    props_digest = _digest(canonicalize(signed_props, c14n), digest, wrap)
    _sub(props_ref, ds("DigestValue"), props_digest)
    signature_value.text = b64(sign_bytes(key, canonicalize(signed_info, c14n), digest), wrap)
    return signature


def unsigned_properties(signature: etree._Element) -> etree._Element:
    """The UnsignedSignatureProperties element of ``signature``, created when missing."""
    qualifying = signature.find(f"{ds('Object')}/{xades('QualifyingProperties')}")
    assert qualifying is not None
    unsigned = qualifying.find(xades("UnsignedProperties"))
    if unsigned is None:
        unsigned = _sub(qualifying, xades("UnsignedProperties"))
    usp = unsigned.find(xades("UnsignedSignatureProperties"))
    if usp is None:
        usp = _sub(unsigned, xades("UnsignedSignatureProperties"))
    return usp


def signature_value_c14n(signature: etree._Element, c14n: str = C14N_11) -> bytes:
    """What a XAdES SignatureTimeStamp covers: the canonical ds:SignatureValue element."""
    value = signature.find(ds("SignatureValue"))
    assert value is not None
    return canonicalize(value, c14n)


def add_signature_timestamp(
    signature: etree._Element, token_der: bytes, c14n: str = C14N_11, wrap: int | None = None
) -> etree._Element:
    """Add xades:SignatureTimeStamp carrying ``token_der`` (XAdES-B-T)."""
    sid = signature.get("Id")
    stamp = _sub(unsigned_properties(signature), xades("SignatureTimeStamp"), Id=f"{sid}-T0")
    _sub(stamp, ds("CanonicalizationMethod"), Algorithm=c14n)
    _sub(stamp, xades("EncapsulatedTimeStamp"), b64(token_der, wrap))
    return stamp


NS_XADES141 = "http://uri.etsi.org/01903/v1.4.1#"


def archive_timestamp_input(
    signature: etree._Element, files: Sequence[tuple[str, bytes]], c14n: str = C14N_11
) -> bytes:
    """What an xades141:ArchiveTimeStamp appended now covers (EN 319 132-1 §5.5.2.2, not
    distributed): the dereferenced references (data files as stored, the SignedProperties
    canonicalized), SignedInfo, SignatureValue, KeyInfo, every unsigned signature property
    already present, and the ds:Objects other than the QualifyingProperties one."""
    by_name = dict(files)
    ids = {el.get("Id"): el for el in signature.iter() if el.get("Id")}
    parts = []
    signed_info = signature.find(ds("SignedInfo"))
    assert signed_info is not None
    for ref in signed_info.iter(ds("Reference")):
        uri = ref.get("URI") or ""
        if uri.startswith("#"):
            parts.append(canonicalize(ids[uri[1:]], c14n))
        else:
            parts.append(by_name[unquote(uri)])
    for tag in ("SignedInfo", "SignatureValue", "KeyInfo"):
        element = signature.find(ds(tag))
        if element is not None:
            parts.append(canonicalize(element, c14n))
    parts += [canonicalize(child, c14n) for child in unsigned_properties(signature)]
    parts += [
        canonicalize(obj, c14n)
        for obj in signature.findall(ds("Object"))
        if obj.find(xades("QualifyingProperties")) is None
    ]
    return b"".join(parts)


def add_archive_timestamp(
    signature: etree._Element, token_der: bytes, c14n: str = C14N_11, wrap: int | None = None
) -> etree._Element:
    """Append xades141:ArchiveTimeStamp carrying ``token_der`` (XAdES-B-LTA)."""
    usp = unsigned_properties(signature)
    n = len(usp.findall(f"{{{NS_XADES141}}}ArchiveTimeStamp"))
    stamp = _sub(usp, f"{{{NS_XADES141}}}ArchiveTimeStamp", Id=f"{signature.get('Id')}-A{n}")
    _sub(stamp, ds("CanonicalizationMethod"), Algorithm=c14n)
    _sub(stamp, xades("EncapsulatedTimeStamp"), b64(token_der, wrap))
    return stamp


def add_validation_data(
    signature: etree._Element,
    certs_der: Sequence[bytes],
    ocsp_der: Sequence[bytes],
    wrap: int | None = None,
) -> None:
    """Add CertificateValues and RevocationValues (XAdES-B-LT)."""
    usp = unsigned_properties(signature)
    sid = signature.get("Id")
    values = _sub(usp, xades("CertificateValues"), Id=f"{sid}-CV")
    for index, der in enumerate(certs_der):
        _sub(values, xades("EncapsulatedX509Certificate"), b64(der, wrap), Id=f"{sid}-CV{index}")
    revocation = _sub(usp, xades("RevocationValues"), Id=f"{sid}-RV")
    ocsp_values = _sub(revocation, xades("OCSPValues"))
    for index, der in enumerate(ocsp_der):
        _sub(ocsp_values, xades("EncapsulatedOCSPValue"), b64(der, wrap), Id=f"{sid}-OCSP{index}")


def new_signatures_document() -> etree._Element:
    """Empty ``asic:XAdESSignatures`` root with the three namespaces declared on it."""
    return etree.Element(f"{{{NS_ASIC}}}XAdESSignatures", nsmap=NSMAP)


def serialize(root: etree._Element) -> bytes:
    """The signature file's bytes (UTF-8, XML declaration, no pretty-printing)."""
    declaration = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    return declaration + etree.tostring(root, encoding="UTF-8", xml_declaration=False)
