"""The test trusted list: deterministic, readable by pyHanko, signed by the pinned operator."""

from __future__ import annotations

import pytest
import requests
from cryptography.x509 import load_der_x509_certificate
from lxml import etree
from pyhanko.sign.validation.qualified import eutl_parse
from signxml.exceptions import InvalidSignature
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

from certification.testpki import Responders, build_trusted_list, pki, tampered_trusted_list
from certification.testpki.clock import LEGACY_CA_WITHDRAWN, TL_ISSUED
from certification.testpki.lotl import LV_TL_URL, build_lotl
from certification.testpki.tsl_xml import NS_TSL


def _verify(tl_xml: bytes, pinned: str = "tl_operator") -> None:
    config = XAdESSignatureConfiguration(
        require_x509=True, expect_references=True, verification_time=TL_ISSUED
    )
    cert = load_der_x509_certificate(pki.cert_der(pinned))
    XAdESVerifier().verify(tl_xml, x509_cert=cert, expect_config=config)


def test_trusted_list_is_deterministic() -> None:
    assert build_trusted_list() == build_trusted_list()


def test_signature_verifies_against_the_pinned_operator() -> None:
    _verify(build_trusted_list())


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda: build_trusted_list(operator="tl_operator_other"), id="other-operator"),
        pytest.param(tampered_trusted_list, id="tampered"),
    ],
)
def test_variants_fail_verification(variant) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidSignature):
        _verify(variant())


def test_unsigned_variant_has_no_signature() -> None:
    root = etree.fromstring(build_trusted_list(signed=False))
    assert root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is None


def test_pyhanko_reads_services_status_history_and_qualifiers() -> None:
    services = list(eutl_parse.read_qualified_service_definitions(build_trusted_list().decode()))
    by_name = {s.base_info.service_name: s for s in services}
    assert set(by_name) == {
        "TEST LV eID ICA 2025",
        "TEST LV eID ICA 2019",
        "TEST eParaksts TSA 2025",
    }
    ica = by_name["TEST LV eID ICA 2025"]
    assert ica.base_info.provider_certs[0].dump() == pki.cert_der("ica")
    assert ica.base_info.valid_until is None
    qualifiers = {q.value for qual in ica.qualifications for q in qual.qualifiers}
    assert qualifiers == {"QCWithQSCD", "QCForESig"}
    legacy = by_name["TEST LV eID ICA 2019"]
    assert legacy.base_info.valid_until == LEGACY_CA_WITHDRAWN
    tsa = by_name["TEST eParaksts TSA 2025"]
    assert tsa.base_info.provider_certs[0].dump() == pki.cert_der("tsa")
    assert "rogue" not in build_trusted_list().decode().lower()


def test_shape_follows_the_latvian_list() -> None:
    root = etree.fromstring(build_trusted_list())
    assert root.tag == f"{{{NS_TSL}}}TrustServiceStatusList"
    assert root.get("TSLTag") == "http://uri.etsi.org/19612/TSLTag"
    ns = {"t": NS_TSL}
    assert root.findtext("t:SchemeInformation/t:SchemeTerritory", namespaces=ns) == "LV"
    assert root.findtext("t:SchemeInformation/t:ListIssueDateTime", namespaces=ns) == (
        "2025-12-01T00:00:00Z"
    )
    statuses = [e.text for e in root.iterfind(".//t:ServiceHistoryInstance/t:ServiceStatus", ns)]
    assert statuses == ["http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"]


def test_lotl_points_at_the_national_list_and_its_signer() -> None:
    lotl_xml = build_lotl()
    _verify(lotl_xml, pinned="lotl_operator")
    parsed = eutl_parse.parse_lotl_unsafe(lotl_xml.decode())
    assert parsed.errors == [] and parsed.pivot_urls == []
    (lv,) = [ref for ref in parsed.references if ref.territory == "LV"]
    assert lv.location_uri == LV_TL_URL
    assert [c.dump() for c in lv.tlso_certs] == [pki.cert_der("tl_operator")]


def test_lists_are_served_over_http(responders: Responders) -> None:
    assert requests.get(responders.trusted_list_url, timeout=10).content == build_trusted_list()
    assert requests.get(responders.lotl_url, timeout=10).content == build_lotl()
