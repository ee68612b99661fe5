"""Long-term evidence for the operator's seal: XAdES-BASELINE-LT at sealing, -LTA later.

LT (``extend_to_lt``, right after the seal is made): an RFC 3161 time stamp from the configured
TSA over the SignatureValue, the certificates the evidence needs (TSA chain, OCSP responders)
and an OCSP response for the seal certificate fetched *after* the time stamp, so it speaks for
the sealing time. LTA (``add_archive_timestamp``, ``sigsvc batches timestamp-archive``): a
time stamp over everything before it, added while the newest TSA certificate is still valid.
``crypto.seal_evidence`` computes the time-stamped bytes and verifies both.

Network: the TSA and the certificates' OCSP responders, over HTTP(S), bounded in time and
size. A failure raises EvidenceError and no batch is written (a batch without LT evidence
would stop verifying when the seal certificate expires).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from asn1crypto import algos, cms, ocsp, tsp
from asn1crypto import x509 as asn1_x509
from lxml import etree

from crypto.seal_evidence import C14N_11, archive_timestamp_input, signature_timestamp_input
from sigsvc import clockskew

NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS_XADES141 = "http://uri.etsi.org/01903/v1.4.1#"
ENV_TSA_URL = "SIGSVC_BATCH_TSA_URL"
MAX_RESPONSE_BYTES = 256 * 1024
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'


class EvidenceError(Exception):
    """The TSA or an OCSP responder did not give usable evidence (nothing was changed)."""


def _post(
    url: str, body: bytes, content_type: str, headers: Mapping[str, str], timeout: float
) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise EvidenceError(f"{url}: only http(s) URLs")
    sent = time.time()
    try:
        with requests.post(
            url,
            data=body,
            headers={"Content-Type": content_type, **headers},
            timeout=timeout,
            stream=True,
            allow_redirects=False,
        ) as reply:
            if reply.status_code != 200:
                raise EvidenceError(f"{url}: HTTP {reply.status_code}")
            skew = clockskew.measure(reply.headers.get("Date"), sent, time.time(), url)
            clockskew.record(skew)
            content = reply.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise EvidenceError(f"{url}: {exc.__class__.__name__}") from exc
    if len(content) > MAX_RESPONSE_BYTES:
        raise EvidenceError(f"{url}: answer larger than {MAX_RESPONSE_BYTES} bytes")
    return bytes(content)


@dataclass(frozen=True)
class Tsa:
    """An RFC 3161 time-stamping service (a qualified TSA in production)."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)  # tests: the responders' clock
    timeout: float = 30.0

    def timestamp(self, data: bytes) -> bytes:
        """A time-stamp token (CMS ContentInfo DER) over SHA-256(``data``), checked to match."""
        digest = hashlib.sha256(data).digest()
        nonce = int.from_bytes(os.urandom(8), "big")
        request = tsp.TimeStampReq(
            {
                "version": "v1",
                "message_imprint": {
                    "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                    "hashed_message": digest,
                },
                "nonce": nonce,
                "cert_req": True,
            }
        )
        raw = _post(
            self.url, request.dump(), "application/timestamp-query", self.headers, self.timeout
        )
        try:
            response = tsp.TimeStampResp.load(raw)
            status = response["status"]["status"].native
            if status not in ("granted", "granted_with_mods"):
                raise EvidenceError(f"TSA {self.url}: {status}")
            token = response["time_stamp_token"]
            info = token["content"]["encap_content_info"]["content"].parsed
            imprint = info["message_imprint"]["hashed_message"].native
            answered_nonce = info["nonce"].native
        except (ValueError, KeyError, TypeError) as exc:
            raise EvidenceError(f"TSA {self.url}: unreadable answer ({exc})") from exc
        if imprint != digest or answered_nonce != nonce:
            raise EvidenceError(f"TSA {self.url}: the token is not for this request")
        return bytes(token.dump())

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Tsa | None:
        url = env.get(ENV_TSA_URL, "")
        return cls(url) if url else None


def _token_certificates(token: bytes) -> list[asn1_x509.Certificate]:
    signed = cms.ContentInfo.load(token)["content"]
    return [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]


def _issuer(cert: asn1_x509.Certificate, pool: list[asn1_x509.Certificate]) -> Any:
    return next((c for c in pool if c.subject == cert.issuer and c != cert), None)


def _ocsp(cert: asn1_x509.Certificate, issuer: asn1_x509.Certificate, tsa: Tsa) -> bytes:
    """An OCSP 'good' for ``cert`` from its AIA responder (asked now, after the time stamp)."""
    request = ocsp.OCSPRequest(
        {
            "tbs_request": {
                "request_list": [
                    {
                        "req_cert": {
                            "hash_algorithm": {"algorithm": "sha256"},
                            "issuer_name_hash": hashlib.sha256(issuer.subject.dump()).digest(),
                            "issuer_key_hash": issuer.public_key.sha256,
                            "serial_number": cert.serial_number,
                        }
                    }
                ]
            }
        }
    )
    problems = []
    for url in cert.ocsp_urls[:4]:
        try:
            der = _post(url, request.dump(), "application/ocsp-request", tsa.headers, tsa.timeout)
            response = ocsp.OCSPResponse.load(der)
            if response["response_status"].native != "successful":
                problems.append(f"{url}: {response['response_status'].native}")
                continue
            basic = response["response_bytes"]["response"].parsed
            status = basic["tbs_response_data"]["responses"][0]["cert_status"].name
        except (EvidenceError, ValueError, KeyError, TypeError) as exc:
            problems.append(str(exc))
            continue
        if status != "good":
            raise EvidenceError(
                f"OCSP {url}: certificate {cert.subject.human_friendly} is {status}"
            )
        return der
    raise EvidenceError(
        f"no OCSP answer for {cert.subject.human_friendly}: {'; '.join(problems) or 'no URL'}"
    )


def _el(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrib: str) -> Any:
    child = etree.SubElement(parent, f"{{{ns}}}{tag}", attrib)
    if text is not None:
        child.text = text
    return child


def _unsigned_properties(root: etree._Element) -> etree._Element:
    qp = root.find(f"{{{NS_DS}}}Signature/{{{NS_DS}}}Object/{{{NS_XADES}}}QualifyingProperties")
    if qp is None:
        raise EvidenceError("not a XAdES seal")
    up = qp.find(f"{{{NS_XADES}}}UnsignedProperties")
    if up is None:
        up = _el(qp, NS_XADES, "UnsignedProperties")
    usp = up.find(f"{{{NS_XADES}}}UnsignedSignatureProperties")
    if usp is None:
        usp = _el(up, NS_XADES, "UnsignedSignatureProperties")
    return usp


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def extend_to_lt(seal_xml: bytes, tsa: Tsa) -> bytes:
    """XAdES-B-B seal -> XAdES-BASELINE-LT (signature time stamp, certificates, OCSP)."""
    token = tsa.timestamp(signature_timestamp_input(seal_xml))
    root = etree.fromstring(seal_xml)
    key_info = [
        asn1_x509.Certificate.load(base64.b64decode(el.text or ""))
        for el in root.iter(f"{{{NS_DS}}}X509Certificate")
    ]
    if not key_info:
        raise EvidenceError("the seal carries no certificate")
    tsa_certs = _token_certificates(token)
    seal_cert = key_info[0]
    seal_issuer = _issuer(seal_cert, key_info)
    if seal_issuer is None:
        raise EvidenceError("the seal chain lacks the seal certificate's issuer")
    revocation = [_ocsp(seal_cert, seal_issuer, tsa)]  # after the time stamp: speaks for it
    extra: list[bytes] = [c.dump() for c in tsa_certs]
    for der in revocation:  # OCSP responder certificates, for an offline verifier
        basic = ocsp.OCSPResponse.load(der)["response_bytes"]["response"].parsed
        extra += [c.dump() for c in basic["certs"] or []]
    usp = _unsigned_properties(root)
    sid = root.find(f"{{{NS_DS}}}Signature").get("Id", "S0")  # type: ignore[union-attr]
    stamp = _el(usp, NS_XADES, "SignatureTimeStamp", Id=f"{sid}-T0")
    _el(stamp, NS_DS, "CanonicalizationMethod", Algorithm=C14N_11)
    _el(stamp, NS_XADES, "EncapsulatedTimeStamp", _b64(token))
    values = _el(usp, NS_XADES, "CertificateValues")
    seen = {c.dump() for c in key_info}
    for der in extra:
        if der not in seen:
            seen.add(der)
            _el(values, NS_XADES, "EncapsulatedX509Certificate", _b64(der))
    ocsp_values = _el(_el(usp, NS_XADES, "RevocationValues"), NS_XADES, "OCSPValues")
    for der in revocation:
        _el(ocsp_values, NS_XADES, "EncapsulatedOCSPValue", _b64(der))
    return _DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


def add_archive_timestamp(seal_xml: bytes, data: bytes, tsa: Tsa) -> bytes:
    """Append an xadesv141:ArchiveTimeStamp covering the seal, its data and its evidence."""
    token = tsa.timestamp(archive_timestamp_input(seal_xml, data))
    root = etree.fromstring(seal_xml)
    usp = _unsigned_properties(root)
    count = len(usp.findall(f"{{{NS_XADES141}}}ArchiveTimeStamp"))
    # The new TSA's certificates, for an offline verifier (in the time stamp token too).
    stamp = etree.SubElement(
        usp,
        f"{{{NS_XADES141}}}ArchiveTimeStamp",
        {"Id": f"S0-A{count + 1}"},
        nsmap={"xadesv141": NS_XADES141},
    )
    _el(stamp, NS_DS, "CanonicalizationMethod", Algorithm=C14N_11)
    _el(stamp, NS_XADES, "EncapsulatedTimeStamp", _b64(token))
    return _DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False)
