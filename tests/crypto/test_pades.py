"""PAdES through pyHanko's real signer with the test PKI's keys and TSA."""

from __future__ import annotations

import io

import pytest
from asn1crypto import keys
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import signers, timestamps
from pyhanko.sign.signers import pdf_signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certification.testpki import Responders, clock
from certification.testpki.pki import cert, private_key
from crypto import Policy, Reason


def _blank_pdf() -> bytes:
    writer = PdfFileWriter()
    from pyhanko.pdf_utils import generic

    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): generic.ArrayObject(
                [
                    generic.NumberObject(0),
                    generic.NumberObject(0),
                    generic.NumberObject(595),
                    generic.NumberObject(842),
                ]
            ),
        }
    )
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class _FixedClockSession(pdf_signer.PdfSigningSession):
    """pyHanko stamps the signing time from the system clock; tests use the fixed test clock."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["system_time"] = clock.SIGNING_TIME
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def _pades(signer_label: str, tsa_url: str | None) -> bytes:
    key_der = private_key(signer_label).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = signers.SimpleSigner(
        signing_cert=cert(signer_label),
        signing_key=keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([cert("ica")]),
    )
    meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256")
    stamper = timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None
    original = pdf_signer.PdfSigningSession
    pdf_signer.PdfSigningSession = _FixedClockSession  # type: ignore[misc]
    try:
        out = signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(_blank_pdf())),
            meta,
            signer=signer,
            timestamper=stamper,
        )
    finally:
        pdf_signer.PdfSigningSession = original  # type: ignore[misc]
    return out.getvalue()


@pytest.fixture(scope="module")
def pades_t(responders: Responders) -> bytes:
    return _pades("valid_p384", responders.tsa_url)


def test_pades_t_accepted(check, pades_t: bytes) -> None:
    v = check(pades_t, Policy())
    assert v.verdict == "accept", v.message
    assert v.format == "PAdES" and v.level == "PAdES-BASELINE-T"
    assert v.signer is not None and v.signer.serial_number == "PNOLV-327811-40213"
    assert v.signing_time is not None and v.signing_time > clock.PERIOD_START


def test_pades_byte_tamper_rejected(check, pades_t: bytes) -> None:
    at = pades_t.find(b"/MediaBox")
    tampered = pades_t[:at] + b"/MediaBoy" + pades_t[at + 9 :]
    assert check(tampered, Policy()).reason in (
        Reason.SIGNATURE_INVALID,
        Reason.MALFORMED_CONTAINER,
    )


def test_pades_without_timestamp(check, responders: Responders) -> None:
    assert check(_pades("valid_p384", None), Policy()).reason is Reason.NO_TIMESTAMP


def test_pades_is_not_the_form(check, pades_t: bytes) -> None:
    from certification.testpki import TEST_INITIATIVE

    assert check(pades_t, Policy(initiative=TEST_INITIATIVE)).reason is Reason.DOCUMENT_MISMATCH
