"""Archive time stamps verified where present: XAdES xades141:ArchiveTimeStamp (EN 319 132-1
§5.5.2, made by the test signer with the test TSA) and PAdES document time stamps (made by
pyHanko's own PdfTimeStamper). A broken one is TIMESTAMP_INVALID."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
from asn1crypto import cms
from lxml import etree
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers, timestamps

from certification.testpki import TEST_INITIATIVE, Responders, clock, form_for, make_form_edoc
from certification.testpki.asice import replace_entry
from certification.testpki.pades import make_pades
from certification.testpki.responders import time_header
from crypto import Policy, Reason

POLICY = Policy(initiative=TEST_INITIATIVE)
XADES141 = "http://uri.etsi.org/01903/v1.4.1#"


def _signature_name(container: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(container)) as z:
        (name,) = [n for n in z.namelist() if n.startswith("META-INF/") and "signature" in n]
        return name


def _edit_signature(container: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    name = _signature_name(container)
    with zipfile.ZipFile(io.BytesIO(container)) as z:
        root = etree.fromstring(z.read(name))
    edit(root)
    return replace_entry(
        container, name, etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    )


def _flip_token_signature(der: bytes) -> bytes:
    info = cms.ContentInfo.load(der)
    signature = bytes(info["content"]["signer_infos"][0]["signature"].contents)
    at = der.rindex(signature) + len(signature) // 2
    return der[:at] + bytes([der[at] ^ 0x01]) + der[at + 1 :]


@pytest.fixture(scope="module")
def lta(responders: Responders) -> bytes:
    return make_form_edoc("valid_p384", level="LTA")


def test_archive_time_stamp_verified_where_present(check, lta: bytes) -> None:
    v = check(lta, POLICY, offline=True)
    assert v.verdict == "accept", v.message
    assert v.level == "XAdES-BASELINE-LTA"


def test_archive_time_stamp_covers_the_unsigned_properties_before_it(check, lta: bytes) -> None:
    """Changing bytes the archive time stamp covers and nothing else reads (an Id of the
    CertificateValues) breaks its imprint: the message imprint covers the preceding unsigned
    properties, canonicalized."""

    def rename(root: etree._Element) -> None:
        values = root.find(".//{http://uri.etsi.org/01903/v1.3.2#}CertificateValues")
        assert values is not None
        values.set("Id", "renamed-after-archiving")

    v = check(_edit_signature(lta, rename), POLICY, offline=True)
    assert v.reason is Reason.TIMESTAMP_INVALID, (v.reason, v.message)
    assert "archive time stamp 1" in v.message and "imprint" in v.message


def test_archive_time_stamp_with_a_broken_signature_is_timestamp_invalid(check, lta: bytes) -> None:
    def corrupt(root: etree._Element) -> None:
        el = root.find(
            f".//{{{XADES141}}}ArchiveTimeStamp/{{http://uri.etsi.org/01903/v1.3.2#}}EncapsulatedTimeStamp"
        )
        assert el is not None and el.text
        el.text = base64.b64encode(_flip_token_signature(base64.b64decode(el.text))).decode()

    v = check(_edit_signature(lta, corrupt), POLICY, offline=True)
    assert v.reason is Reason.TIMESTAMP_INVALID, (v.reason, v.message)
    assert "archive time stamp 1" in v.message


def test_archive_time_stamp_from_an_unlisted_tsa_is_timestamp_invalid(
    check, responders: Responders
) -> None:
    container = make_form_edoc("valid_p384", level="LTA", archive_tsa="unlisted-tsa")
    v = check(container, POLICY, offline=True)
    assert v.reason is Reason.TIMESTAMP_INVALID, (v.reason, v.message)
    assert "archive time stamp 1" in v.message


# -- PAdES document time stamps ----------------------------------------------------------------


def _doc_timestamped(pdf: bytes, tsa_url: str) -> bytes:
    stamper = signers.PdfTimeStamper(
        timestamps.HTTPTimeStamper(tsa_url, headers=time_header(clock.RESPONDER_TIME))
    )
    out = stamper.timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), "sha256", timestamper=None
    )
    return out.getvalue()


@pytest.fixture(scope="module")
def pades_lt(responders: Responders) -> bytes:
    return make_pades(form_for("valid_p384"), "valid_p384", level="LT", responders=responders)


def test_pades_document_time_stamp_verified(check, pades_lt: bytes, responders: Responders) -> None:
    v = check(_doc_timestamped(pades_lt, responders.tsa_url), POLICY, offline=True)
    assert v.accepted, v.message
    assert v.level == "PAdES-BASELINE-LTA"


def test_pades_document_time_stamp_from_an_unlisted_tsa_is_timestamp_invalid(
    check, pades_lt: bytes, responders: Responders
) -> None:
    stamped = _doc_timestamped(pades_lt, responders.tsa_url_for("unlisted-tsa"))
    v = check(stamped, POLICY, offline=True)
    assert v.reason is Reason.TIMESTAMP_INVALID, (v.reason, v.message)
    assert "archive time stamp 1" in v.message


def test_pades_document_time_stamp_with_a_broken_signature_is_timestamp_invalid(
    check, pades_lt: bytes, responders: Responders
) -> None:
    stamped = _doc_timestamped(pades_lt, responders.tsa_url)
    token = _last_contents(stamped)
    broken = _flip_token_signature(token)
    tampered = stamped
    for case in (str.lower, str.upper):
        tampered = tampered.replace(case(token.hex()).encode(), case(broken.hex()).encode())
    assert tampered != stamped
    v = check(tampered, POLICY, offline=True)
    assert v.reason is Reason.TIMESTAMP_INVALID, (v.reason, v.message)


def _last_contents(pdf: bytes) -> bytes:
    """The DER of the last /Contents hex string (the document time stamp's token)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    (ts,) = PdfFileReader(io.BytesIO(pdf)).embedded_timestamp_signatures
    return cms.ContentInfo.load(ts.pkcs7_content).dump()
