"""Containers made by certification.testpki.sign: structure and an independent XMLDSig check."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from io import BytesIO

import pytest
from asn1crypto import cms, ocsp
from lxml import etree

from certification.testpki import (
    SIGNING_DATE,
    TEST_INITIATIVE,
    DataFile,
    form_for,
    make_edoc,
    make_form_edoc,
    pki,
)
from certification.testpki.clock import TIMESTAMP_TIME
from certification.testpki.sign import FORM_FILENAME, identity
from crypto.form import SignerFields, render_form

from .xmldsig_check import SelfCheckFailed, check_container

pytestmark = pytest.mark.usefixtures("responders")
XADES = "{http://uri.etsi.org/01903/v1.3.2#}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def test_edoc_layout_matches_asic_e_and_eparaksts() -> None:
    container = make_form_edoc("valid_p384", level="B")
    archive = zipfile.ZipFile(BytesIO(container))
    infos = archive.infolist()
    assert [i.filename for i in infos] == [
        "mimetype",
        "META-INF/manifest.xml",
        FORM_FILENAME,
        "META-INF/edoc-signatures-S1.xml",
    ]
    assert infos[0].compress_type == zipfile.ZIP_STORED and infos[0].extra == b""
    assert archive.read("mimetype") == b"application/vnd.etsi.asic-e+zip"
    assert container[30:38] == b"mimetype"  # first local header names it (EN 319 162-1 A.1)
    root = etree.fromstring(archive.read("META-INF/edoc-signatures-S1.xml"))
    assert root.tag == "{http://uri.etsi.org/02918/v1.2.1#}XAdESSignatures"
    props = root.find(
        f"{DS}Signature/{DS}Object/{XADES}QualifyingProperties/{XADES}SignedProperties"
    )
    assert props is not None
    assert props.findtext(f".//{XADES}SigningTime") == "2026-03-02T10:00:00Z"
    assert (
        props.find(f".//{XADES}SigningCertificateV2/{XADES}Cert/{XADES}IssuerSerialV2") is not None
    )
    assert props.findtext(f".//{XADES}DataObjectFormat/{XADES}MimeType") == "text/plain"


def test_form_is_crypto_form_render_for_the_certificate_identity() -> None:
    who = identity("valid_rsa")
    assert (who.given_name, who.surname, who.personal_code) == (
        "JĀNIS ROBERTS",
        "BĒRZIŅŠ",
        "140785-11239",
    )
    expected = render_form(
        TEST_INITIATIVE, SignerFields("JĀNIS ROBERTS", "BĒRZIŅŠ", "140785-11239", SIGNING_DATE)
    )
    assert form_for("valid_rsa") == expected
    archive = zipfile.ZipFile(BytesIO(make_form_edoc("valid_rsa", level="B")))
    assert archive.read(FORM_FILENAME) == expected
    assert identity("no_prefix").personal_code == "230390-14568"


@pytest.mark.parametrize("signer", ["valid_p384", "valid_rsa", "weak_rsa"])
@pytest.mark.parametrize("level", ["B", "T", "LT"])
def test_signature_value_verifies_with_the_signer_key(signer: str, level: str) -> None:
    (signature,) = check_container(make_form_edoc(signer, level=level))
    stamps = signature.findall(f".//{XADES}SignatureTimeStamp")
    assert len(stamps) == (0 if level == "B" else 1)
    assert (signature.find(f".//{XADES}RevocationValues") is not None) == (level == "LT")


def test_time_stamp_covers_the_canonical_signature_value() -> None:
    (signature,) = check_container(make_form_edoc("valid_p384", level="T"))
    token = base64.b64decode(signature.findtext(f".//{XADES}EncapsulatedTimeStamp") or "")
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    value = signature.find(f"{DS}SignatureValue")
    imprint = hashlib.sha256(etree.tostring(value, method="c14n")).digest()
    assert info["message_imprint"]["hashed_message"].native == imprint
    assert info["gen_time"].native == TIMESTAMP_TIME


def test_lt_embeds_chain_and_a_good_ocsp_response() -> None:
    (signature,) = check_container(make_form_edoc("valid_p384", level="LT"))
    certs = signature.findall(f".//{XADES}CertificateValues/{XADES}EncapsulatedX509Certificate")
    # issuing CAs of the signer and of the TSA unit (roots come from the TL / an anchor)
    assert [base64.b64decode(c.text or "") for c in certs] == [
        pki.cert_der("ica"),
        pki.cert_der("tsa_ca"),
    ]
    values = signature.findall(f".//{XADES}EncapsulatedOCSPValue")
    serials = []
    for value in values:
        raw = base64.b64decode(value.text or "")
        basic = ocsp.OCSPResponse.load(raw)["response_bytes"]["response"].parsed
        single = basic["tbs_response_data"]["responses"][0]
        assert single["cert_status"].name == "good"
        serials.append(single["cert_id"]["serial_number"].native)
    assert serials == [pki.cert("valid_p384").serial_number, pki.cert("tsa").serial_number]


def test_sha1_knob_changes_every_algorithm_uri() -> None:
    container = make_form_edoc("valid_rsa", level="B", digest="sha1")
    (signature,) = check_container(container)
    uris = {e.get("Algorithm") for e in signature.iter(f"{DS}SignatureMethod", f"{DS}DigestMethod")}
    assert uris == {
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        "http://www.w3.org/2000/09/xmldsig#sha1",
    }


def test_two_signers_two_files_and_one_file_variants() -> None:
    form = form_for("valid_p384")
    two_files = make_edoc(
        form, FORM_FILENAME, "valid_p384", level="B", extra_files=[DataFile("b.txt", b"x\n")]
    )
    (signature,) = check_container(two_files)
    assert len(signature.findall(f"{DS}SignedInfo/{DS}Reference")) == 3
    separate = make_edoc(form, FORM_FILENAME, "valid_p384", level="B", extra_signers=["valid_rsa"])
    assert len(check_container(separate)) == 2
    names = zipfile.ZipFile(BytesIO(separate)).namelist()
    assert "META-INF/edoc-signatures-S2.xml" in names
    together = make_edoc(
        form,
        FORM_FILENAME,
        "valid_p384",
        level="B",
        extra_signers=["valid_rsa"],
        signatures_in_one_file=True,
    )
    assert [s.get("Id") for s in check_container(together)] == ["S1", "S2"]


def test_hooks_sign_edits_before_and_break_after() -> None:
    def claim_other_time(signature: etree._Element) -> None:
        signature.find(f".//{XADES}SigningTime").text = "2020-01-01T00:00:00Z"  # type: ignore[union-attr]

    before = make_form_edoc("valid_p384", level="B", before_sign=claim_other_time)
    (signature,) = check_container(before)  # still validly signed
    assert signature.findtext(f".//{XADES}SigningTime") == "2020-01-01T00:00:00Z"
    after = make_form_edoc("valid_p384", level="B", after_sign=claim_other_time)
    with pytest.raises(SelfCheckFailed):
        check_container(after)


def test_tampered_data_file_fails_self_check() -> None:
    container = make_form_edoc("valid_p384", level="B")
    archive = zipfile.ZipFile(BytesIO(container))
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename == FORM_FILENAME:
                data = data.replace("OZOLIŅA".encode(), b"OZOLINA")
            copy.writestr(info, data)
    with pytest.raises(SelfCheckFailed):
        check_container(out.getvalue())


def test_containers_are_reproducible_without_time_stamps() -> None:
    # RSA signatures are deterministic, ECDSA ones are not; B-level has no TSA serial.
    assert make_form_edoc("valid_rsa", level="B") == make_form_edoc("valid_rsa", level="B")


def test_timestamp_knobs_move_the_time_and_break_the_imprint() -> None:
    from datetime import UTC, datetime

    later = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    (signature,) = check_container(make_form_edoc("valid_p384", timestamp_at=later))
    token = base64.b64decode(signature.findtext(f".//{XADES}EncapsulatedTimeStamp") or "")
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    assert info["gen_time"].native == later
    (signature,) = check_container(make_form_edoc("valid_p384", timestamp_over=b"other"))
    token = base64.b64decode(signature.findtext(f".//{XADES}EncapsulatedTimeStamp") or "")
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"other").digest()


def test_lt_for_the_revoked_signer_embeds_a_revoked_response() -> None:
    (signature,) = check_container(make_form_edoc("revoked", level="LT"))
    raw = base64.b64decode(signature.findtext(f".//{XADES}EncapsulatedOCSPValue") or "")
    basic = ocsp.OCSPResponse.load(raw)["response_bytes"]["response"].parsed
    assert basic["tbs_response_data"]["responses"][0]["cert_status"].name == "revoked"


def test_lt_cannot_be_made_when_the_responder_is_down() -> None:
    import requests

    with pytest.raises(requests.ConnectionError):
        make_form_edoc("ocsp_down", level="LT")


def test_unlisted_tsa_knob_uses_the_other_tsa_certificate() -> None:
    (signature,) = check_container(make_form_edoc("valid_p384", tsa="unlisted-tsa"))
    token = base64.b64decode(signature.findtext(f".//{XADES}EncapsulatedTimeStamp") or "")
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    assert info["tsa"].chosen.native["common_name"] == "TEST Unlisted TSA 2025"


def test_wrapped_base64_like_the_demo_sample_still_verifies() -> None:
    container = make_form_edoc("valid_p384", level="LT", wrap_base64=60)
    (signature,) = check_container(container)
    value = signature.findtext(f"{DS}SignatureValue") or ""
    assert value.endswith("\n") and all(len(line) <= 60 for line in value.splitlines())
    token = base64.b64decode(signature.findtext(f".//{XADES}EncapsulatedTimeStamp") or "")
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    imprint = hashlib.sha256(etree.tostring(signature.find(f"{DS}SignatureValue"), method="c14n"))
    assert info["message_imprint"]["hashed_message"].native == imprint.digest()


def test_exclusive_c14n_variant_verifies() -> None:
    from certification.testpki.xades import C14N_EXC

    (signature,) = check_container(make_form_edoc("valid_rsa", level="T", c14n=C14N_EXC))
    method = signature.find(f"{DS}SignedInfo/{DS}CanonicalizationMethod")
    assert method is not None and method.get("Algorithm") == C14N_EXC
