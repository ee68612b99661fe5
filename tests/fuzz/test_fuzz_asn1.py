"""ASN.1 inputs: the real certificates, OCSP responses and time-stamp token of a test-PKI
XAdES-LT signature, damaged at the DER level (tag, length and content bytes, truncation,
splices), through the parsers that read them from hostile containers."""

from __future__ import annotations

import base64
import contextlib
import re

from hypothesis import given
from hypothesis import strategies as st

from crypto import AlgorithmPolicy, Policy, TrustStore
from crypto._internal import responders, revocation
from crypto._internal.timestamp import verify_token
from tests.fuzz.conftest import FUZZ, SIGNATURE, typed_or_ok

TRUST = TrustStore()


def _values(xml: bytes, element: bytes) -> list[bytes]:
    pattern = re.compile(rb"<[\w:]*" + element + rb"[^>]*>([^<]*)<")
    return [base64.b64decode(m.group(1)) for m in pattern.finditer(xml)]


def _damage(der: bytes, data: st.DataObject) -> bytes:
    blob = bytearray(der)
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(["byte", "length", "truncate", "splice"]))
        at = data.draw(st.integers(0, max(len(blob) - 1, 0)))
        if kind == "byte" and blob:
            blob[at] = data.draw(st.integers(0, 255))
        elif kind == "length" and at + 1 < len(blob):
            blob[at + 1] = data.draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF]))
        elif kind == "truncate":
            del blob[at:]
        elif kind == "splice":
            blob[at:at] = blob[: data.draw(st.integers(0, 64))]
    return bytes(blob)


@FUZZ
@given(st.data())
def test_damaged_time_stamp_token(lt_members: dict[str, bytes], data: st.DataObject) -> None:
    (token,) = _values(lt_members[SIGNATURE], b"EncapsulatedTimeStamp")
    typed_or_ok(lambda: verify_token(_damage(token, data), b"x", AlgorithmPolicy()))


@FUZZ
@given(st.data())
def test_damaged_certificates(lt_members: dict[str, bytes], data: st.DataObject) -> None:
    certs = _values(lt_members[SIGNATURE], b"EncapsulatedX509Certificate")
    der = _damage(data.draw(st.sampled_from(certs)), data)
    try:
        cert = TRUST.parse_certificate(der)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        return  # refused at parse: the XAdES layer turns this into MALFORMED_CONTAINER
    for read in (lambda: cert.subject.human_friendly, lambda: cert.ocsp_urls):
        with contextlib.suppress(ValueError, TypeError, KeyError, IndexError, OverflowError):
            read()


@FUZZ
@given(st.data())
def test_damaged_ocsp_responses(lt_members: dict[str, bytes], data: st.DataObject) -> None:
    from certification.testpki.pki import cert, issuer

    leaf, ca = cert("valid_p384"), issuer("valid_p384")
    ocsps = _values(lt_members[SIGNATURE], b"EncapsulatedOCSPValue")
    der = _damage(data.draw(st.sampled_from(ocsps)), data)
    limits = Policy().limits
    typed_or_ok(lambda: revocation._ocsp_about(der, leaf, ca, limits, {}))


@FUZZ
@given(st.data())
def test_damaged_ocsp_responses_keep_their_bytes_when_certificates_are_shared(
    lt_members: dict[str, bytes], data: st.DataObject
) -> None:
    """Sharing the embedded certificates (crypto._internal.responders) never raises and never
    changes the bytes pyhanko verifies, whatever the damage (each DER twice: the second time
    the store hands out its fully parsed certificate)."""
    from asn1crypto import ocsp

    ocsps = _values(lt_members[SIGNATURE], b"EncapsulatedOCSPValue")
    der = _damage(data.draw(st.sampled_from(ocsps)), data)
    try:
        received = ocsp.OCSPResponse.load(der).dump()  # what pyhanko would read of it
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        return  # not a response at all: revocation.evidence refuses it first
    for _ in range(2):
        response = responders.with_shared_certificates(der, TRUST.parse_certificate)
        assert response.dump() == received
