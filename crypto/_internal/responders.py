"""OCSP responder certificates checked once per (responder, issuer, trust version, validity).

pyhanko-certvalidator checks a delegated responder's certificate (RFC 6960 §4.2.2.2: issued
by the CA, id-kp-OCSPSigning, valid) for every OCSP response, building a validation context of
its own each time: about a sixth of a verification, the same for every signer of a CA. For a
responder certificate with id-pkix-ocsp-nocheck the check depends only on the two certificates
and the validation moment (inside the responder certificate's validity, give or take the
context's tolerance), so its success is remembered in the running verification's
`SharedChecks` (crypto._internal.shared). A responder without nocheck is checked against the
request's own revocation data: never shared. A failure is never remembered.

This wraps one private function of pyhanko-certvalidator (0.33 when written). If a release
moves it, nothing is wrapped (every response is checked as before) and
`tests/crypto/test_shared_checks.py` fails, so the upgrade is noticed; `install` is idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from asn1crypto import ocsp, x509
from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.revinfo import validate_ocsp

from crypto._internal import shared

_ORIGINAL = getattr(validate_ocsp, "_validate_delegated_ocsp_provenance", None)


async def _shared_provenance(
    responder_cert: x509.Certificate,
    issuer: Any,
    validation_context: Any,
    ee_path: Any,
    proc_state: Any,
) -> None:
    assert _ORIGINAL is not None  # installed only when it exists
    current = shared.CURRENT.get()
    if (
        current is None
        or responder_cert.ocsp_no_check_value is None
        or not isinstance(issuer, AuthorityWithCert)
        or proc_state.check_path_verif_recursion(responder_cert)  # the original raises
    ):
        await _ORIGINAL(responder_cert, issuer, validation_context, ee_path, proc_state)
        return
    checks, version = current
    moment = validation_context.moment
    tolerance = validation_context.time_tolerance
    key = (
        "ocsp-responder",
        version,
        hashlib.sha256(responder_cert.dump()).digest(),
        hashlib.sha256(issuer.certificate.dump()).digest(),
        tolerance,
        type(validation_context.algorithm_policy).__name__,
    )
    if checks.get(key, moment) is None:
        await _ORIGINAL(responder_cert, issuer, validation_context, ee_path, proc_state)
        window = shared.Window(
            responder_cert.not_valid_before - tolerance,
            responder_cert.not_valid_after + tolerance,
        )
        checks.put(key, window, True)
        return
    # What the original does after a successful check: the responder's path is known valid.
    validation_context.record_validation(
        responder_cert,
        validate_ocsp._delegated_ocsp_response_path(responder_cert, issuer, ee_path),
    )


def with_shared_certificates(
    response: bytes | ocsp.OCSPResponse, parse_certificate: Callable[[bytes], x509.Certificate]
) -> ocsp.OCSPResponse:
    """`response` (parsed if given as DER) with its embedded certificates replaced, in place, by
    the store's shared parsed ones (`TrustStore.parse_certificate`: fully parsed, from a
    certificate's second sighting on).

    A CA's responder certificate comes in every response of that CA, and pyhanko-certvalidator
    reads all of it (names, key identifiers, key, extended key usage) to find and check the
    responder: parsed afresh, that was about a quarter of its work per verification. A child is
    replaced by a certificate of the same DER and nothing is re-encoded: the response's `dump()`
    and its signed `tbs_response_data` stay the original bytes. Anything unreadable stops the
    replacing there and is left for pyhanko to judge as before.
    """
    if isinstance(response, bytes):
        response = ocsp.OCSPResponse.load(response)
    try:
        if response["response_status"].native != "successful":
            return response
        certs = response["response_bytes"]["response"].parsed["certs"]
        for index in range(len(certs) if certs else 0):
            certs.children[index] = parse_certificate(certs[index].dump())
    except Exception:  # noqa: S110 - a damaged response: pyhanko meets what it raises as before
        pass
    return response


def install() -> None:
    """Idempotent; called on import of crypto._internal.chain."""
    if _ORIGINAL is None:
        return
    if validate_ocsp._validate_delegated_ocsp_provenance is not _shared_provenance:
        validate_ocsp._validate_delegated_ocsp_provenance = _shared_provenance
