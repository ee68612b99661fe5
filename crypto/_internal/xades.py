"""XAdES (ETSI EN 319 132-1) signature in an ASiC-E signature file: core validation and parsing.

Anti-wrapping rule: everything we use is found at its one schema position under the single
ds:Signature, by the Id its reference names; document-wide Ids must be unique, and the data file
bytes are exactly the zip entry the reference URI names.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import x509
from lxml import etree

from crypto._internal import algorithms, safexml
from crypto._internal.archive import ArchiveInput, archive_inputs
from crypto._internal.xmldsig import (
    ASIC,
    DEFAULT_C14N,
    DS,
    XADES,
    b64,
    c14n,
    one,
    q,
    xs_datetime,
)
from crypto.errors import (
    MalformedContainer,
    MultipleSignatures,
    SignatureInvalid,
    UnsafeInput,
    VerificationError,
)
from crypto.policy import AlgorithmPolicy, SizeLimits
from crypto.reasons import SubIndication

SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"  # EN 319 132-1 §6.3
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_MAX_REFERENCES = 8  # one data file + SignedProperties; leave room for benign extras
_MAX_CERTIFICATES = 16  # signer + chain + TSA/OCSP chains in real containers: < 10
_MAX_REVOCATION_VALUES = 16


@dataclass(frozen=True)
class TimestampRef:
    token: bytes  # DER ContentInfo
    imprint_input: bytes  # c14n(ds:SignatureValue) with the time stamp's c14n method


@dataclass(frozen=True)
class XadesSignature:
    signature_method: tuple[str, str]  # (kind, hash)
    signer_cert: x509.Certificate
    signer_der: bytes  # as carried in the signature (digests and evidence use these bytes)
    other_certs: tuple[x509.Certificate, ...]
    claimed_signing_time: datetime | None
    timestamps: tuple[TimestampRef, ...]
    ocsps: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    has_certificate_values: bool
    has_archive_timestamp: bool
    digests_used: tuple[str, ...] = field(default=())
    archive_timestamps: tuple[ArchiveInput, ...] = ()  # EN 319 132-1 §5.5.2, in order

    @property
    def level(self) -> str:
        if self.has_archive_timestamp:
            return "XAdES-BASELINE-LTA"
        if self.timestamps and self.has_certificate_values and (self.ocsps or self.crls):
            return "XAdES-BASELINE-LT"
        if self.timestamps:
            return "XAdES-BASELINE-T"
        return "XAdES-BASELINE-B"


def _load_cert(
    der: bytes, what: str, parse: Callable[[bytes], x509.Certificate] = x509.Certificate.load
) -> x509.Certificate:
    try:
        cert = parse(der)
        _ = cert.subject, cert.public_key, cert.serial_number  # force parse of the lazy parts
    except (ValueError, TypeError) as exc:
        raise MalformedContainer(f"{what} is not an X.509 certificate: {exc}") from exc
    return cert


def _unique_ids(root: etree._Element) -> None:
    seen: set[str] = set()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            if name in ("Id", "ID", "id", "{http://www.w3.org/XML/1998/namespace}id"):
                text = str(value)
                if text in seen:
                    raise UnsafeInput(f"duplicate Id {text!r} (signature wrapping)")
                seen.add(text)


def parse_and_verify(
    signature_xml: bytes,
    data_name: str,
    data: bytes,
    limits: SizeLimits,
    algs: AlgorithmPolicy,
    parse_certificate: Callable[[bytes], x509.Certificate] = x509.Certificate.load,
) -> XadesSignature:
    """XMLDSig core validation (XMLDSig 1.1 §3.2) plus the XAdES signed properties."""
    root = safexml.parse(signature_xml, limits)
    # 1. Structure: one asic:XAdESSignatures holding exactly one ds:Signature.
    if root.tag != q(ASIC, "XAdESSignatures"):
        raise MalformedContainer(f"signature file root is {root.tag}")
    all_sigs = list(root.iter(q(DS, "Signature")))
    if len(all_sigs) > 1:
        raise MultipleSignatures(f"{len(all_sigs)} ds:Signature elements")
    sig = one(root, q(DS, "Signature"), "ds:Signature", MalformedContainer)
    _unique_ids(root)
    sig_id = sig.get("Id")
    signed_info = one(sig, q(DS, "SignedInfo"), "ds:SignedInfo", SignatureInvalid)
    sig_value_el = one(sig, q(DS, "SignatureValue"), "ds:SignatureValue", SignatureInvalid)
    qp = _qualifying_properties(sig, sig_id)
    signed_props = one(qp, q(XADES, "SignedProperties"), "xades:SignedProperties", SignatureInvalid)
    sp_id = signed_props.get("Id")
    if not sp_id:
        raise SignatureInvalid("xades:SignedProperties has no Id")

    # 2. SignedInfo algorithms.
    c14n_method = _alg(signed_info, "CanonicalizationMethod")
    sig_method_uri = _alg(signed_info, "SignatureMethod")
    if sig_method_uri not in algorithms.SIGNATURE_URIS:
        raise SignatureInvalid(f"unsupported signature method {sig_method_uri!r}")
    kind, hash_name = algorithms.SIGNATURE_URIS[sig_method_uri]
    algorithms.check_digest(hash_name, algs, "signature method")

    # 3. References: exactly one to the data file, exactly one to the SignedProperties.
    digests_used = [hash_name]
    dereferenced: list[tuple[str, etree._Element | bytes]] = []  # for archive time stamps
    data_refs = sp_refs = 0
    references = signed_info.findall(q(DS, "Reference"))
    if len(references) > _MAX_REFERENCES:  # each costs a digest over the data: bound the work
        raise UnsafeInput(f"{len(references)} references in one signature")
    for ref in references:
        uri = ref.get("URI")
        if uri is None:
            raise SignatureInvalid("ds:Reference without URI")
        digest_name = _digest_method(ref)
        algorithms.check_digest(digest_name, algs, "reference digest")
        digests_used.append(digest_name)
        expected = b64(
            one(ref, q(DS, "DigestValue"), "ds:DigestValue", SignatureInvalid).text,
            "ds:DigestValue",
            SignatureInvalid,
        )
        transforms = _transforms(ref)
        if ref.get("Type") == SIGNED_PROPERTIES_TYPE or uri.startswith("#"):
            if uri != f"#{sp_id}":
                raise SignatureInvalid(
                    f"reference {uri!r} is not the SignedProperties",
                    subindication=SubIndication.SIGNED_DATA_NOT_FOUND,
                )
            method = DEFAULT_C14N
            if transforms:
                if len(transforms) != 1:
                    raise SignatureInvalid("SignedProperties reference with several transforms")
                method = transforms[0]
            octets = c14n(signed_props, method)
            dereferenced.append(("xml", signed_props))
            sp_refs += 1
        else:
            if transforms:
                raise SignatureInvalid("transforms on a detached data file reference")
            if urllib.parse.unquote(uri, errors="strict") != data_name:
                raise SignatureInvalid(
                    f"reference {uri!r} does not name the data file",
                    subindication=SubIndication.SIGNED_DATA_NOT_FOUND,
                )
            octets = data
            dereferenced.append(("data", data))
            data_refs += 1
        if algorithms.digest(digest_name, octets) != expected:
            raise SignatureInvalid(
                f"digest of reference {uri!r} does not match",
                subindication=SubIndication.HASH_FAILURE,
            )
    if data_refs != 1 or sp_refs != 1:
        raise SignatureInvalid(
            f"{data_refs} data and {sp_refs} SignedProperties references, one of each expected",
            subindication=SubIndication.SIGNED_DATA_NOT_FOUND,
        )

    # 4. Signing certificate: the one SigningCertificate(V2) names (EN 319 132-1 §5.2.2).
    unsigned = qp.find(
        f"{q(XADES, 'UnsignedProperties')}/{q(XADES, 'UnsignedSignatureProperties')}"
    )
    key_info_ders = [
        b64(el.text, "ds:X509Certificate", MalformedContainer)
        for el in sig.findall(f"{q(DS, 'KeyInfo')}/{q(DS, 'X509Data')}/{q(DS, 'X509Certificate')}")
    ]
    value_ders = [
        b64(el.text, "EncapsulatedX509Certificate", MalformedContainer)
        for el in (
            unsigned.findall(
                f"{q(XADES, 'CertificateValues')}/{q(XADES, 'EncapsulatedX509Certificate')}"
            )
            if unsigned is not None
            else []
        )
    ]
    if len(key_info_ders) + len(value_ders) > _MAX_CERTIFICATES:
        raise UnsafeInput("too many certificates for one signature (path building cost)")
    # (original DER, parsed) pairs: digests are always over the bytes as carried
    carried = [(der, _load_cert(der, "certificate", parse_certificate)) for der in key_info_ders]
    carried += [(der, _load_cert(der, "certificate", parse_certificate)) for der in value_ders]
    ssp = one(
        signed_props,
        q(XADES, "SignedSignatureProperties"),
        "xades:SignedSignatureProperties",
        SignatureInvalid,
    )
    signer_der, signer = _signing_certificate(ssp, carried, algs)

    # 5. Signature value over the canonical SignedInfo.
    signature_value = b64(sig_value_el.text, "ds:SignatureValue", SignatureInvalid)
    algorithms.verify_raw(signer, kind, hash_name, signature_value, c14n(signed_info, c14n_method))

    # 6. Signed and unsigned properties used later.
    signing_time_el = ssp.find(q(XADES, "SigningTime"))
    claimed = (
        xs_datetime(signing_time_el.text, "xades:SigningTime", SignatureInvalid)
        if signing_time_el is not None
        else None
    )
    timestamps: list[TimestampRef] = []
    ocsps: list[bytes] = []
    crls: list[bytes] = []
    has_archive = False
    archives: tuple[ArchiveInput, ...] = ()
    if unsigned is not None:
        for ts in unsigned.findall(q(XADES, "SignatureTimeStamp")):
            method_el = ts.find(q(DS, "CanonicalizationMethod"))
            method = method_el.get("Algorithm", "") if method_el is not None else DEFAULT_C14N
            token = b64(
                one(
                    ts, q(XADES, "EncapsulatedTimeStamp"), "EncapsulatedTimeStamp", SignatureInvalid
                ).text,
                "EncapsulatedTimeStamp",
                MalformedContainer,
            )
            timestamps.append(TimestampRef(token, c14n(sig_value_el, method, MalformedContainer)))
        rv = unsigned.find(q(XADES, "RevocationValues"))
        if rv is not None:
            ocsps = [
                b64(el.text, "EncapsulatedOCSPValue", MalformedContainer)
                for el in rv.findall(
                    f"{q(XADES, 'OCSPValues')}/{q(XADES, 'EncapsulatedOCSPValue')}"
                )
            ]
            crls = [
                b64(el.text, "EncapsulatedCRLValue", MalformedContainer)
                for el in rv.findall(f"{q(XADES, 'CRLValues')}/{q(XADES, 'EncapsulatedCRLValue')}")
            ]
        if len(ocsps) + len(crls) > _MAX_REVOCATION_VALUES:
            raise UnsafeInput("too many revocation values for one signature")
        archives = archive_inputs(sig, dereferenced, unsigned)
        has_archive = bool(archives)
    others = tuple(cert for der, cert in carried if der != signer_der)
    return XadesSignature(
        signature_method=(kind, hash_name),
        signer_cert=signer,
        signer_der=signer_der,
        other_certs=others,
        claimed_signing_time=claimed,
        timestamps=tuple(timestamps),
        ocsps=tuple(ocsps),
        crls=tuple(crls),
        has_certificate_values=bool(value_ders),
        has_archive_timestamp=has_archive,
        digests_used=tuple(digests_used),
        archive_timestamps=archives,
    )


def _qualifying_properties(sig: etree._Element, sig_id: str | None) -> etree._Element:
    qps = sig.findall(f"{q(DS, 'Object')}/{q(XADES, 'QualifyingProperties')}")
    if len(qps) != 1:
        raise SignatureInvalid(f"{len(qps)} xades:QualifyingProperties, exactly one expected")
    if not sig_id or qps[0].get("Target") != f"#{sig_id}":
        raise SignatureInvalid("QualifyingProperties Target does not name this signature")
    return qps[0]


def _alg(parent: etree._Element, local: str) -> str:
    el = one(parent, q(DS, local), f"ds:{local}", SignatureInvalid)
    value = el.get("Algorithm")
    if not value:
        raise SignatureInvalid(f"ds:{local} without Algorithm")
    return value


def _digest_method(parent: etree._Element) -> str:
    uri = _alg(parent, "DigestMethod")
    try:
        return algorithms.DIGEST_URIS[uri]
    except KeyError:
        raise SignatureInvalid(f"unsupported digest method {uri!r}") from None


def _transforms(ref: etree._Element) -> list[str]:
    container = ref.find(q(DS, "Transforms"))
    if container is None:
        return []
    result = []
    for t in container.findall(q(DS, "Transform")):
        uri = t.get("Algorithm", "")
        if uri == _ENVELOPED or uri not in _C14N_TRANSFORMS:
            raise SignatureInvalid(f"transform {uri!r} not allowed")
        result.append(uri)
    return result


_C14N_TRANSFORMS = frozenset(
    {
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/2006/12/xml-c14n11",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
    }
)


def _signing_certificate(
    ssp: etree._Element,
    candidates: list[tuple[bytes, x509.Certificate]],
    algs: AlgorithmPolicy,
) -> tuple[bytes, x509.Certificate]:
    holders = ssp.findall(q(XADES, "SigningCertificateV2")) + ssp.findall(
        q(XADES, "SigningCertificate")
    )
    if len(holders) != 1:
        raise SignatureInvalid(
            f"{len(holders)} SigningCertificate(V2) properties, exactly one expected",
            subindication=SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
        )
    cert_el = holders[0].find(q(XADES, "Cert"))
    if cert_el is None:
        raise SignatureInvalid(
            "SigningCertificate without Cert",
            subindication=SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
        )
    cd = one(cert_el, q(XADES, "CertDigest"), "xades:CertDigest", SignatureInvalid)
    digest_name = _digest_method(cd)
    algorithms.check_digest(digest_name, algs, "signing certificate digest")
    wanted = b64(
        one(cd, q(DS, "DigestValue"), "ds:DigestValue", SignatureInvalid).text,
        "CertDigest",
        SignatureInvalid,
    )
    for der, cert in candidates:
        if algorithms.digest(digest_name, der) == wanted:
            _check_issuer_serial(cert_el, cert)
            return der, cert
    raise SignatureInvalid(
        "no certificate matches the SigningCertificate digest",
        subindication=SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
    )


def _check_issuer_serial(cert_el: etree._Element, cert: x509.Certificate) -> None:
    v1 = cert_el.find(f"{q(XADES, 'IssuerSerial')}/{q(DS, 'X509SerialNumber')}")
    v2 = cert_el.find(q(XADES, "IssuerSerialV2"))
    if v1 is not None:
        text = (v1.text or "").strip()
        if not text.isdigit() or int(text) != cert.serial_number:
            raise SignatureInvalid("SigningCertificate serial number does not match")
    elif v2 is not None:
        from asn1crypto import cms

        try:
            issuer_serial = cms.IssuerSerial.load(b64(v2.text, "IssuerSerialV2", SignatureInvalid))
            serial = issuer_serial["serial"].native
            names = [gn.chosen for gn in issuer_serial["issuer"] if gn.name == "directory_name"]
        except (ValueError, TypeError) as exc:
            raise SignatureInvalid(f"IssuerSerialV2 unreadable: {exc}") from exc
        # compare encodings first (GeneralName wraps the Name in an explicit [4] tag, so the
        # contents are compared); RFC 5280 §7.1 name matching only when they differ
        issuer_contents = cert.issuer.contents
        same_issuer = any(n.contents == issuer_contents for n in names) or cert.issuer in names
        if serial != cert.serial_number or not same_issuer:
            raise SignatureInvalid("SigningCertificateV2 IssuerSerialV2 does not match")


__all__ = ["TimestampRef", "VerificationError", "XadesSignature", "parse_and_verify"]
