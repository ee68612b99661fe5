"""The TSA certificate's revocation at genTime, when it chains to an anchor (a TSA certificate
that is itself the listed QTST service has its trusted-list status as its status)."""

from __future__ import annotations

import pytest
from lxml import etree

from certification.testpki import Responders, make_form_edoc
from certification.testpki.pki import cert_der
from certification.testpki.tl import build_trusted_list, default_services
from crypto import FetchError, Policy, Reason, SubIndication, TrustedListSource, TrustStore, verify
from sigsvc.intake.fetchers import HttpFetcher

from .conftest import AT, TL_FETCHED

XADES = "http://uri.etsi.org/01903/v1.3.2#"


@pytest.fixture(scope="module")
def tsa_by_its_ca() -> TrustStore:
    """The TSA not listed itself: trusted through its CA (a test anchor), so its certificate's
    revocation has to be shown."""
    services = [s for s in default_services() if s.cert_label != "tsa"]
    source = TrustedListSource(
        build_trusted_list(services=services), (cert_der("tl_operator"),), TL_FETCHED
    )
    return TrustStore(trusted_lists=[source], test_anchors=[cert_der("tsa_ca")])


class _Down:
    def ocsp(self, url: str, request_der: bytes) -> bytes:
        raise FetchError(f"{url}: connection refused")

    def crl(self, url: str) -> bytes:
        raise FetchError(f"{url}: connection refused")

    def certificate(self, url: str) -> bytes:
        raise FetchError(f"{url}: connection refused")


def test_tsa_revocation_checked_online(
    tsa_by_its_ca: TrustStore, responders: Responders, fetcher: HttpFetcher
) -> None:
    container = make_form_edoc("valid_p384", level="LT")
    v = verify(container, policy=Policy(), trust=tsa_by_its_ca, fetcher=fetcher, at=AT)
    assert v.accepted, v.message


def _without_tsa_ocsp(sig: etree._Element) -> None:
    """Drop the embedded OCSP response about the TSA's certificate (the second one)."""
    values = list(sig.iter(f"{{{XADES}}}EncapsulatedOCSPValue"))
    assert len(values) == 2
    values[1].getparent().remove(values[1])


def test_tsa_revocation_evidence_embedded_used_offline(
    tsa_by_its_ca: TrustStore, responders: Responders
) -> None:
    container = make_form_edoc("valid_p384", level="LT")
    v = verify(container, policy=Policy(), trust=tsa_by_its_ca, fetcher=None, at=AT)
    assert v.accepted, v.message


def test_tsa_revocation_missing_is_fetched_and_an_outage_is_retryable(
    tsa_by_its_ca: TrustStore, responders: Responders, fetcher: HttpFetcher
) -> None:
    container = make_form_edoc("valid_p384", level="LT", after_sign=_without_tsa_ocsp)
    down = verify(container, policy=Policy(), trust=tsa_by_its_ca, fetcher=_Down(), at=AT)
    assert (down.reason, down.subindication) == (
        Reason.REVOCATION_UNAVAILABLE,
        SubIndication.TRY_LATER,
    )
    assert "ocsp/tsa-ca-ocsp" in down.message
    up = verify(container, policy=Policy(), trust=tsa_by_its_ca, fetcher=fetcher, at=AT)
    assert up.accepted, up.message


def test_tsa_listed_itself_needs_no_revocation(trust: TrustStore, responders: Responders) -> None:
    container = make_form_edoc("valid_p384", level="LT")
    v = verify(container, policy=Policy(), trust=trust, fetcher=_Down(), at=AT)
    assert v.accepted, v.message


def test_archive_tsa_revocation_checked_and_an_outage_is_retryable(
    tsa_by_its_ca: TrustStore, responders: Responders, fetcher: HttpFetcher
) -> None:
    """The archive time stamp's TSA (another certificate of the anchored TSA CA, no evidence
    embedded for it) is shown unrevoked at the archive genTime like the signature TSA."""
    container = make_form_edoc("valid_p384", level="LTA", archive_tsa="unlisted-tsa")
    up = verify(container, policy=Policy(), trust=tsa_by_its_ca, fetcher=fetcher, at=AT)
    assert up.accepted, up.message
    assert up.level == "XAdES-BASELINE-LTA"
    down = verify(container, policy=Policy(), trust=tsa_by_its_ca, fetcher=_Down(), at=AT)
    assert (down.reason, down.subindication) == (
        Reason.REVOCATION_UNAVAILABLE,
        SubIndication.TRY_LATER,
    )
    assert "ocsp/tsa-ca-ocsp" in down.message
