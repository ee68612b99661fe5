"""Reason precedence and true messages: a failure is reported as what it is."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from datetime import timedelta

from asn1crypto import algos, x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from certification.testpki import TEST_INITIATIVE, Responders, make_form_edoc, signer
from certification.testpki.pki import private_key
from crypto import FetchError, Policy, Reason, SubIndication, TrustStore, verify

from .conftest import AT

LATER = AT + timedelta(days=3)  # the form's date cannot match a verification time this late


def test_reason_precedence_no_timestamp_over_form_date(
    trust: TrustStore, responders: Responders
) -> None:
    container = make_form_edoc("valid_p384", level="B")
    policy = Policy(initiative=TEST_INITIATIVE)
    v = verify(container, policy=policy, trust=trust, fetcher=None, at=LATER)
    assert v.reason is Reason.NO_TIMESTAMP, v.message


def test_reason_precedence_timestamp_invalid_over_form_date(
    trust: TrustStore, responders: Responders
) -> None:
    container = make_form_edoc("valid_p384", level="LT", tsa="unlisted-tsa")
    policy = Policy(initiative=TEST_INITIATIVE)
    v = verify(container, policy=policy, trust=trust, fetcher=None, at=LATER)
    assert v.reason is Reason.TIMESTAMP_INVALID, v.message


def _resigned_with_sha1(label: str) -> bytes:
    """`label`'s certificate re-signed by its issuer's key with SHA-1."""
    person = signer(label)
    cert = x509.Certificate.load(person.cert_der)
    key = private_key("ica")
    tbs = cert["tbs_certificate"].copy()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        name = "sha1_ecdsa"
        sign = lambda data: key.sign(data, ec.ECDSA(hashes.SHA1()))  # noqa: E731
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        name = "sha1_rsa"
        sign = lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA1())  # noqa: E731
    tbs["signature"] = algos.SignedDigestAlgorithm({"algorithm": name})
    signed = x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": name}),
            "signature_value": sign(tbs.dump(force=True)),
        }
    )
    return bytes(signed.dump(force=True))


def test_reason_precedence_sha1_certificate_is_weak_algorithm(
    trust: TrustStore, responders: Responders
) -> None:
    person = signer("valid_p384")
    weak = replace(person, cert_der=_resigned_with_sha1("valid_p384"))
    container = make_form_edoc(weak, level="T")
    v = verify(container, policy=Policy(), trust=trust, fetcher=None, at=AT)
    assert v.reason is Reason.WEAK_ALGORITHM, v.message
    assert "SHA1" in v.message


def _without_mimetype(container: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(container)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != "mimetype":
                dst.writestr(info, src.read(info))
    return out.getvalue()


def test_messages_no_mimetype_vs_mimetype_not_first(
    trust: TrustStore, responders: Responders
) -> None:
    container = _without_mimetype(make_form_edoc("valid_p384"))
    v = verify(container, policy=Policy(), trust=trust, fetcher=None, at=AT)
    assert (v.reason, v.message) == (Reason.MALFORMED_CONTAINER, "no mimetype entry")


class _Unreachable:
    """Every responder down (connection refused), as the certify suite ran it."""

    def ocsp(self, url: str, request_der: bytes) -> bytes:
        raise FetchError(f"connection refused: {url}")

    def crl(self, url: str) -> bytes:
        raise FetchError(f"connection refused: {url}")

    def certificate(self, url: str) -> bytes:
        raise FetchError(f"connection refused: {url}")


def test_reason_precedence_no_timestamp_over_unreachable_responders(
    trust: TrustStore, responders: Responders
) -> None:
    """A permanent condition wins over a transient outage: 422 NO_TIMESTAMP, never 503."""
    container = make_form_edoc("valid_p384", level="B")
    policy = Policy(initiative=TEST_INITIATIVE)
    for fetcher in (_Unreachable(), None):
        v = verify(container, policy=policy, trust=trust, fetcher=fetcher, at=AT)
        assert v.reason is Reason.NO_TIMESTAMP, (fetcher, v.reason, v.message)


def test_reason_precedence_outage_stays_retryable_when_nothing_permanent(
    trust: TrustStore, responders: Responders
) -> None:
    container = make_form_edoc("valid_p384", level="T")  # time-stamped, no embedded OCSP
    v = verify(container, policy=Policy(), trust=trust, fetcher=_Unreachable(), at=AT)
    assert (v.reason, v.subindication) == (Reason.REVOCATION_UNAVAILABLE, SubIndication.TRY_LATER)


def test_reason_precedence_outside_period_over_unreachable_responders(
    trust: TrustStore, responders: Responders
) -> None:
    container = make_form_edoc("valid_p384", level="T")
    policy = Policy(period_end=AT - timedelta(days=30))
    v = verify(container, policy=policy, trust=trust, fetcher=_Unreachable(), at=AT)
    assert v.reason is Reason.OUTSIDE_PERIOD, (v.reason, v.message)
