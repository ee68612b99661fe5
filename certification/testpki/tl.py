"""The test trusted list (ETSI TS 119 612 v2.x), shaped like the Latvian one (TSL sequence 41).

One TSP ("TEST sigsvc ... centrs") with: the qualified issuing CA (CA/QC, granted, QCWithQSCD for
QCP-n-qscd certificates and QCForESig for nonRepudiation certificates), a legacy CA/QC service
withdrawn at ``clock.LEGACY_CA_WITHDRAWN`` (granted before: history), the qualified TSA
(TSA/QTST, granted) and the national root (NationalRootCA-QC). The rogue CA is not listed.
Signed by the scheme operator with an enveloped XAdES-B signature (exclusive C14N, RSA-SHA256),
so the bytes are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.x509 import load_der_x509_certificate
from lxml import etree

from . import clock, pki
from .tsl_xml import NS_ADDTYPES as NS_ADDTYPES  # re-export: callers of the first version
from .tsl_xml import (
    NS_SIE,
    XML_LANG,
    iso,
    names,
    new_list,
    scheme_information,
    sign_enveloped,
    sub,
    tsl,
    uris,
)
from .xades import NS_XADES, b64, serialize

# First-version name, kept so existing tests that build their own LOTL keep working.
_sign_enveloped = sign_enveloped

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


def _qualifications(parent: etree._Element, qualifications: Sequence[Qualification]) -> None:
    extension = sub(parent, tsl("Extension"), Critical="true")
    holder = sub(extension, sie("Qualifications"))
    for qualification in qualifications:
        element = sub(holder, sie("QualificationElement"))
        qualifiers = sub(element, sie("Qualifiers"))
        for uri in qualification.qualifiers:
            sub(qualifiers, sie("Qualifier"), uri=uri)
        criteria = sub(element, sie("CriteriaList"), **{"assert": "atLeastOne"})
        if qualification.policy_oid is not None:
            policy = sub(sub(criteria, sie("PolicySet")), sie("PolicyIdentifier"))
            # Plain dotted OID (XAdES ObjectIdentifierType without Qualifier): what pyHanko reads.
            sub(policy, f"{{{NS_XADES}}}Identifier", qualification.policy_oid)
        if qualification.non_repudiation:
            usage = sub(criteria, sie("KeyUsage"))
            sub(usage, sie("KeyUsageBit"), "true", name="nonRepudiation")


def _status_block(parent: etree._Element, service: Service, status: Status, history: bool) -> None:
    sub(parent, tsl("ServiceTypeIdentifier"), service.type_uri)
    names(parent, "ServiceName", [("en", service.name)])
    cert = pki.cert(service.cert_label)
    identity = sub(parent, tsl("ServiceDigitalIdentity"))
    # History instances carry only name + SKI, as on the real LV list (crypto binds them to
    # the service's current certificate by both).
    if not history:
        sub(
            sub(identity, tsl("DigitalId")),
            tsl("X509Certificate"),
            b64(pki.cert_der(service.cert_label)),
        )
    subject = load_der_x509_certificate(pki.cert_der(service.cert_label)).subject
    sub(sub(identity, tsl("DigitalId")), tsl("X509SubjectName"), subject.rfc4514_string())
    sub(sub(identity, tsl("DigitalId")), tsl("X509SKI"), b64(cert.key_identifier))
    sub(parent, tsl("ServiceStatus"), status.status)
    sub(parent, tsl("StatusStartingTime"), iso(status.since))
    if not history:
        uris(parent, "TSPServiceDefinitionURI", ["https://testpki.sigsvc.invalid/repository"])
    if status.qualifications or status.for_esignatures:
        extensions = sub(parent, tsl("ServiceInformationExtensions"))
        if status.qualifications:
            _qualifications(extensions, status.qualifications)
        if status.for_esignatures:
            extension = sub(extensions, tsl("Extension"), Critical="true")
            uris(extension, "AdditionalServiceInformation", [FOR_ESIGNATURES])


def _provider(root: etree._Element, services: Sequence[Service]) -> None:
    provider = sub(sub(root, tsl("TrustServiceProviderList")), tsl("TrustServiceProvider"))
    info = sub(provider, tsl("TSPInformation"))
    names(info, "TSPName", [("en", "TEST sigsvc Valsts radio un televīzijas centrs")])
    names(info, "TSPTradeName", [("en", "NTRLV-40000000001")])
    address = sub(info, tsl("TSPAddress"))
    postal = sub(sub(address, tsl("PostalAddresses")), tsl("PostalAddress"))
    postal.set(XML_LANG, "en")
    sub(postal, tsl("StreetAddress"), "TEST street 7")
    sub(postal, tsl("Locality"), "Riga")
    sub(postal, tsl("CountryName"), "LV")
    uris(address, "ElectronicAddress", ["mailto:tsp@sigsvc.invalid"])
    uris(info, "TSPInformationURI", ["https://testpki.sigsvc.invalid/repository"])
    services_el = sub(provider, tsl("TSPServices"))
    for service in services:
        element = sub(services_el, tsl("TSPService"))
        _status_block(sub(element, tsl("ServiceInformation")), service, service.current, False)
        if service.history:
            history = sub(element, tsl("ServiceHistory"))
            for past in service.history:
                _status_block(sub(history, tsl("ServiceHistoryInstance")), service, past, True)


def build_trusted_list(
    *,
    operator: str = "tl_operator",
    sequence: int = 1,
    issued: datetime = clock.TL_ISSUED,
    next_update: datetime = clock.TL_NEXT_UPDATE,
    services: Sequence[Service] | None = None,
    signed: bool = True,
    after_sign: Callable[[etree._Element], None] | None = None,
    territory: str = "LV",
) -> bytes:
    """The test trusted list's bytes; ``operator`` is the pki.yml label of the signing cert.

    Variants for verifier tests: ``operator="tl_operator_other"`` (signed by a cert that is not
    pinned), ``signed=False``, ``services=[...]`` (another service set), ``after_sign`` (edit the
    tree after signing: a tampered list; see ``tampered_trusted_list``).
    """
    root = new_list("LV-TSL")
    scheme_information(
        root, sequence=sequence, issued=issued, next_update=next_update, territory=territory
    )
    _provider(root, default_services() if services is None else services)
    if signed:
        sign_enveloped(root, operator, issued)
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
