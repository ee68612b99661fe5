"""The test trusted list (ETSI TS 119 612 v2.x), shaped like the Latvian one (TSL sequence 41).

One TSP ("TEST sigsvc ... centrs") with: the qualified issuing CA (CA/QC, granted, QCWithQSCD for
QCP-n-qscd certificates and QCForESig for nonRepudiation certificates), a legacy CA/QC service
withdrawn at ``clock.LEGACY_CA_WITHDRAWN`` (granted before: history), the qualified TSA
(TSA/QTST, granted) and the national root (NationalRootCA-QC). The rogue CA is not listed.
Signed by the scheme operator with an enveloped XAdES-B signature (exclusive C14N, RSA-SHA256),
so the bytes are deterministic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from . import clock, pki
from .xades import (
    C14N_EXC,
    DIGEST_URIS,
    NS_DS,
    NS_XADES,
    b64,
    canonicalize,
    ds,
    issuer_serial_v2,
    serialize,
    sign_bytes,
    signature_method_uri,
    xades,
)

NS_TSL = "http://uri.etsi.org/02231/v2#"
NS_SIE = "http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#"
NS_ADDTYPES = "http://uri.etsi.org/02231/v2/additionaltypes#"
TSL_TAG = "http://uri.etsi.org/19612/TSLTag"

SVC_CA_QC = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
SVC_QTST = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
SVC_NATIONAL_ROOT = "http://uri.etsi.org/TrstSvc/Svctype/NationalRootCA-QC"
STATUS = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/"
GRANTED = STATUS + "granted"
WITHDRAWN = STATUS + "withdrawn"
RECOGNISED = STATUS + "recognisedatnationallevel"
SIE = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/"
QC_WITH_QSCD = SIE + "QCWithQSCD"
QC_FOR_ESIG = SIE + "QCForESig"
FOR_ESIGNATURES = SIE + "ForeSignatures"
QCP_N_QSCD = "0.4.0.194112.1.2"


def tsl(tag: str) -> str:
    return f"{{{NS_TSL}}}{tag}"


def sie(tag: str) -> str:
    return f"{{{NS_SIE}}}{tag}"


@dataclass(frozen=True)
class Qualification:
    """A QualificationElement: qualifier URIs applied to certificates meeting one criterion."""

    qualifiers: tuple[str, ...]
    policy_oid: str | None = None  # criterion: certificate policy present
    non_repudiation: bool = False  # criterion: keyUsage nonRepudiation set


@dataclass(frozen=True)
class Status:
    status: str
    since: datetime
    qualifications: tuple[Qualification, ...] = ()
    for_esignatures: bool = False


@dataclass(frozen=True)
class Service:
    type_uri: str
    name: str
    cert_label: str
    current: Status
    history: tuple[Status, ...] = ()  # newest first, as TS 119 612 §5.6 orders them


QUALIFIED_CA_QUALIFICATIONS = (
    Qualification((QC_WITH_QSCD,), policy_oid=QCP_N_QSCD),
    Qualification((QC_FOR_ESIG,), non_repudiation=True),
)


def default_services() -> list[Service]:
    return [
        Service(
            SVC_NATIONAL_ROOT,
            "TEST eParaksts Root CA",
            "root",
            Status(RECOGNISED, datetime(2020, 1, 1, tzinfo=UTC)),
        ),
        Service(
            SVC_CA_QC,
            "TEST LV eID ICA 2025",
            "ica",
            Status(GRANTED, datetime(2024, 1, 1, tzinfo=UTC), QUALIFIED_CA_QUALIFICATIONS, True),
        ),
        Service(
            SVC_CA_QC,
            "TEST LV eID ICA 2019",
            "legacy_ica",
            Status(WITHDRAWN, clock.LEGACY_CA_WITHDRAWN, for_esignatures=True),
            history=(
                Status(
                    GRANTED,
                    datetime(2019, 1, 1, tzinfo=UTC),
                    QUALIFIED_CA_QUALIFICATIONS,
                    True,
                ),
            ),
        ),
        Service(
            SVC_QTST,
            "TEST eParaksts TSA 2025",
            "tsa",
            Status(GRANTED, datetime(2025, 1, 1, tzinfo=UTC)),
        ),
    ]


def _sub(
    parent: etree._Element, tag: str, text: str | None = None, **attrib: str
) -> etree._Element:
    child = etree.SubElement(parent, tag, attrib)
    if text is not None:
        child.text = text
    return child


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _names(parent: etree._Element, tag: str, names: Sequence[tuple[str, str]]) -> None:
    holder = _sub(parent, tsl(tag))
    for lang, text in names:
        _sub(holder, tsl("Name"), text, **{"{http://www.w3.org/XML/1998/namespace}lang": lang})


def _uris(parent: etree._Element, tag: str, uris: Sequence[str]) -> None:
    holder = _sub(parent, tsl(tag))
    for uri in uris:
        _sub(holder, tsl("URI"), uri, **{"{http://www.w3.org/XML/1998/namespace}lang": "en"})


def _scheme_information(
    root: etree._Element, sequence: int, issued: datetime, nxt: datetime
) -> None:
    info = _sub(root, tsl("SchemeInformation"))
    _sub(info, tsl("TSLVersionIdentifier"), "5")
    _sub(info, tsl("TSLSequenceNumber"), str(sequence))
    _sub(info, tsl("TSLType"), "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric")
    _names(info, "SchemeOperatorName", [("lv", "TEST Digitālās drošības uzraudzības komiteja")])
    address = _sub(info, tsl("SchemeOperatorAddress"))
    postal = _sub(_sub(address, tsl("PostalAddresses")), tsl("PostalAddress"))
    postal.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    _sub(postal, tsl("StreetAddress"), "TEST street 1")
    _sub(postal, tsl("Locality"), "Riga")
    _sub(postal, tsl("CountryName"), "LV")
    _uris(address, "ElectronicAddress", ["mailto:testpki@sigsvc.invalid"])
    _names(info, "SchemeName", [("en", "LV:TEST ONLY trusted list for sigsvc tests")])
    _uris(info, "SchemeInformationURI", ["https://testpki.sigsvc.invalid/tsl"])
    _sub(
        info,
        tsl("StatusDeterminationApproach"),
        "http://uri.etsi.org/TrstSvc/TrustedList/StatusDetn/EUappropriate",
    )
    _uris(
        info,
        "SchemeTypeCommunityRules",
        ["http://uri.etsi.org/TrstSvc/TrustedList/schemerules/EUcommon"],
    )
    _sub(info, tsl("SchemeTerritory"), "LV")
    notice = _sub(_sub(info, tsl("PolicyOrLegalNotice")), tsl("TSLLegalNotice"), "TEST ONLY")
    notice.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    _sub(info, tsl("HistoricalInformationPeriod"), "65535")
    _sub(info, tsl("ListIssueDateTime"), _iso(issued))
    _sub(_sub(info, tsl("NextUpdate")), tsl("dateTime"), _iso(nxt))
    _sub(
        _sub(info, tsl("DistributionPoints")), tsl("URI"), "https://testpki.sigsvc.invalid/tsl.xml"
    )


def _qualifications(parent: etree._Element, qualifications: Sequence[Qualification]) -> None:
    extension = _sub(parent, tsl("Extension"), Critical="true")
    holder = _sub(extension, sie("Qualifications"))
    for qualification in qualifications:
        element = _sub(holder, sie("QualificationElement"))
        qualifiers = _sub(element, sie("Qualifiers"))
        for uri in qualification.qualifiers:
            _sub(qualifiers, sie("Qualifier"), uri=uri)
        criteria = _sub(element, sie("CriteriaList"), **{"assert": "atLeastOne"})
        if qualification.policy_oid is not None:
            policy = _sub(_sub(criteria, sie("PolicySet")), sie("PolicyIdentifier"))
            # Plain dotted OID (XAdES ObjectIdentifierType without Qualifier): what pyHanko reads.
            _sub(policy, f"{{{NS_XADES}}}Identifier", qualification.policy_oid)
        if qualification.non_repudiation:
            usage = _sub(criteria, sie("KeyUsage"))
            _sub(usage, sie("KeyUsageBit"), "true", name="nonRepudiation")


def _status_block(parent: etree._Element, service: Service, status: Status, history: bool) -> None:
    _sub(parent, tsl("ServiceTypeIdentifier"), service.type_uri)
    _names(parent, "ServiceName", [("en", service.name)])
    cert = pki.cert(service.cert_label)
    identity = _sub(parent, tsl("ServiceDigitalIdentity"))
    # History instances of the real LV list carry only name + SKI; we add the certificate too,
    # since pyHanko's parser needs it to apply history to a certificate.
    _sub(
        _sub(identity, tsl("DigitalId")),
        tsl("X509Certificate"),
        b64(pki.cert_der(service.cert_label)),
    )
    _sub(_sub(identity, tsl("DigitalId")), tsl("X509SubjectName"), cert.subject.human_friendly)
    _sub(_sub(identity, tsl("DigitalId")), tsl("X509SKI"), b64(cert.key_identifier))
    _sub(parent, tsl("ServiceStatus"), status.status)
    _sub(parent, tsl("StatusStartingTime"), _iso(status.since))
    if not history:
        _uris(parent, "TSPServiceDefinitionURI", ["https://testpki.sigsvc.invalid/repository"])
    if status.qualifications or status.for_esignatures:
        extensions = _sub(parent, tsl("ServiceInformationExtensions"))
        if status.qualifications:
            _qualifications(extensions, status.qualifications)
        if status.for_esignatures:
            extension = _sub(extensions, tsl("Extension"), Critical="true")
            _uris(extension, "AdditionalServiceInformation", [FOR_ESIGNATURES])


def _provider(root: etree._Element, services: Sequence[Service]) -> None:
    provider = _sub(_sub(root, tsl("TrustServiceProviderList")), tsl("TrustServiceProvider"))
    info = _sub(provider, tsl("TSPInformation"))
    _names(info, "TSPName", [("en", "TEST sigsvc Valsts radio un televīzijas centrs")])
    _names(info, "TSPTradeName", [("en", "NTRLV-40000000001")])
    address = _sub(info, tsl("TSPAddress"))
    postal = _sub(_sub(address, tsl("PostalAddresses")), tsl("PostalAddress"))
    postal.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    _sub(postal, tsl("StreetAddress"), "TEST street 7")
    _sub(postal, tsl("Locality"), "Riga")
    _sub(postal, tsl("CountryName"), "LV")
    _uris(address, "ElectronicAddress", ["mailto:tsp@sigsvc.invalid"])
    _uris(info, "TSPInformationURI", ["https://testpki.sigsvc.invalid/repository"])
    services_el = _sub(provider, tsl("TSPServices"))
    for service in services:
        element = _sub(services_el, tsl("TSPService"))
        _status_block(_sub(element, tsl("ServiceInformation")), service, service.current, False)
        if service.history:
            history = _sub(element, tsl("ServiceHistory"))
            for past in service.history:
                _status_block(_sub(history, tsl("ServiceHistoryInstance")), service, past, True)


def _sign_enveloped(root: etree._Element, operator: str, signing_time: datetime) -> None:
    """Enveloped XAdES-B-B signature (TS 119 612 §5.7.1) over the whole list."""
    key = pki.private_key(operator)
    cert_der = pki.cert_der(operator)
    document_digest = b64(_sha256(canonicalize(root, C14N_EXC)))
    sid = "tsl-signature"
    signature = _sub(root, ds("Signature"), Id=sid)
    signed_info = _sub(signature, ds("SignedInfo"))
    _sub(signed_info, ds("CanonicalizationMethod"), Algorithm=C14N_EXC)
    _sub(signed_info, ds("SignatureMethod"), Algorithm=signature_method_uri(key, "sha256"))
    ref = _sub(signed_info, ds("Reference"), Id="tsl-ref", URI="")
    transforms = _sub(ref, ds("Transforms"))
    _sub(
        transforms,
        ds("Transform"),
        Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    )
    _sub(transforms, ds("Transform"), Algorithm=C14N_EXC)
    _sub(ref, ds("DigestMethod"), Algorithm=DIGEST_URIS["sha256"])
    _sub(ref, ds("DigestValue"), document_digest)
    props_ref = _sub(
        signed_info,
        ds("Reference"),
        Type="http://uri.etsi.org/01903#SignedProperties",
        URI=f"#{sid}-SignedProperties",
    )
    _sub(_sub(props_ref, ds("Transforms")), ds("Transform"), Algorithm=C14N_EXC)
    _sub(props_ref, ds("DigestMethod"), Algorithm=DIGEST_URIS["sha256"])
    value = _sub(signature, ds("SignatureValue"), Id=f"{sid}-value")
    _sub(_sub(_sub(signature, ds("KeyInfo")), ds("X509Data")), ds("X509Certificate"), b64(cert_der))
    qualifying = _sub(
        _sub(signature, ds("Object")), xades("QualifyingProperties"), Target=f"#{sid}"
    )
    props = _sub(qualifying, xades("SignedProperties"), Id=f"{sid}-SignedProperties")
    ssp = _sub(props, xades("SignedSignatureProperties"))
    _sub(ssp, xades("SigningTime"), _iso(signing_time))
    cert_el = _sub(_sub(ssp, xades("SigningCertificateV2")), xades("Cert"))
    digest_el = _sub(cert_el, xades("CertDigest"))
    _sub(digest_el, ds("DigestMethod"), Algorithm=DIGEST_URIS["sha256"])
    _sub(digest_el, ds("DigestValue"), b64(_sha256(cert_der)))
    _sub(cert_el, xades("IssuerSerialV2"), b64(issuer_serial_v2(pki.cert(operator))))
    dof = _sub(
        _sub(props, xades("SignedDataObjectProperties")),
        xades("DataObjectFormat"),
        ObjectReference="#tsl-ref",
    )
    _sub(dof, xades("MimeType"), "text/xml")
    _sub(props_ref, ds("DigestValue"), b64(_sha256(canonicalize(props, C14N_EXC))))
    value.text = b64(sign_bytes(key, canonicalize(signed_info, C14N_EXC), "sha256"))


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def build_trusted_list(
    *,
    operator: str = "tl_operator",
    sequence: int = 1,
    issued: datetime = clock.TL_ISSUED,
    next_update: datetime = clock.TL_NEXT_UPDATE,
    services: Sequence[Service] | None = None,
    signed: bool = True,
    after_sign: Callable[[etree._Element], None] | None = None,
) -> bytes:
    """The test trusted list's bytes; ``operator`` is the pki.yml label of the signing cert.

    Variants for verifier tests: ``operator="tl_operator_other"`` (signed by a cert that is not
    pinned), ``signed=False``, ``services=[...]`` (another service set), ``after_sign`` (edit the
    tree after signing: a tampered list; see ``tampered_trusted_list``).
    """
    nsmap = {None: NS_TSL, "ds": NS_DS, "xades": NS_XADES, "tslx": NS_ADDTYPES, "tsie": NS_SIE}
    root = etree.Element(tsl("TrustServiceStatusList"), nsmap=nsmap, Id="LV-TSL", TSLTag=TSL_TAG)  # type: ignore[arg-type]
    _scheme_information(root, sequence, issued, next_update)
    _provider(root, default_services() if services is None else services)
    if signed:
        _sign_enveloped(root, operator, issued)
    if after_sign is not None:
        after_sign(root)
    return serialize(root)


def tampered_trusted_list() -> bytes:
    """The default list with the legacy CA's status flipped to granted after signing."""

    def flip(root: etree._Element) -> None:
        for status in root.iter(tsl("ServiceStatus")):
            if status.text == WITHDRAWN:
                status.text = GRANTED
                return

    return build_trusted_list(after_sign=flip)
