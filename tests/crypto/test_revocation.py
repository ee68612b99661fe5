"""Revocation freshness relative to the time stamp (explicit, configurable policy)."""

from __future__ import annotations

import base64
from datetime import timedelta

from lxml import etree

from certification.testpki import Responders, clock, make_form_edoc
from certification.testpki.clients import fetch_ocsp
from certification.testpki.pki import cert
from certification.testpki.sign import TEST_INITIATIVE
from crypto import Policy, Reason, SubIndication

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


def test_revocation_at_signing_time_late_ocsp_accepted_with_not_fresh_warning(
    check, responders: Responders
) -> None:
    """EN 319 102-1: good evidence produced after the time stamp, while the certificate is
    still valid, proves it unrevoked then, whatever the delay (warned beyond 15 min)."""
    container = make_form_edoc("valid_p384", level="LT", after_sign=_late_ocsp(timedelta(hours=2)))
    v = check(container, Policy(initiative=TEST_INITIATIVE), offline=True)
    assert v.verdict == "accept", v.message
    (warning,) = [w for w in v.warnings if "not fresh" in w]
    assert "2 h 0 min after the time stamp" in warning


def test_freshness_window_is_configurable(check, responders: Responders) -> None:
    container = make_form_edoc("valid_p384", level="LT", after_sign=_late_ocsp(timedelta(hours=2)))
    relaxed = Policy(initiative=TEST_INITIATIVE, ocsp_max_delay=timedelta(hours=3))
    v = check(container, relaxed, offline=True)
    assert v.verdict == "accept", v.message
    assert not [w for w in v.warnings if "not fresh" in w]


def test_revocation_evidence_older_than_max_age_is_not_proof(check, responders: Responders) -> None:
    """Evidence produced before the time stamp counts only within Policy.revocation_max_age."""
    early = _late_ocsp(-timedelta(hours=2))
    container = make_form_edoc("valid_p384", level="LT", after_sign=early)
    strict = Policy(initiative=TEST_INITIATIVE, revocation_max_age=timedelta(hours=1))
    v = check(container, strict, offline=True)
    assert v.reason is Reason.REVOCATION_UNAVAILABLE
    assert "before the time stamp" in v.message and "fetching is disabled" in v.message
    assert v.subindication is SubIndication.TRY_LATER  # offline: later (online) it can pass


def test_revocation_fresh_evidence_fetched_when_embedded_is_insufficient(
    check, responders: Responders
) -> None:
    early = _late_ocsp(-timedelta(hours=2))
    container = make_form_edoc("valid_p384", level="LT", after_sign=early)
    strict = Policy(initiative=TEST_INITIATIVE, revocation_max_age=timedelta(hours=1))
    v = check(container, strict)  # with the fetcher, as at intake
    assert v.verdict == "accept", v.message
    assert len(v.evidence.ocsp_responses) == 1
    assert v.evidence.ocsp_responses[0] != _embedded_ocsp(container)


def _embedded_ocsp(container: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(container)) as z:
        name = next(n for n in z.namelist() if "signature" in n and n.endswith(".xml"))
        root = etree.fromstring(z.read(name))
    value = root.find(f".//{{{XADES}}}EncapsulatedOCSPValue")
    assert value is not None and value.text
    return base64.b64decode(value.text)


def test_fetched_ocsp_is_kept_as_evidence(check, responders: Responders) -> None:
    v = check(make_form_edoc("valid_p384", level="T"), Policy(initiative=TEST_INITIATIVE))
    assert v.verdict == "accept", v.message
    assert len(v.evidence.ocsp_responses) == 1
    assert v.evidence.chain and v.evidence.timestamp_token
