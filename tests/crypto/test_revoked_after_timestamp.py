"""EN 319 102-1: a certificate revoked after the time stamp was valid when the signature was made.

The `revoked` test signer's certificate is revoked at clock.REVOKED_AT (key compromise); these
signatures are time-stamped shortly before or exactly at that moment, and their embedded OCSP
response, produced later, says "revoked at REVOKED_AT".
"""

from __future__ import annotations

import base64
from datetime import timedelta

from asn1crypto import ocsp
from lxml import etree

from certification.testpki import Responders, clock, make_form_edoc
from certification.testpki.pki import cert
from crypto import Policy, Reason, TrustStore, Verdict, verify

XADES = "http://uri.etsi.org/01903/v1.3.2#"
BEFORE = clock.REVOKED_AT - timedelta(days=30)


def _signed_at(timestamp_at, **options) -> bytes:  # type: ignore[no-untyped-def]
    return make_form_edoc(
        "revoked",
        level="LT",
        signing_date=(timestamp_at + timedelta(hours=2)).date(),
        signing_time=timestamp_at - timedelta(seconds=5),
        timestamp_at=timestamp_at,
        ocsp_at=clock.RESPONDER_TIME,  # long after the revocation
        **options,
    )


def _verify(container: bytes, trust: TrustStore, fetcher=None) -> Verdict:  # type: ignore[no-untyped-def]
    return verify(container, policy=Policy(), trust=trust, fetcher=fetcher, at=clock.RESPONDER_TIME)


def test_revoked_with_a_revocation_time_after_the_time_stamp_is_not_a_reject(
    trust: TrustStore, responders: Responders
) -> None:
    v = _verify(_signed_at(BEFORE), trust)
    assert v.verdict == "accept", (v.reason, v.message)
    (line,) = [w for w in v.warnings if "revoked" in w]
    assert "2025-06-01" in line and "after the time stamp" in line, line
    assert "not fresh" not in " ".join(v.warnings)  # the revocation time, not the delay, decides


def test_revoked_at_the_time_stamp_is_cert_revoked(
    trust: TrustStore, responders: Responders
) -> None:
    v = _verify(_signed_at(clock.REVOKED_AT), trust)
    assert v.reason is Reason.CERT_REVOKED, (v.reason, v.message)


def test_revoked_before_the_time_stamp_is_cert_revoked(
    trust: TrustStore, responders: Responders
) -> None:
    v = _verify(_signed_at(clock.REVOKED_AT + timedelta(days=1)), trust)
    assert v.reason is Reason.CERT_REVOKED, (v.reason, v.message)


def _forge_revocation_signature(sig: etree._Element) -> None:
    """Flip one bit of the signature of the embedded OCSP response about the signer."""
    serial = cert("revoked").serial_number
    for value in sig.iter(f"{{{XADES}}}EncapsulatedOCSPValue"):
        response = ocsp.OCSPResponse.load(base64.b64decode(value.text or ""))
        basic = response["response_bytes"]["response"].parsed
        single = basic["tbs_response_data"]["responses"][0]
        if single["cert_id"]["serial_number"].native != serial:
            continue
        der = bytearray(response.dump())
        signature = bytes(basic["signature"].contents)
        at = bytes(der).rindex(signature) + len(signature) - 1
        der[at] ^= 0x01
        value.text = base64.b64encode(bytes(der)).decode()
        return
    raise AssertionError("no embedded OCSP response about the signer")


def test_revoked_after_the_time_stamp_needs_an_authentic_response(
    trust: TrustStore, responders: Responders
) -> None:
    """The later revocation time is believed only from a response that verifies."""
    v = _verify(_signed_at(BEFORE, after_sign=_forge_revocation_signature), trust)
    assert v.reason is Reason.REVOCATION_UNAVAILABLE, (v.reason, v.message)
