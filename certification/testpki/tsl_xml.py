"""Shared ETSI TS 119 612 XML pieces: namespaces, SchemeInformation, the enveloped signature.

Used by tl.py (the national test list) and lotl.py (the test list of the lists).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from lxml import etree

from . import pki
from .xades import (
    C14N_EXC,
    DIGEST_URIS,
    NS_DS,
    NS_XADES,
    b64,
    canonicalize,
    ds,
    issuer_serial_v2,
    sign_bytes,
    signature_method_uri,
    xades,
)

NS_TSL = "http://uri.etsi.org/02231/v2#"
NS_SIE = "http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#"
NS_ADDTYPES = "http://uri.etsi.org/02231/v2/additionaltypes#"
TSL_TAG = "http://uri.etsi.org/19612/TSLTag"
TSL_TYPE_EU_GENERIC = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric"
TSL_TYPE_EU_LOTL = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUlistofthelists"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def tsl(tag: str) -> str:
    return f"{{{NS_TSL}}}{tag}"


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    child = etree.SubElement(parent, tag, attrib)
    if text is not None:
        child.text = text
    return child


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def names(parent: etree._Element, tag: str, names: Sequence[tuple[str, str]]) -> None:
    holder = sub(parent, tsl(tag))
    for lang, text in names:
        sub(holder, tsl("Name"), text, **{XML_LANG: lang})


def uris(parent: etree._Element, tag: str, uris: Sequence[str]) -> None:
    holder = sub(parent, tsl(tag))
    for uri in uris:
        sub(holder, tsl("URI"), uri, **{XML_LANG: "en"})


def scheme_information(
    root: etree._Element,
    *,
    sequence: int,
    issued: datetime,
    next_update: datetime,
    tsl_type: str = TSL_TYPE_EU_GENERIC,
    territory: str = "LV",
    operator_name: str = "TEST Digitālās drošības uzraudzības komiteja",
    scheme_name: str = "LV:TEST ONLY trusted list for sigsvc tests",
    community_rules: str = "http://uri.etsi.org/TrstSvc/TrustedList/schemerules/EUcommon",
    distribution_point: str = "https://testpki.sigsvc.invalid/tsl.xml",
    pointers: Callable[[etree._Element], None] | None = None,
    information_uris: Sequence[str] = ("https://testpki.sigsvc.invalid/tsl",),
) -> None:
    """SchemeInformation in XSD order; ``pointers`` fills PointersToOtherTSL when given."""
    info = sub(root, tsl("SchemeInformation"))
    sub(info, tsl("TSLVersionIdentifier"), "5")
    sub(info, tsl("TSLSequenceNumber"), str(sequence))
    sub(info, tsl("TSLType"), tsl_type)
    names(info, "SchemeOperatorName", [("lv", operator_name)])
    address = sub(info, tsl("SchemeOperatorAddress"))
    postal = sub(sub(address, tsl("PostalAddresses")), tsl("PostalAddress"))
    postal.set(XML_LANG, "en")
    sub(postal, tsl("StreetAddress"), "TEST street 1")
    sub(postal, tsl("Locality"), "Riga")
    sub(postal, tsl("CountryName"), territory)
    uris(address, "ElectronicAddress", ["mailto:testpki@sigsvc.invalid"])
    names(info, "SchemeName", [("en", scheme_name)])
    uris(info, "SchemeInformationURI", information_uris)
    sub(
        info,
        tsl("StatusDeterminationApproach"),
        "http://uri.etsi.org/TrstSvc/TrustedList/StatusDetn/EUappropriate",
    )
    uris(info, "SchemeTypeCommunityRules", [community_rules])
    sub(info, tsl("SchemeTerritory"), territory)
    notice = sub(sub(info, tsl("PolicyOrLegalNotice")), tsl("TSLLegalNotice"), "TEST ONLY")
    notice.set(XML_LANG, "en")
    sub(info, tsl("HistoricalInformationPeriod"), "65535")
    if pointers is not None:
        pointers(sub(info, tsl("PointersToOtherTSL")))
    sub(info, tsl("ListIssueDateTime"), iso(issued))
    sub(sub(info, tsl("NextUpdate")), tsl("dateTime"), iso(next_update))
    sub(sub(info, tsl("DistributionPoints")), tsl("URI"), distribution_point)


def new_list(list_id: str) -> etree._Element:
    """An empty TrustServiceStatusList root with the namespaces our lists use."""
    nsmap = {None: NS_TSL, "ds": NS_DS, "xades": NS_XADES, "tslx": NS_ADDTYPES, "tsie": NS_SIE}
    return etree.Element(tsl("TrustServiceStatusList"), nsmap=nsmap, Id=list_id, TSLTag=TSL_TAG)  # type: ignore[arg-type]


# A pki.yml label, or (private key, certificate DER) made elsewhere (e.g. in a test).
Operator = str | tuple[Any, bytes]


def sign_enveloped(root: etree._Element, operator: Operator, signing_time: datetime) -> None:
    """Enveloped XAdES-B-B signature (TS 119 612 §5.7.1) over the whole list."""
    if isinstance(operator, str):
        key, cert_der = pki.private_key(operator), pki.cert_der(operator)
    else:
        key, cert_der = operator
    document_digest = b64(sha256(canonicalize(root, C14N_EXC)))
    sid = "tsl-signature"
    signature = sub(root, ds("Signature"), Id=sid)
    signed_info = sub(signature, ds("SignedInfo"))
    sub(signed_info, ds("CanonicalizationMethod"), Algorithm=C14N_EXC)
    sub(signed_info, ds("SignatureMethod"), Algorithm=signature_method_uri(key, "sha256"))
    ref = sub(signed_info, ds("Reference"), Id="tsl-ref", URI="")
    transforms = sub(ref, ds("Transforms"))
    sub(
        transforms,
        ds("Transform"),
        Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    )
    sub(transforms, ds("Transform"), Algorithm=C14N_EXC)
    sub(ref, ds("DigestMethod"), Algorithm=DIGEST_URIS["sha256"])
    sub(ref, ds("DigestValue"), document_digest)
    props_ref = sub(
        signed_info,
        ds("Reference"),
        Type="http://uri.etsi.org/01903#SignedProperties",
        URI=f"#{sid}-SignedProperties",
    )
    sub(sub(props_ref, ds("Transforms")), ds("Transform"), Algorithm=C14N_EXC)
    sub(props_ref, ds("DigestMethod"), Algorithm=DIGEST_URIS["sha256"])
    value = sub(signature, ds("SignatureValue"), Id=f"{sid}-value")
    sub(sub(sub(signature, ds("KeyInfo")), ds("X509Data")), ds("X509Certificate"), b64(cert_der))
    qualifying = sub(sub(signature, ds("Object")), xades("QualifyingProperties"), Target=f"#{sid}")
    props = sub(qualifying, xades("SignedProperties"), Id=f"{sid}-SignedProperties")
    ssp = sub(props, xades("SignedSignatureProperties"))
    sub(ssp, xades("SigningTime"), iso(signing_time))
    cert_el = sub(sub(ssp, xades("SigningCertificateV2")), xades("Cert"))
    digest_el = sub(cert_el, xades("CertDigest"))
    sub(digest_el, ds("DigestMethod"), Algorithm=DIGEST_URIS["sha256"])
    sub(digest_el, ds("DigestValue"), b64(sha256(cert_der)))
    cert = pki.cert(operator) if isinstance(operator, str) else asn1_x509.Certificate.load(cert_der)
    sub(cert_el, xades("IssuerSerialV2"), b64(issuer_serial_v2(cert)))
    dof = sub(
        sub(props, xades("SignedDataObjectProperties")),
        xades("DataObjectFormat"),
        ObjectReference="#tsl-ref",
    )
    sub(dof, xades("MimeType"), "text/xml")
    sub(props_ref, ds("DigestValue"), b64(sha256(canonicalize(props, C14N_EXC))))
    value.text = b64(sign_bytes(key, canonicalize(signed_info, C14N_EXC), "sha256"))


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
