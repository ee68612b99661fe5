"""OCSP responder certificates checked once per (responder, issuer, trust version, validity).

pyhanko-certvalidator checks a delegated responder's certificate (RFC 6960 §4.2.2.2: issued
by the CA, id-kp-OCSPSigning, valid) for every OCSP response, building a validation context of
its own each time: about a sixth of a verification, the same for every signer of a CA. For a
responder certificate with id-pkix-ocsp-nocheck the check depends only on the two certificates
and the validation moment (inside the responder certificate's validity, give or take the
context's tolerance), so its success is remembered in the running verification's
`SharedChecks` (crypto._internal.shared). A responder without nocheck is checked against the
request's own revocation data: never shared. A failure is never remembered.

This wraps one private function of pyhanko-certvalidator (pinned in pyproject.toml); `install`
is idempotent and `tests/crypto/test_shared_checks.py` fails if the function moves.
"""

from __future__ import annotations

import hashlib
from typing import Any

from asn1crypto import x509
from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.revinfo import validate_ocsp

from crypto._internal import shared

_ORIGINAL = validate_ocsp._validate_delegated_ocsp_provenance


async def _shared_provenance(
    responder_cert: x509.Certificate,
    issuer: Any,
    validation_context: Any,
    ee_path: Any,
    proc_state: Any,
) -> None:
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


def install() -> None:
    """Idempotent; called on import of crypto._internal.chain."""
    if validate_ocsp._validate_delegated_ocsp_provenance is not _shared_provenance:
        validate_ocsp._validate_delegated_ocsp_provenance = _shared_provenance
