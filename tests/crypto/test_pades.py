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


# -- PAdES-LT / LTA: revocation data in the Document Security Store (issue 9) ------------------


@pytest.fixture(scope="module")
def pades_lt(responders: Responders) -> bytes:
    from certification.testpki import form_for
    from certification.testpki.pades import make_pades

    return make_pades(form_for("valid_p384"), "valid_p384", level="LT", responders=responders)


def _dss_ocsps(pdf: bytes) -> list[bytes]:
    """The DSS's OCSP responses as pyHanko itself reads them (independent of crypto/)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(pdf)))
    return [ref.get_object().data for ref in dss.ocsps]


def test_pades_lt_reads_the_dss_offline(check, pades_lt: bytes) -> None:
    """Every real eParaksts PDF is PAdES-LT: the DSS's indirect objects are dereferenced."""
    from certification.testpki import TEST_INITIATIVE

    dss = _dss_ocsps(pades_lt)
    assert dss, "the signer put no OCSP response into the DSS"
    v = check(pades_lt, Policy(initiative=TEST_INITIATIVE), offline=True)
    assert v.accepted, v.message
    assert v.level == "PAdES-BASELINE-LT"
    assert set(v.evidence.ocsp_responses) <= set(dss) and v.evidence.ocsp_responses


def test_pades_lta_with_a_document_time_stamp(
    check, pades_lt: bytes, responders: Responders
) -> None:
    from certification.testpki import TEST_INITIATIVE
    from certification.testpki.responders import time_header

    stamper = signers.PdfTimeStamper(
        timestamps.HTTPTimeStamper(responders.tsa_url, headers=time_header(clock.RESPONDER_TIME))
    )
    out = stamper.timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pades_lt)), "sha256", timestamper=None
    )
    lta = out.getvalue()
    v = check(lta, Policy(initiative=TEST_INITIATIVE), offline=True)
    assert v.accepted, v.message
    assert v.level == "PAdES-BASELINE-LTA"


def test_pades_dss_entry_that_is_not_a_stream_is_malformed(check, pades_lt: bytes) -> None:
    """A DSS array entry must be a stream; a number in its place is refused, not crashed on."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader

    writer = IncrementalPdfFileWriter(io.BytesIO(pades_lt))
    dss = writer.root["/DSS"]
    dss["/OCSPs"] = generic.ArrayObject([generic.NumberObject(7)])
    writer.update_container(dss)
    buf = io.BytesIO()
    writer.write(buf)
    PdfFileReader(io.BytesIO(buf.getvalue()))  # still a readable PDF
    assert check(buf.getvalue(), Policy(), offline=True).reason in (
        Reason.MALFORMED_CONTAINER,
        Reason.SIGNATURE_INVALID,  # pyHanko may call the DSS edit a disallowed modification
    )


def test_pades_cms_certificate_bag_is_bounded(check, pades_lt: bytes) -> None:
    from crypto import SizeLimits

    tight = Policy(limits=SizeLimits(max_certificate_bag=0))  # the real CMS carries the ICA
    v = check(pades_lt, tight, offline=True)
    assert v.reason is Reason.UNSAFE_INPUT and "CMS" in v.message
