"""Revocation freshness relative to the time stamp (explicit, configurable policy)."""

from __future__ import annotations

import base64
from datetime import timedelta

from lxml import etree

from certification.testpki import Responders, clock, make_form_edoc
from certification.testpki.clients import fetch_ocsp
from certification.testpki.pki import cert
from certification.testpki.sign import TEST_INITIATIVE
from crypto import Policy, Reason

XADES = "http://uri.etsi.org/01903/v1.3.2#"


def _late_ocsp(delay: timedelta):  # type: ignore[no-untyped-def]
    """Replace the embedded OCSP response by one produced `delay` after the time stamp."""

    def edit(sig: etree._Element) -> None:
        value = sig.find(f".//{{{XADES}}}EncapsulatedOCSPValue")
        assert value is not None
        late = fetch_ocsp(cert("valid_p384"), cert("ica"), at=clock.TIMESTAMP_TIME + delay)
        value.text = base64.b64encode(late).decode()

    return edit


def test_embedded_ocsp_within_15_minutes_accepts_offline(check, responders: Responders) -> None:
    container = make_form_edoc(
        "valid_p384", level="LT", after_sign=_late_ocsp(timedelta(minutes=10))
    )
    v = check(container, Policy(initiative=TEST_INITIATIVE), offline=True)
    assert v.verdict == "accept", v.message


def test_embedded_ocsp_too_late_is_not_proof(check, responders: Responders) -> None:
    container = make_form_edoc("valid_p384", level="LT", after_sign=_late_ocsp(timedelta(hours=2)))
    v = check(container, Policy(initiative=TEST_INITIATIVE), offline=True)
    assert v.reason is Reason.REVOCATION_UNAVAILABLE
    assert any("not fresh" in w for w in v.warnings) or "fetching is disabled" in v.message


def test_freshness_window_is_configurable(check, responders: Responders) -> None:
    container = make_form_edoc("valid_p384", level="LT", after_sign=_late_ocsp(timedelta(hours=2)))
    relaxed = Policy(initiative=TEST_INITIATIVE, ocsp_max_delay=timedelta(hours=3))
    v = check(container, relaxed, offline=True)
    assert v.verdict == "accept", v.message


def test_fetched_ocsp_is_kept_as_evidence(check, responders: Responders) -> None:
    v = check(make_form_edoc("valid_p384", level="T"), Policy(initiative=TEST_INITIATIVE))
    assert v.verdict == "accept", v.message
    assert len(v.evidence.ocsp_responses) == 1
    assert v.evidence.chain and v.evidence.timestamp_token
