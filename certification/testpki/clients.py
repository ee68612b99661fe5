"""HTTP clients for the test responders: RFC 3161 time stamps and RFC 6960 OCSP, over real HTTP."""

from __future__ import annotations

import hashlib
from datetime import datetime

import requests
from asn1crypto import algos, cms, ocsp, tsp, x509

from .responders import time_header


class ResponderError(RuntimeError):
    """A test responder refused or returned something unusable."""


def fetch_timestamp(
    data: bytes, tsa_url: str, *, at: datetime | None = None, digest: str = "sha256"
) -> bytes:
    """Time-stamp token (CMS ContentInfo DER) over ``data`` from the TSA at ``tsa_url``."""
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": digest}),
                "hashed_message": hashlib.new(digest, data).digest(),
            },
            "cert_req": True,
        }
    )
    headers = {"Content-Type": "application/timestamp-query"}
    if at is not None:
        headers.update(time_header(at))
    reply = requests.post(tsa_url, data=request.dump(), headers=headers, timeout=30)
    if reply.status_code != 200:
        raise ResponderError(f"TSA {tsa_url}: HTTP {reply.status_code}")
    response = tsp.TimeStampResp.load(reply.content)
    if response["status"]["status"].native != "granted":
        raise ResponderError(f"TSA {tsa_url}: status {response['status']['status'].native}")
    return bytes(response["time_stamp_token"].dump())


def ocsp_request(cert: x509.Certificate, issuer: x509.Certificate, digest: str = "sha256") -> bytes:
    """DER OCSPRequest for ``cert`` (CertID hashed with ``digest``, no nonce: deterministic)."""
    cert_id = ocsp.CertId(
        {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": digest}),
            "issuer_name_hash": hashlib.new(digest, issuer.subject.dump()).digest(),
            # RFC 6960 §4.1.1: hash of the key bits, without the BIT STRING unused-bits octet
            "issuer_key_hash": hashlib.new(digest, bytes(issuer.public_key["public_key"])).digest(),
            "serial_number": cert.serial_number,
        }
    )
    request = ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}})
    return bytes(request.dump())


def fetch_ocsp(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    *,
    url: str | None = None,
    at: datetime | None = None,
) -> bytes:
    """DER OCSPResponse for ``cert`` from ``url`` (default: the certificate's AIA OCSP URL)."""
    url = url or next(iter(cert.ocsp_urls), None)
    if url is None:
        raise ResponderError("certificate names no OCSP responder")
    headers = {"Content-Type": "application/ocsp-request"}
    if at is not None:
        headers.update(time_header(at))
    reply = requests.post(url, data=ocsp_request(cert, issuer), headers=headers, timeout=30)
    if reply.status_code != 200:
        raise ResponderError(f"OCSP {url}: HTTP {reply.status_code}")
    response = ocsp.OCSPResponse.load(reply.content)
    if response["response_status"].native != "successful":
        raise ResponderError(f"OCSP {url}: {response['response_status'].native}")
    return reply.content


def ocsp_cert_status(response_der: bytes) -> str:
    """'good', 'revoked' or 'unknown' from a DER OCSPResponse (single response)."""
    response = ocsp.OCSPResponse.load(response_der)
    basic = response["response_bytes"]["response"].parsed
    status = basic["tbs_response_data"]["responses"][0]["cert_status"]
    return str(status.name)


def timestamp_gen_time(token_der: bytes) -> datetime:
    """genTime of a time-stamp token."""
    content = cms.ContentInfo.load(token_der)
    signed_data = content["content"]
    info = signed_data["encap_content_info"]["content"].parsed
    gen_time: datetime = info["gen_time"].native
    return gen_time
