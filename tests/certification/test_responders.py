"""The responders answer real OCSP, CRL, certificate and RFC 3161 requests over HTTP."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import requests
from asn1crypto import algos, cms, crl, ocsp, tsp
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from certification.testpki import Responders, clients, pki
from certification.testpki.clock import RESPONDER_TIME, REVOKED_AT


def _basic(response_der: bytes) -> ocsp.BasicOCSPResponse:
    return ocsp.OCSPResponse.load(response_der)["response_bytes"]["response"].parsed


def _verify_rsa(cert_der: bytes, signature: bytes, data: bytes) -> None:
    key = cx509.load_der_x509_certificate(cert_der).public_key()
    key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg,arg-type]


@pytest.mark.parametrize(
    ("name", "issuer", "status"),
    [("valid_p384", "ica", "good"), ("revoked", "ica", "revoked"),
     ("untrusted", "rogue_ica", "good"), ("withdrawn_ca", "legacy_ica", "good")],
)  # fmt: skip
def test_ocsp_status_per_certificate(
    responders: Responders, name: str, issuer: str, status: str
) -> None:
    der = clients.fetch_ocsp(pki.signer(name).cert, pki.cert(issuer))
    basic = _basic(der)
    single = basic["tbs_response_data"]["responses"][0]
    assert single["cert_status"].name == status
    assert basic["tbs_response_data"]["produced_at"].native == RESPONDER_TIME
    responder_cert = basic["certs"][0]
    assert responder_cert.ocsp_no_check_value is not None
    assert responder_cert.issuer == pki.cert(issuer).subject
    _verify_rsa(
        responder_cert.dump(),
        basic["signature"].native,
        basic["tbs_response_data"].dump(),
    )
    if status == "revoked":
        assert single["cert_status"].chosen["revocation_time"].native == REVOKED_AT


def test_ocsp_unknown_serial_and_other_issuer(responders: Responders) -> None:
    ica = pki.cert("ica")
    cert_id = ocsp.CertId(
        {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "issuer_name_hash": hashlib.sha256(ica.subject.dump()).digest(),
            "issuer_key_hash": hashlib.sha256(bytes(ica.public_key["public_key"])).digest(),
            "serial_number": 999_999,
        }
    )
    request = ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}})
    reply = requests.post(responders.ocsp_url(), data=request.dump(), timeout=10)
    assert clients.ocsp_cert_status(reply.content) == "unknown"
    foreign = clients.ocsp_request(pki.signer("untrusted").cert, pki.cert("rogue_ica"))
    reply = requests.post(responders.ocsp_url(), data=foreign, timeout=10)
    assert ocsp.OCSPResponse.load(reply.content)["response_status"].native == "unauthorized"


def test_time_header_moves_the_responder_clock(responders: Responders) -> None:
    before = datetime(2025, 5, 1, tzinfo=UTC)
    der = clients.fetch_ocsp(pki.signer("revoked").cert, pki.cert("ica"), at=before)
    assert clients.ocsp_cert_status(der) == "good"  # not yet revoked on 2025-05-01


def test_crl_lists_the_revoked_certificate_and_is_signed_by_the_ca(responders: Responders) -> None:
    reply = requests.get(responders.crl_url("ica-crl"), timeout=10)
    assert reply.status_code == 200
    cert_list = crl.CertificateList.load(reply.content)
    serials = [
        r["user_certificate"].native for r in cert_list["tbs_cert_list"]["revoked_certificates"]
    ]
    assert serials == [pki.cert("revoked").serial_number]
    assert cert_list.issuer == pki.cert("ica").subject
    _verify_rsa(
        pki.cert_der("ica"), cert_list["signature"].native, cert_list["tbs_cert_list"].dump()
    )


def test_ca_issuers_urls_serve_the_issuer(responders: Responders) -> None:
    for label in ("valid_p384", "tsa", "untrusted", "ica"):
        cert = pki.cert(label)
        (url,) = [
            d["access_location"].native
            for d in cert.authority_information_access_value
            if d["access_method"].native == "ca_issuers"
        ]
        body = requests.get(url, timeout=10).content
        assert cx509.load_der_x509_certificate(body).subject.public_bytes() == cert.issuer.dump()


def test_timestamp_token_is_a_valid_rfc3161_token(responders: Responders) -> None:
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    token = clients.fetch_timestamp(b"data", responders.tsa_url, at=at)
    signed = cms.ContentInfo.load(token)["content"]
    info = signed["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"data").digest()
    assert info["gen_time"].native == at
    assert info["policy"].dotted == "0.4.0.2023.1.1"
    signer_info = signed["signer_infos"][0]
    attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    assert attrs["message_digest"].native == hashlib.sha256(info.dump()).digest()
    ess = attrs["signing_certificate_v2"]["certs"][0]
    assert ess["cert_hash"].native == hashlib.sha256(pki.cert_der("tsa")).digest()
    # The signature covers the attributes as a SET OF (tag 0x31), not as the [0] field.
    signed_attrs = b"\x31" + signer_info["signed_attrs"].dump()[1:]
    _verify_rsa(pki.cert_der("tsa"), signer_info["signature"].native, signed_attrs)
    embedded = {c.chosen.dump() for c in signed["certificates"]}  # a SET OF: DER order
    assert embedded == {pki.cert_der("tsa"), pki.cert_der("tsa_ca")}
    # Same request, same instant: same bytes (RSA, derived serial).
    assert clients.fetch_timestamp(b"data", responders.tsa_url, at=at) == token


def test_timestamp_rejects_garbage(responders: Responders) -> None:
    reply = requests.post(responders.tsa_url, data=b"junk", timeout=10)
    assert reply.status_code == 200
    assert tsp.PKIStatusInfo.load(reply.content[2:])["status"].native == "rejection"


def test_dead_port_refuses_connections(responders: Responders) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{responders.dead_url}/ocsp", data=b"", timeout=5)


def test_another_process_reuses_the_running_server(responders: Responders) -> None:
    code = (
        "from certification.testpki import clients, pki, responders\n"
        "with responders.serve_responders():\n"
        "    der = clients.fetch_ocsp(pki.signer('revoked').cert, pki.cert('ica'))\n"
        "    print(clients.ocsp_cert_status(der))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "revoked"


@pytest.mark.parametrize("label", pki.cert_labels())
def test_every_url_baked_into_a_certificate_answers(responders: Responders, label: str) -> None:
    cert = pki.cert(label)
    if cert.self_signed != "no":
        return
    issuer = pki.issuer(label)
    for url in cert.ocsp_urls:
        if url.startswith(responders.dead_url):
            continue
        assert clients.ocsp_cert_status(clients.fetch_ocsp(cert, issuer, url=url)) in (
            "good",
            "revoked",
        )
    for point in cert.crl_distribution_points:
        for url in point["distribution_point"].native:
            if url.startswith(responders.dead_url):
                continue
            body = requests.get(url, timeout=10).content
            assert crl.CertificateList.load(body).issuer == cert.issuer
    for description in cert.authority_information_access_value or []:
        if description["access_method"].native == "ca_issuers":
            body = requests.get(description["access_location"].native, timeout=10).content
            assert body == issuer.dump()
