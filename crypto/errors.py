"""Typed verification errors: one base class, one subclass per reject reason.

Verification steps raise these; `crypto.verify` translates the first one raised into a reject
Verdict. Each class fixes the docs/design.md reason and the default ETSI EN 319 102-1 indication and
sub-indication; a step may name a more precise sub-indication.
"""

from __future__ import annotations

from typing import ClassVar

from crypto.reasons import Indication, Reason, SubIndication


class VerificationError(Exception):
    """Base of every error `crypto` raises; carries the verdict it maps to."""

    reason: ClassVar[Reason] = Reason.MALFORMED_CONTAINER
    indication: ClassVar[Indication] = Indication.TOTAL_FAILED
    default_subindication: ClassVar[SubIndication] = SubIndication.FORMAT_FAILURE

    def __init__(self, message: str, *, subindication: SubIndication | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.subindication = subindication or self.default_subindication


_I, _S = Indication.INDETERMINATE, SubIndication


class MalformedContainer(VerificationError):
    """The container is not a well-formed ASiC-E/edoc/PDF of the expected structure."""

    reason = Reason.MALFORMED_CONTAINER


class UnsafeInput(VerificationError):
    """Hostile construct: zip bomb, path traversal, DTD/entities, duplicate names."""

    reason = Reason.UNSAFE_INPUT


class TooLarge(VerificationError):
    """Input or one of its parts exceeds the policy's size limits."""

    reason = Reason.TOO_LARGE


class UnsupportedFormat(VerificationError):
    """Neither ASiC-E/edoc nor PDF."""

    reason = Reason.UNSUPPORTED_FORMAT


class MultipleSignatures(VerificationError):
    """More than one signature (file or element) in the container."""

    reason = Reason.MULTIPLE_SIGNATURES


class SignatureInvalid(VerificationError):
    """Signature value, a reference digest or the signing-certificate binding does not verify."""

    reason = Reason.SIGNATURE_INVALID
    default_subindication = _S.SIG_CRYPTO_FAILURE


class DocumentMismatch(VerificationError):
    """The signed data file is not the expected signature form."""

    reason = Reason.DOCUMENT_MISMATCH
    default_subindication = _S.SIG_CONSTRAINTS_FAILURE


class IdentityMismatch(VerificationError):
    """The form names a different person than the signing certificate."""

    reason = Reason.IDENTITY_MISMATCH
    default_subindication = _S.SIG_CONSTRAINTS_FAILURE


class UntrustedChain(VerificationError):
    """No path from the signing certificate to a trusted, granted CA/QC service."""

    reason = Reason.UNTRUSTED_CHAIN
    indication = _I
    default_subindication = _S.NO_CERTIFICATE_CHAIN_FOUND


class NotQualified(VerificationError):
    """Not a qualified certificate for e-signatures on a QSCD."""

    reason = Reason.NOT_QUALIFIED
    indication = _I
    default_subindication = _S.CHAIN_CONSTRAINTS_FAILURE


class KeyUsageError(VerificationError):
    """Signing certificate lacks the nonRepudiation key usage."""

    reason = Reason.KEY_USAGE
    indication = _I
    default_subindication = _S.CHAIN_CONSTRAINTS_FAILURE


class WeakAlgorithm(VerificationError):
    """An algorithm or key size below the policy (SHA-1, RSA < 2048, other curves)."""

    reason = Reason.WEAK_ALGORITHM
    indication = _I
    default_subindication = _S.CRYPTO_CONSTRAINTS_FAILURE_NO_POE


class CertExpired(VerificationError):
    """Signing certificate expired before the signing time."""

    reason = Reason.CERT_EXPIRED
    default_subindication = _S.EXPIRED


class CertNotYetValid(VerificationError):
    """Signing certificate not yet valid at the signing time."""

    reason = Reason.CERT_NOT_YET_VALID
    default_subindication = _S.NOT_YET_VALID


class CertRevoked(VerificationError):
    """A certificate on the path was revoked at or before the signing time."""

    reason = Reason.CERT_REVOKED
    default_subindication = _S.REVOKED


class RevocationUnavailable(VerificationError):
    """No usable, fresh revocation status for the signing certificate."""

    reason = Reason.REVOCATION_UNAVAILABLE
    indication = _I
    default_subindication = _S.TRY_LATER


class FetchError(RevocationUnavailable):
    """An injected fetcher could not obtain a response (network, HTTP, size): an outage.

    Every outage of any fetch (OCSP, CRL, caIssuers) is REVOCATION_UNAVAILABLE with TRY_LATER:
    the service answers it with 503 + Retry-After, because the same request can pass later.
    """


class FetcherFailure(RuntimeError):
    """The injected fetcher failed in a way that is not an outage (a bug in the caller's code).

    Not a verdict: `crypto.verify` lets it propagate, so it is never mistaken for a property of
    the container (it used to become MALFORMED_CONTAINER).
    """


class NoTimestamp(VerificationError):
    """No signature time stamp (a qualified time stamp is required: MK 471 pt 26)."""

    reason = Reason.NO_TIMESTAMP
    indication = _I
    default_subindication = _S.SIG_CONSTRAINTS_FAILURE


class TimestampInvalid(VerificationError):
    """The signature time stamp does not verify or is not from a granted QTST."""

    reason = Reason.TIMESTAMP_INVALID
    indication = _I
    default_subindication = _S.SIG_CONSTRAINTS_FAILURE


class OutsidePeriod(VerificationError):
    """Time stamp outside the initiative's collection period (or after `at`)."""

    reason = Reason.OUTSIDE_PERIOD
    default_subindication = _S.SIG_CONSTRAINTS_FAILURE


class Underage(VerificationError):
    """Signer younger than the regime's minimum age on the signing date."""

    reason = Reason.UNDERAGE
    default_subindication = _S.SIG_CONSTRAINTS_FAILURE


class InvalidPersonalCode(VerificationError):
    """Subject serialNumber is not a valid Latvian personal code."""

    reason = Reason.INVALID_PERSONAL_CODE
    default_subindication = _S.SIG_CONSTRAINTS_FAILURE


class TrustListError(VerificationError):
    """A trusted list failed to parse or its own XML signature did not verify."""

    reason = Reason.UNTRUSTED_CHAIN
    indication = _I
    default_subindication = _S.NO_CERTIFICATE_CHAIN_FOUND
