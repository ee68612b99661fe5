"""One tamper test per signed field: every change after signing must turn accept into reject."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Callable
from copy import deepcopy

import pytest
from lxml import etree

from certification.testpki import Responders, Signer, form_for, make_edoc, make_form_edoc, signer
from certification.testpki.clients import fetch_timestamp
from certification.testpki.pki import cert_der
from certification.testpki.sign import FORM_FILENAME, TEST_INITIATIVE
from certification.testpki.tl import build_trusted_list, tampered_trusted_list
from crypto import (
    FetchError,
    Policy,
    Reason,
    TrustedListSource,
    TrustStore,
    VerificationError,
    verify,
)
from tests.crypto.conftest import AT, TL_FETCHED

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
POLICY = Policy(initiative=TEST_INITIATIVE)


def _first(sig: etree._Element, path: str) -> etree._Element:
    found = sig.find(path, {"ds": DS, "xades": XADES})
    assert found is not None, path
    return found


def _flip_b64(el: etree._Element) -> None:
    raw = bytearray(base64.b64decode("".join((el.text or "").split())))
    raw[len(raw) // 2] ^= 0x01
    el.text = base64.b64encode(bytes(raw)).decode()


def _set_text(path: str, value: str) -> Callable[[etree._Element], None]:
    def edit(sig: etree._Element) -> None:
        _first(sig, path).text = value

    return edit


def _flip(path: str) -> Callable[[etree._Element], None]:
    def edit(sig: etree._Element) -> None:
        _flip_b64(_first(sig, path))

    return edit


def _set_attr(path: str, name: str, value: str) -> Callable[[etree._Element], None]:
    def edit(sig: etree._Element) -> None:
        _first(sig, path).set(name, value)

    return edit


SSP = ".//xades:SignedProperties/xades:SignedSignatureProperties"
SIGNED_FIELDS = {
    "SigningTime": _set_text(f"{SSP}/xades:SigningTime", "2026-03-02T09:59:00Z"),
    "SigningCertificate digest": _flip(f"{SSP}/xades:SigningCertificateV2//ds:DigestValue"),
    "SigningCertificate IssuerSerialV2": _flip(
        f"{SSP}/xades:SigningCertificateV2//xades:IssuerSerialV2"
    ),
    "DataObjectFormat MimeType": _set_text(".//xades:DataObjectFormat/xades:MimeType", "text/html"),
    "SignedProperties Id": _set_attr(".//xades:SignedProperties", "Id", "S1-other"),
    "data reference DigestValue": _flip("ds:SignedInfo/ds:Reference[1]/ds:DigestValue"),
    "SignedProperties reference DigestValue": _flip("ds:SignedInfo/ds:Reference[2]/ds:DigestValue"),
    "reference URI": _set_attr("ds:SignedInfo/ds:Reference[1]", "URI", "other.txt"),
    "SignatureMethod": _set_attr(
        "ds:SignedInfo/ds:SignatureMethod",
        "Algorithm",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    ),
    "SignatureValue": _flip("ds:SignatureValue"),
}


def test_untampered_baseline_accepts(check) -> None:
    v = check(make_form_edoc("valid_p384"), POLICY)
    assert v.verdict == "accept", v.message


@pytest.mark.parametrize("field", sorted(SIGNED_FIELDS))
def test_tampered_signed_field_is_signature_invalid(check, field: str) -> None:
    container = make_form_edoc("valid_p384", after_sign=SIGNED_FIELDS[field])
    v = check(container, POLICY)
    assert v.reason is Reason.SIGNATURE_INVALID, (field, v.reason, v.message)


def _replace_entry(container: bytes, name: str, edit: Callable[[bytes], bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(container)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, edit(data) if info.filename == name else data)
    return out.getvalue()


def test_tampered_data_file_byte(check) -> None:
    def flip_last_letter(data: bytes) -> bytes:
        return data[:-2] + bytes([data[-2] ^ 0x20]) + data[-1:]

    container = _replace_entry(make_form_edoc("valid_p384"), FORM_FILENAME, flip_last_letter)
    assert check(container, POLICY).reason is Reason.SIGNATURE_INVALID


def test_tampered_time_stamp_token(check) -> None:
    token = "xades:UnsignedProperties//xades:EncapsulatedTimeStamp"
    container = make_form_edoc("valid_p384", after_sign=_flip(f".//{token}"))
    assert check(container, POLICY).reason is Reason.TIMESTAMP_INVALID


def test_time_stamp_over_other_data(check, responders: Responders) -> None:
    other = base64.b64encode(fetch_timestamp(b"other", responders.tsa_url)).decode()
    container = make_form_edoc(
        "valid_p384", after_sign=_set_text(".//xades:EncapsulatedTimeStamp", other)
    )
    assert check(container, POLICY).reason is Reason.TIMESTAMP_INVALID


def test_wrapping_duplicate_signed_properties_is_unsafe(check) -> None:
    """XSW: a copy of the signed object with altered content next to the original."""

    def wrap(sig: etree._Element) -> None:
        obj = _first(sig, "ds:Object")
        fake = deepcopy(obj)
        fake.find(f".//{{{XADES}}}MimeType").text = "text/html"  # type: ignore[union-attr]
        sig.insert(list(sig).index(obj), fake)

    assert (
        check(make_form_edoc("valid_p384", after_sign=wrap), POLICY).reason is Reason.UNSAFE_INPUT
    )


def test_wrapping_moved_signed_properties_is_rejected(check) -> None:
    """XSW: the signed properties hidden elsewhere, a forged set in the expected place."""

    def wrap(sig: etree._Element) -> None:
        sp = _first(sig, ".//xades:SignedProperties")
        hidden = etree.SubElement(sig, f"{{{DS}}}Object")
        hidden.append(deepcopy(sp))
        sp.set("Id", "forged")

    v = check(make_form_edoc("valid_p384", after_sign=wrap), POLICY)
    assert v.reason in (Reason.SIGNATURE_INVALID, Reason.UNSAFE_INPUT), v.reason


def _tl(xml: bytes, signer: str = "tl_operator") -> TrustStore:
    return TrustStore(trusted_lists=[TrustedListSource(xml, (cert_der(signer),), TL_FETCHED)])


def test_trusted_list_signature_tamper() -> None:
    _tl(build_trusted_list())  # baseline loads
    with pytest.raises(VerificationError):
        _tl(tampered_trusted_list())
    with pytest.raises(VerificationError):
        _tl(build_trusted_list(operator="tl_operator_other"))
    with pytest.raises(VerificationError):
        _tl(build_trusted_list(signed=False))


def test_many_references_are_unsafe(check) -> None:
    def flood(sig: etree._Element) -> None:
        signed_info = _first(sig, "ds:SignedInfo")
        data_ref = _first(sig, "ds:SignedInfo/ds:Reference[1]")
        for _ in range(50):
            extra = deepcopy(data_ref)
            extra.attrib.pop("Id", None)  # no duplicate Ids: hit the reference bound itself
            signed_info.append(extra)

    v = check(make_form_edoc("valid_p384", after_sign=flood), POLICY)
    assert v.reason is Reason.UNSAFE_INPUT


class _RecordingFetcher:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def ocsp(self, url: str, request_der: bytes) -> bytes:
        self.calls.append(url)
        raise FetchError("recording only")

    def crl(self, url: str) -> bytes:
        self.calls.append(url)
        raise FetchError("recording only")

    def certificate(self, url: str) -> bytes:
        self.calls.append(url)
        raise FetchError("recording only")


def test_forged_certificate_fetches_nothing(trust: TrustStore, responders: Responders) -> None:
    """A certificate naming the trusted CA as issuer but not signed by it: no OCSP/CRL request
    is made on its behalf (SSRF), and the verdict is UNTRUSTED_CHAIN."""
    real = signer("valid_p384")
    forged_der = bytearray(real.cert_der)
    forged_der[-5] ^= 0x01  # inside the CA's signature value
    forged = Signer("forged", bytes(forged_der), real.key, real.chain_der)
    container = make_edoc(form_for(real), FORM_FILENAME, forged)
    fetcher = _RecordingFetcher()
    v = verify(container, policy=POLICY, trust=trust, fetcher=fetcher, at=AT)
    assert v.reason is Reason.UNTRUSTED_CHAIN, v.message
    assert fetcher.calls == []
