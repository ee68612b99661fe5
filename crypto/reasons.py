"""Stable vocabularies of a verdict: reject reasons (docs/design.md) and ETSI EN 319 102-1
indications."""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Reject reason codes of docs/design.md "Fixed vocabularies", most fundamental first."""

    MALFORMED_CONTAINER = "MALFORMED_CONTAINER"
    UNSAFE_INPUT = "UNSAFE_INPUT"
    TOO_LARGE = "TOO_LARGE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    DOCUMENT_MISMATCH = "DOCUMENT_MISMATCH"
    IDENTITY_MISMATCH = "IDENTITY_MISMATCH"
    UNTRUSTED_CHAIN = "UNTRUSTED_CHAIN"
    NOT_QUALIFIED = "NOT_QUALIFIED"
    KEY_USAGE = "KEY_USAGE"
    WEAK_ALGORITHM = "WEAK_ALGORITHM"
    CERT_EXPIRED = "CERT_EXPIRED"
    CERT_NOT_YET_VALID = "CERT_NOT_YET_VALID"
    CERT_REVOKED = "CERT_REVOKED"
    REVOCATION_UNAVAILABLE = "REVOCATION_UNAVAILABLE"
    NO_TIMESTAMP = "NO_TIMESTAMP"
    TIMESTAMP_INVALID = "TIMESTAMP_INVALID"
    OUTSIDE_PERIOD = "OUTSIDE_PERIOD"
    UNDERAGE = "UNDERAGE"
    INVALID_PERSONAL_CODE = "INVALID_PERSONAL_CODE"
    DUPLICATE = "DUPLICATE"  # decided by the service (dedup), never by crypto.verify
    INITIATIVE_CLOSED = "INITIATIVE_CLOSED"  # decided by the service, never by crypto.verify
    MULTIPLE_SIGNATURES = "MULTIPLE_SIGNATURES"


# What each reason means, in the words the service's API answers quote (it words TOO_LARGE,
# DUPLICATE, INITIATIVE_CLOSED and REVOCATION_UNAVAILABLE for HTTP itself).
MEANINGS: dict[Reason, str] = {
    Reason.MALFORMED_CONTAINER: "the container is not a well-formed ASiC-E/edoc or PDF",
    Reason.UNSAFE_INPUT: "the container holds a hostile construct",
    Reason.UNSUPPORTED_FORMAT: "neither ASiC-E/edoc nor PAdES",
    Reason.SIGNATURE_INVALID: "the signature does not verify",
    Reason.DOCUMENT_MISMATCH: "the signed file is not this initiative's signature form",
    Reason.IDENTITY_MISMATCH: "the form names another person than the certificate",
    Reason.UNTRUSTED_CHAIN: "the certificate does not chain to a trusted, granted CA/QC service",
    Reason.NOT_QUALIFIED: "not a qualified certificate for e-signatures on a QSCD",
    Reason.KEY_USAGE: "the certificate lacks nonRepudiation",
    Reason.WEAK_ALGORITHM: "an algorithm or key size below policy",
    Reason.CERT_EXPIRED: "the certificate had expired at signing time",
    Reason.CERT_NOT_YET_VALID: "the certificate was not yet valid at signing time",
    Reason.CERT_REVOKED: "the certificate is revoked",
    Reason.NO_TIMESTAMP: "no qualified time stamp (XAdES-T at least is required)",
    Reason.TIMESTAMP_INVALID: "the time stamp is invalid or not qualified",
    Reason.OUTSIDE_PERIOD: "signed outside the initiative's collection period",
    Reason.UNDERAGE: "the signer is under the regime's minimum age on the signing date",
    Reason.INVALID_PERSONAL_CODE: "the certificate's personal code is invalid",
    Reason.MULTIPLE_SIGNATURES: "the container holds more than one signature",
    Reason.TOO_LARGE: "the container exceeds the size limit",
    Reason.REVOCATION_UNAVAILABLE: "the revocation responder is unreachable: retry later",
    Reason.DUPLICATE: "this person has already signed this initiative (first valid wins)",
    Reason.INITIATIVE_CLOSED: "the initiative is closed",
}


class Indication(enum.StrEnum):
    """ETSI EN 319 102-1 §5.1.3 main status indications."""

    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class SubIndication(enum.StrEnum):
    """ETSI EN 319 102-1 §5.1.3 table 5 sub-indications used by this verifier."""

    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE_NO_POE = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    OUT_OF_BOUNDS_NO_POE = "OUT_OF_BOUNDS_NO_POE"
    TRY_LATER = "TRY_LATER"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"
    TIMESTAMP_ORDER_FAILURE = "TIMESTAMP_ORDER_FAILURE"
    NO_POE = "NO_POE"
