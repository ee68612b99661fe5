"""OCSP and RFC 3161 TSA answers for the test PKI (served by responders.py).

OCSP: certomancer's responder, except that a serial number the issuer never issued is answered
``unknown`` (RFC 6960 §2.2) instead of certomancer's ``unauthorized``; a request for another
issuer stays ``unauthorized``.

TSA: our own, because real qualified TSAs (and the Latvian/Estonian samples) identify their
certificate with ESS signingCertificateV2 (SHA-256, RFC 5035) and a TSA policy OID, where
certomancer's token uses signingCertificate v1 (SHA-1). Tokens are deterministic for a given
request and instant (RSA key, serial number derived from the imprint and time).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from asn1crypto import algos, cms, core, ocsp, tsp, x509
from certomancer.registry import ServiceLabel
from certomancer.services import CertomancerServiceError, RevocationInfoInterface

from . import pki
from .xades import sign_bytes

TSA_POLICY_OID = "0.4.0.2023.1.1"  # ETSI EN 319 421 best practices policy for time-stamp (BTSP)


class _UnknownAwareInterface(RevocationInfoInterface):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def get_issuer_cert(self) -> x509.Certificate:
        return self._inner.get_issuer_cert()

    def check_revocation_status(
        self, cid: ocsp.CertId, at_time: datetime
    ) -> tuple[ocsp.CertStatus, list[ocsp.SingleResponseExtension]]:
        try:
            status, extensions = self._inner.check_revocation_status(cid, at_time)
        except CertomancerServiceError:
            return ocsp.CertStatus(name="unknown", value=core.Null()), []
        return status, extensions


def ocsp_response(label: str, request_der: bytes, at: datetime) -> bytes:
    """DER OCSPResponse of responder ``label`` (pki.yml services.ocsp) as of ``at``."""
    registry = pki.architecture().service_registry
    responder = registry.summon_responder(ServiceLabel(label), at)
    responder.revinfo_interface = _UnknownAwareInterface(responder.revinfo_interface)
    try:
        request = ocsp.OCSPRequest.load(request_der)
        request.native  # noqa: B018  (parse fully: malformed input fails here)
    except ValueError:
        return bytes(ocsp.OCSPResponse({"response_status": "malformed_request"}).dump())
    return bytes(responder.build_ocsp_response(request).dump())


class _FailedTimeStampResp(core.Sequence):  # type: ignore[misc]
    """TimeStampResp without a token (asn1crypto's type makes the token mandatory)."""

    _fields = [("status", tsp.PKIStatusInfo)]  # noqa: RUF012


def _status(name: str) -> _FailedTimeStampResp:
    return _FailedTimeStampResp({"status": {"status": name, "fail_info": {"bad_data_format"}}})


def timestamp_response(request_der: bytes, at: datetime, label: str = "tsa") -> bytes:
    """DER TimeStampResp (RFC 3161 §2.4.2) from the TSA certificate ``label`` as of ``at``."""
    try:
        request = tsp.TimeStampReq.load(request_der)
        imprint = request["message_imprint"]
        imprint.native  # noqa: B018
    except ValueError:
        return bytes(_status("rejection").dump())
    tsa_cert = pki.cert(label)
    tsa_key = pki.private_key(label)
    gen_time = at.replace(microsecond=0)
    serial_seed = imprint.dump() + gen_time.isoformat().encode()
    info = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": TSA_POLICY_OID,
            "message_imprint": imprint,
            "serial_number": int.from_bytes(hashlib.sha256(serial_seed).digest()[:15], "big"),
            "gen_time": gen_time,
            "accuracy": {"seconds": 1},
            "nonce": request["nonce"] if request["nonce"].native is not None else None,
            "tsa": x509.GeneralName(name="directory_name", value=tsa_cert.subject),
        }
    )
    info_der = info.dump()
    ess_cert = {
        "cert_hash": hashlib.sha256(tsa_cert.dump()).digest(),  # hashAlgorithm default: SHA-256
        "issuer_serial": {
            "issuer": [x509.GeneralName(name="directory_name", value=tsa_cert.issuer)],
            "serial_number": tsa_cert.serial_number,
        },
    }
    signed_attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "signing_time", "values": [cms.Time(name="utc_time", value=gen_time)]},
            {"type": "message_digest", "values": [hashlib.sha256(info_der).digest()]},
            {"type": "signing_certificate_v2", "values": [{"certs": [ess_cert]}]},
        ]
    )
    signature = sign_bytes(tsa_key, signed_attrs.dump(), "sha256")
    issuer = x509.Certificate.load(pki.signer(label).chain_der[0])
    certs = [tsa_cert, issuer] if request["cert_req"].native else None
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": core.ParsableOctetString(info_der),
            },
            "certificates": certs,
            "signer_infos": [
                {
                    "version": "v1",
                    "sid": cms.SignerIdentifier(
                        name="issuer_and_serial_number",
                        value={"issuer": tsa_cert.issuer, "serial_number": tsa_cert.serial_number},
                    ),
                    "digest_algorithm": {"algorithm": "sha256"},
                    "signed_attrs": signed_attrs,
                    "signature_algorithm": {"algorithm": "sha256_rsa"},
                    "signature": signature,
                }
            ],
        }
    )
    token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    response = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
    return bytes(response.dump())
