"""ETSI TS 119 612 trusted lists: the list's own XML signature, then pyHanko's parser.

The signature is checked against pinned scheme-operator certificates at the time the list was
fetched (the operator certificate may have expired since), with signxml's XAdES verifier; only the
signed bytes it returns are parsed, so nothing outside the signature reaches the registry.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import x509
from cryptography.x509 import load_der_x509_certificate
from lxml import etree
from pyhanko.sign.validation.qualified import eutl_parse
from pyhanko.sign.validation.qualified.tsp import TSPRegistry
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

from crypto.errors import TrustListError

_TSL_NS = "http://uri.etsi.org/02231/v2#"  # TS 119 612 §B
_TSL_ROOT = f"{{{_TSL_NS}}}TrustServiceStatusList"


def verified_payload(xml: bytes, signers: list[x509.Certificate], fetched_at: datetime) -> str:
    """Return the signed TrustServiceStatusList XML if one pinned certificate verifies it."""
    if b"<!DOCTYPE" in xml[:4096] or b"<!ENTITY" in xml:
        raise TrustListError("trusted list with a DTD")
    errors = []
    for signer in signers:
        config = XAdESSignatureConfiguration(
            require_x509=True, expect_references=True, verification_time=fetched_at
        )
        try:
            results = XAdESVerifier().verify(
                xml, x509_cert=load_der_x509_certificate(signer.dump()), expect_config=config
            )
        except (InvalidSignature, InvalidInput, ValueError) as exc:
            errors.append(f"{signer.subject.human_friendly}: {exc}")
            continue
        for result in results:
            signed_xml = result.signed_xml
            if signed_xml is not None and signed_xml.tag == _TSL_ROOT:
                return etree.tostring(signed_xml, encoding="unicode")
        errors.append(f"{signer.subject.human_friendly}: signature does not cover the list")
    raise TrustListError("trusted list signature does not verify: " + "; ".join(errors))


def add_to_registry(payload: str, registry: TSPRegistry) -> list[str]:
    """Parse granted CA/QC and QTST services (with status history) into the registry."""
    try:
        _, errors = eutl_parse.trust_list_to_registry_unsafe(payload, registry)
    except Exception as exc:  # xsdata raises parser-specific types on malformed lists
        raise TrustListError(f"trusted list does not parse: {exc}") from exc
    return [str(e) for e in errors]


def lotl_pointers(payload: str) -> dict[str, list[x509.Certificate]]:
    """Territory -> TLSO certificates announced by a verified list of the lists."""
    try:
        parsed = eutl_parse.parse_lotl_unsafe(payload)
    except Exception as exc:  # xsdata raises parser-specific types on malformed lists
        raise TrustListError(f"list of the lists does not parse: {exc}") from exc
    return {ref.territory: list(ref.tlso_certs) for ref in parsed.references}


def claimed_territory(xml: bytes) -> str | None:
    """SchemeTerritory read before verification, only to pick the LOTL-announced signers."""
    try:
        root = etree.fromstring(xml, _UNTRUSTED_PARSER)
    except etree.XMLSyntaxError as exc:
        raise TrustListError(f"trusted list is not well-formed XML: {exc}") from exc
    el = root.find(f"{{{_TSL_NS}}}SchemeInformation/{{{_TSL_NS}}}SchemeTerritory")
    return el.text.strip() if el is not None and el.text else None


_UNTRUSTED_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def list_metadata(payload: str) -> tuple[str | None, int | None, datetime | None, datetime | None]:
    """(territory, sequence number, issue date, next update) of a verified list."""
    root = etree.fromstring(payload.encode("utf-8"))
    info = root.find(f"{{{_TSL_NS}}}SchemeInformation")
    if info is None:
        raise TrustListError("trusted list without SchemeInformation")

    def text(local: str) -> str | None:
        el = info.find(f"{{{_TSL_NS}}}{local}")
        return el.text.strip() if el is not None and el.text else None

    def moment(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    next_update = info.find(f"{{{_TSL_NS}}}NextUpdate/{{{_TSL_NS}}}dateTime")
    seq = text("TSLSequenceNumber")
    return (
        text("SchemeTerritory"),
        int(seq) if seq and seq.isdigit() else None,
        moment(text("ListIssueDateTime")),
        moment(next_update.text.strip() if next_update is not None and next_update.text else None),
    )
