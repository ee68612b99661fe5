"""The real Latvian trusted list (seq. 41) and the EU LOTL as DSS caches them."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

import crypto
from crypto import Policy, TrustedListSource, TrustStore
from crypto._internal import tl
from crypto.trust import load_certificates

pytestmark = pytest.mark.interop

TSL = {"t": "http://uri.etsi.org/02231/v2#"}
LV_ISSUED = datetime(2023, 9, 12, tzinfo=UTC)  # the list is checked at its issue time
GRANTED = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
KINDS = {
    "http://uri.etsi.org/TrstSvc/Svctype/CA/QC": "CA/QC",
    "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST": "QTST",
}


def _keyinfo_cert(xml: bytes) -> bytes:
    match = re.search(rb"<ds:KeyInfo>.*?<ds:X509Certificate>([^<]+)", xml, re.S)
    assert match
    return base64.b64decode(b"".join(match.group(1).split()))


@pytest.fixture(scope="module")
def lv_xml(interop_dir: Path) -> bytes:
    return (interop_dir / "latvian-tsl-seq41.xml").read_bytes()


@pytest.fixture(scope="module")
def lv_trust(lv_xml: bytes) -> TrustStore:
    source = TrustedListSource(lv_xml, (_keyinfo_cert(lv_xml),), LV_ISSUED)
    return TrustStore(trusted_lists=[source])


def test_tl_history_granted_periods_counted_independently(
    lv_xml: bytes, lv_trust: TrustStore
) -> None:
    """Every granted period (current status or history) of a CA/QC or QTST service, counted
    by XPath over the XML, is a period of the trust store."""
    root = etree.fromstring(lv_xml)
    periods = root.xpath(
        "//t:TSPService/t:ServiceInformation[t:ServiceStatus=$g]"
        " | //t:TSPService/t:ServiceHistory/t:ServiceHistoryInstance[t:ServiceStatus=$g]",
        namespaces=TSL,
        g=GRANTED,
    )
    expected: dict[str, int] = {}
    for period in periods:
        kind = KINDS.get(period.findtext("t:ServiceTypeIdentifier", namespaces=TSL))
        if kind is not None:
            expected[kind] = expected.get(kind, 0) + 1
    loaded: dict[str, int] = {}
    for service in lv_trust.services():
        loaded[service.kind] = loaded.get(service.kind, 0) + 1
    assert sum(expected.values()) == 26  # what the issue counted by hand
    assert loaded == expected


def test_lv_prod_eid2021_accepted_at_its_time_stamp(interop_dir: Path, lv_trust: TrustStore):
    data = (interop_dir / "lv_prod_eid2021-T.edoc").read_bytes()
    ts = datetime(2021, 3, 4, 10, 45, 3, tzinfo=UTC)
    v = crypto.verify(data, policy=Policy(), trust=lv_trust, fetcher=None, at=ts + timedelta(1))
    assert v.accepted, v.message
    assert v.signing_time == ts and v.trust_source == "trusted-list"
    assert v.signer is not None and v.signer.serial_number == "PNOLV-110187-12529"


def test_real_lotl_names_the_lv_list_and_its_operators(interop_dir: Path, lv_xml: bytes) -> None:
    lotl_xml = (interop_dir / "eu-lotl-dss-cache.xml").read_bytes()
    signer = load_certificates(_keyinfo_cert(lotl_xml))
    issued = datetime(2023, 9, 27, 9, 0, 29, tzinfo=UTC)
    pointers = tl.lotl_references(tl.verified_payload(lotl_xml, signer, issued))
    lv = pointers["LV"]
    assert lv.location.startswith("https://") and "tsl" in lv.location.lower()
    assert _keyinfo_cert(lv_xml) in {c.dump() for c in lv.operators}
    # and those announced operators verify the list on their own (no pinning of the LV cert)
    announced = TrustStore(
        lotl=TrustedListSource(lotl_xml, (_keyinfo_cert(lotl_xml),), issued),
        trusted_lists=[TrustedListSource(lv_xml, (), LV_ISSUED)],
    )
    assert [(i.territory, i.sequence) for i in announced.lists] == [("LV", 41)]


def test_real_lotl_pivots_are_found(interop_dir: Path) -> None:
    """The real LOTL (seq. 332) announces its pivot LOTLs in SchemeInformationURI, newest
    first, ahead of the Official Journal reference (crypto.lotl follows them)."""
    from crypto.lotl import pivot_locations

    lotl_xml = (interop_dir / "eu-lotl-dss-cache.xml").read_bytes()
    listed = [
        uri.text
        for uri in etree.fromstring(lotl_xml).iterfind(
            "t:SchemeInformation/t:SchemeInformationURI/t:URI", TSL
        )
    ]
    expected = [u for u in listed if u and "pivot" in u]  # independently: by the EU's naming
    assert expected == [
        "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-300.xml",
        "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-282.xml",
    ]
    assert pivot_locations(lotl_xml) == expected
