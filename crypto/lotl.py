"""EU LOTL signers through pivot LOTLs (Commission Implementing Decision (EU) 2015/1505 Art. 4,
ETSI TS 119 612 §5.3.7 SchemeInformationURI; the EC's "pivot LOTL" guidance). Pure: the caller
fetches the pivots.

The certificates allowed to sign the LOTL are published in the Official Journal; the operator
pins those. When the Commission changes them, it publishes a *pivot* LOTL signed with the
previous certificates that announces the new ones (its own OtherTSLPointer to the LOTL), and
every later LOTL lists the pivots in SchemeInformationURI, newest first, ahead of the OJ
reference. So a LOTL signed by a certificate that is not pinned is trusted when the pivots it
announces lead, each verified with the certificates the previous one announced, back to one
signed by a pinned certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from asn1crypto import x509
from pyhanko.sign.validation.qualified import eutl_parse

from crypto._internal import tl
from crypto.errors import TrustListError
from crypto.trust import load_certificates

MAX_PIVOTS = 8  # the EU has published two since 2019


def pivot_locations(lotl_xml: bytes) -> list[str]:
    """The pivot LOTLs a LOTL announces, newest first (read before its signature is checked:
    only to know what to fetch; nothing read here is trusted)."""
    if b"<!DOCTYPE" in lotl_xml[:4096] or b"<!ENTITY" in lotl_xml:
        raise TrustListError("list of the lists with a DTD")
    try:
        parsed = eutl_parse.parse_lotl_unsafe(lotl_xml.decode("utf-8"))
    except Exception as exc:  # xsdata raises parser-specific types on malformed lists
        raise TrustListError(f"list of the lists does not parse: {exc}") from exc
    return parsed.pivot_urls[:MAX_PIVOTS]


def lotl_signers(
    lotl_xml: bytes,
    pivots: Sequence[bytes],
    pinned: Sequence[bytes],
    fetched_at: datetime,
) -> tuple[bytes, ...]:
    """DER certificates that verify the LOTL: `pinned` when one of them signs it; else those
    announced by the chain of `pivots` (the documents at `pivot_locations`, same order) from
    the newest one a pinned certificate signs up to the newest. TrustListError otherwise."""
    pinned_certs = [c for blob in pinned for c in load_certificates(blob)]
    try:
        tl.verified_payload(lotl_xml, pinned_certs, fetched_at)
        return tuple(c.dump() for c in pinned_certs)
    except TrustListError as exc:
        if not pivots:
            raise TrustListError(
                f"LOTL not signed by a pinned certificate and it announces no pivot: {exc.message}"
            ) from exc
    start = None
    trusted: list[x509.Certificate] = []
    for index, pivot in enumerate(pivots):  # newest first: the newest one signed by a pin
        try:
            trusted = _announced(pivot, pinned_certs)
        except TrustListError:
            continue
        start = index
        break
    if start is None:
        raise TrustListError("no pivot LOTL it announces is signed by a pinned certificate")
    for pivot in reversed(pivots[:start]):  # then forward in time, each by the one before
        try:
            trusted = _announced(pivot, trusted)
        except TrustListError as exc:
            raise TrustListError(f"pivot LOTL chain broken: {exc.message}") from exc
    try:
        tl.verified_payload(lotl_xml, trusted, fetched_at)
    except TrustListError as exc:
        raise TrustListError(
            f"LOTL not signed by the certificates its newest pivot announces: {exc.message}"
        ) from exc
    return tuple(c.dump() for c in trusted)


def _announced(pivot_xml: bytes, signers: list[x509.Certificate]) -> list[x509.Certificate]:
    """The LOTL signing certificates a pivot announces, once `signers` verify it at its own
    issue time (the certificate that signed it may have expired since)."""
    claimed = _claimed_issue(pivot_xml)
    payload = tl.verified_payload(pivot_xml, signers, claimed)
    if tl.list_metadata(payload)[2] != claimed:
        raise TrustListError("pivot LOTL's signed issue date differs from the unsigned one")
    parsed = eutl_parse.parse_lotl_unsafe(payload)
    for ref in parsed.references:
        if eutl_parse.LOTL_RULE in ref.scheme_rules and ref.tlso_certs:
            return list(ref.tlso_certs)
    raise TrustListError("pivot LOTL announces no LOTL signing certificate")


def _claimed_issue(xml: bytes) -> datetime:
    from lxml import etree

    root = etree.fromstring(xml, tl._UNTRUSTED_PARSER)
    ns = {"t": "http://uri.etsi.org/02231/v2#"}
    text = root.findtext("t:SchemeInformation/t:ListIssueDateTime", namespaces=ns)
    if not text:
        raise TrustListError("pivot LOTL without ListIssueDateTime")
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
