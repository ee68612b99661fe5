"""TrustStore: test TL pinned to its operator, EU LOTL -> national list, status history."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from lxml import etree

from certification.testpki import clock
from certification.testpki.pki import cert_der
from certification.testpki.tl import NS_ADDTYPES, _sign_enveloped, build_trusted_list, tsl
from crypto import TrustedListSource, TrustStore, VerificationError
from crypto.trust import CA_QC_URI, TrustedListInfo
from tests.crypto.conftest import TL_FETCHED

LOTL_FETCHED = TL_FETCHED


def _lotl(lv_operator: str = "tl_operator", signer: str = "tl_operator_other") -> bytes:
    """A list of the lists announcing LV's TLSO certificate, signed by another operator."""

    def point(root: etree._Element) -> None:
        info = root.find(tsl("SchemeInformation"))
        assert info is not None
        territory = info.find(tsl("SchemeTerritory"))
        assert territory is not None
        territory.text = "EU"
        pointers = etree.Element(tsl("PointersToOtherTSL"))
        pointer = etree.SubElement(pointers, tsl("OtherTSLPointer"))
        ids = etree.SubElement(pointer, tsl("ServiceDigitalIdentities"))
        digital_id = etree.SubElement(
            etree.SubElement(ids, tsl("ServiceDigitalIdentity")), tsl("DigitalId")
        )
        etree.SubElement(digital_id, tsl("X509Certificate")).text = base64.b64encode(
            cert_der(lv_operator)
        ).decode()
        etree.SubElement(pointer, tsl("TSLLocation")).text = "https://testpki.invalid/lv.xml"
        extra = etree.SubElement(pointer, tsl("AdditionalInformation"))
        etree.SubElement(
            etree.SubElement(extra, tsl("OtherInformation")), tsl("SchemeTerritory")
        ).text = "LV"
        etree.SubElement(
            etree.SubElement(extra, tsl("OtherInformation")), f"{{{NS_ADDTYPES}}}MimeType"
        ).text = "application/vnd.etsi.tsl+xml"
        issue = info.find(tsl("ListIssueDateTime"))
        assert issue is not None
        issue.addprevious(pointers)
        _sign_enveloped(root, signer, clock.TL_ISSUED)

    return build_trusted_list(signed=False, after_sign=point)


def test_pinned_test_list_loads_with_metadata(trust: TrustStore) -> None:
    (info,) = trust.lists
    assert info == TrustedListInfo(
        "LV", 1, clock.TL_ISSUED, clock.TL_NEXT_UPDATE, TL_FETCHED, False
    )
    kinds = {(s.kind, s.name) for s in trust.services()}
    assert ("CA/QC", "TEST LV eID ICA 2025") in kinds
    assert ("QTST", "TEST eParaksts TSA 2025") in kinds


def test_status_history_is_honoured(trust: TrustStore) -> None:
    from certification.testpki.pki import cert

    legacy = cert("legacy_ica")
    assert trust.granted_services(legacy, datetime(2025, 8, 1, tzinfo=UTC), CA_QC_URI)
    assert not trust.granted_services(legacy, clock.SIGNING_TIME, CA_QC_URI)


def test_stale_list_is_flagged() -> None:
    late = clock.TL_NEXT_UPDATE.replace(day=2)
    store = TrustStore(
        trusted_lists=[TrustedListSource(build_trusted_list(), (cert_der("tl_operator"),), late)]
    )
    assert store.lists[0].stale


def test_lotl_announces_the_national_operator() -> None:
    store = TrustStore(
        lotl=TrustedListSource(_lotl(), (cert_der("tl_operator_other"),), LOTL_FETCHED),
        trusted_lists=[TrustedListSource(build_trusted_list(), (), LOTL_FETCHED)],
    )
    assert store.lists[0].territory == "LV"
    assert any(s.name == "TEST LV eID ICA 2025" for s in store.services())


def test_lotl_signature_is_checked() -> None:
    with pytest.raises(VerificationError):
        TrustStore(
            lotl=TrustedListSource(_lotl(), (cert_der("tl_operator"),), LOTL_FETCHED),
            trusted_lists=[TrustedListSource(build_trusted_list(), (), LOTL_FETCHED)],
        )


def test_national_list_by_unannounced_operator_is_rejected() -> None:
    with pytest.raises(VerificationError):
        TrustStore(
            lotl=TrustedListSource(
                _lotl(lv_operator="tl_operator_other"),
                (cert_der("tl_operator_other"),),
                LOTL_FETCHED,
            ),
            trusted_lists=[TrustedListSource(build_trusted_list(), (), LOTL_FETCHED)],
        )


def test_unpinned_list_without_lotl_is_rejected() -> None:
    with pytest.raises(VerificationError):
        TrustStore(trusted_lists=[TrustedListSource(build_trusted_list(), (), LOTL_FETCHED)])
