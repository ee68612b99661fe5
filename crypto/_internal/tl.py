"""ETSI TS 119 612 trusted lists: the list's own XML signature, then pyHanko's parser.

The signature is checked against pinned scheme-operator certificates at the time the list was
fetched (the operator certificate may have expired since), with signxml's XAdES verifier; only the
signed bytes it returns are parsed, so nothing outside the signature reaches the registry.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    payload, notes = bind_history_identities(payload)
    try:
        with _library_warnings() as logged:
            _, errors = eutl_parse.trust_list_to_registry_unsafe(payload, registry)
        notes.extend(logged)
    except Exception as exc:  # xsdata raises parser-specific types on malformed lists
        raise TrustListError(f"trusted list does not parse: {exc}") from exc
    return notes + [str(e) for e in errors]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        cause = record.exc_info[1] if record.exc_info else None
        self.lines.append(record.getMessage() + (f" ({cause})" if cause else ""))


_LOGGING = threading.Lock()


@contextmanager
def _library_warnings() -> Iterator[list[str]]:
    """pyHanko's parser logs warnings with tracebacks (e.g. an unsupported extension); take
    them as lines of the store's parse warnings instead of stderr output."""
    logger = logging.getLogger(eutl_parse.__name__)
    handler = _Collect()
    with _LOGGING:
        propagate = logger.propagate
        logger.addHandler(handler)
        logger.propagate = False
        try:
            yield handler.lines
        finally:
            logger.removeHandler(handler)
            logger.propagate = propagate


# -- ServiceHistoryInstance identities (TS 119 612 §5.6.2) -------------------------------------
# A history entry may identify its service by X509SubjectName + X509SKI only, with no
# certificate. pyHanko's parser (eutl_parse._as_certs) reads certificates only, so it dropped
# every such granted period (20 of 26 on the LV list, seq. 41): a signature from a CA withdrawn
# since became UNTRUSTED_CHAIN. We bind each such entry, before parsing, to the certificates
# of the same TSPService whose subject and SKI both match (ADR 0005; to upstream to pyHanko).

_SHORT_NAMES = {
    "common_name": "CN",
    "organizational_unit_name": "OU",
    "organization_name": "O",
    "country_name": "C",
    "locality_name": "L",
    "state_or_province_name": "ST",
    "serial_number": "SERIALNUMBER",
    "organization_identifier": "2.5.4.97",
    "email_address": "E",
}
_ALIASES = {"ORGANIZATIONIDENTIFIER": "2.5.4.97", "EMAILADDRESS": "E", "S": "ST"}


def _name_set_from_text(text: str) -> frozenset[tuple[str, str]]:
    """RFC 4514-like text (as trusted lists write it, spaces after commas) -> attribute set."""
    out = set()
    for part in re.split(r"(?<!\\),", text):
        key, sep, value = part.partition("=")
        if not sep:
            continue
        key = key.strip().upper()
        key = _ALIASES.get(key, key)
        if key.startswith("OID."):
            key = key[4:]
        out.add((key, value.strip().replace("\\,", ",").casefold()))
    return frozenset(out)


def _name_set_of(cert: x509.Certificate) -> frozenset[tuple[str, str]]:
    out = set()
    for rdn in cert.subject.chosen:
        for attr in rdn:
            short = _SHORT_NAMES.get(attr["type"].native, attr["type"].dotted)
            out.add((short, str(attr["value"].native).strip().casefold()))
    return frozenset(out)


def _tsl(local: str) -> str:
    return f"{{{_TSL_NS}}}{local}"


def bind_history_identities(payload: str) -> tuple[str, list[str]]:
    """Give each certificate-less history entry the matching certificates of its service."""
    root = etree.fromstring(payload.encode("utf-8"), _UNTRUSTED_PARSER)
    notes: list[str] = []
    changed = False
    for service in root.iter(_tsl("TSPService")):
        current = service.find(f"{_tsl('ServiceInformation')}/{_tsl('ServiceDigitalIdentity')}")
        certs = _certs_of(current)
        for sdi in service.iterfind(
            f"{_tsl('ServiceHistory')}/{_tsl('ServiceHistoryInstance')}/{_tsl('ServiceDigitalIdentity')}"
        ):
            if sdi.find(f"{_tsl('DigitalId')}/{_tsl('X509Certificate')}") is not None:
                continue
            subject = sdi.findtext(f"{_tsl('DigitalId')}/{_tsl('X509SubjectName')}")
            ski = sdi.findtext(f"{_tsl('DigitalId')}/{_tsl('X509SKI')}")
            matches = [
                der
                for cert, der in certs
                if (subject is None or _name_set_from_text(subject) == _name_set_of(cert))
                and (ski is None or base64.b64decode(ski) == cert.key_identifier)
                and (subject is not None or ski is not None)
            ]
            if not matches:
                notes.append(
                    f"history entry {subject or ski!r} matches no certificate of its service"
                )
                continue
            for der in matches:
                digital_id = etree.SubElement(sdi, _tsl("DigitalId"))
                etree.SubElement(digital_id, _tsl("X509Certificate")).text = base64.b64encode(
                    der
                ).decode()
            changed = True
    if not changed:
        return payload, notes
    return etree.tostring(root, encoding="unicode"), notes


def _certs_of(sdi: etree._Element | None) -> list[tuple[x509.Certificate, bytes]]:
    if sdi is None:
        return []
    out = []
    for el in sdi.iterfind(f"{_tsl('DigitalId')}/{_tsl('X509Certificate')}"):
        if not el.text:
            continue
        try:
            der = base64.b64decode("".join(el.text.split()))
            out.append((x509.Certificate.load(der), der))
        except ValueError:
            continue
    return out


@dataclass(frozen=True)
class ListReference:
    """A national list as a verified LOTL announces it (TS 119 612 §5.3.13 OtherTSLPointer)."""

    territory: str
    location: str
    operators: tuple[x509.Certificate, ...]


def lotl_references(payload: str) -> dict[str, ListReference]:
    """Territory -> where its list is and who may sign it, from a verified list of the lists."""
    try:
        parsed = eutl_parse.parse_lotl_unsafe(payload)
    except Exception as exc:  # xsdata raises parser-specific types on malformed lists
        raise TrustListError(f"list of the lists does not parse: {exc}") from exc
    return {
        ref.territory: ListReference(ref.territory, ref.location_uri, tuple(ref.tlso_certs))
        for ref in parsed.references
    }


def lotl_pointers(payload: str) -> dict[str, list[x509.Certificate]]:
    """Territory -> TLSO certificates announced by a verified list of the lists."""
    return {t: list(ref.operators) for t, ref in lotl_references(payload).items()}


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
