"""Verification policy: what the caller expects of a signature, as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crypto.form import FormKind, InitiativeFields


class PolicyError(ValueError):
    """A Policy was constructed with contradictory or naive values (a programming error)."""


DEFAULT_OCSP_MAX_DELAY = timedelta(minutes=15)  # SiVa/DSS warn past 15 min after the time stamp


@dataclass(frozen=True, slots=True)
class SizeLimits:
    """Bounds for hostile input; checked while streaming, never from header sizes."""

    max_container_bytes: int = 5 * 1024 * 1024
    max_entries: int = 16
    max_entry_bytes: int = 2 * 1024 * 1024  # any single decompressed entry
    max_total_bytes: int = 8 * 1024 * 1024  # all decompressed entries together
    max_ratio: int = 100  # decompressed : compressed, per entry, beyond the first 64 KiB
    max_xml_depth: int = 64
    # Canonicalisation is quadratic in namespace declarations in scope: bound them (real
    # XAdES declares < 10 per document) and attributes, per element and per document.
    max_xml_attributes_per_element: int = 32
    max_xml_attributes: int = 4096
    max_xml_namespaces_per_element: int = 16
    max_xml_namespaces: int = 128
    # Revocation data: real OCSP responses carry 1 entry and a few certificates; CRLs of
    # national CAs hold thousands of entries (a fetched CRL is also bounded in bytes).
    max_ocsp_entries: int = 16
    max_certificate_bag: int = 16  # certificates in one OCSP response / CMS structure
    max_crl_entries: int = 200_000
    # Whatever slips past the structural bounds: CPU seconds of one verification. A valid
    # XAdES-LT verification costs ~0.05 s (make bench).
    max_cpu_seconds: float = 3.0


@dataclass(frozen=True, slots=True)
class AlgorithmPolicy:
    """Accepted cryptography (no SHA-1, RSA >= 2048 bits, ECDSA on P-256/P-384)."""

    digests: frozenset[str] = frozenset({"sha256", "sha384", "sha512"})
    min_rsa_bits: int = 2048
    curves: frozenset[str] = frozenset({"secp256r1", "secp384r1"})


@dataclass(frozen=True, slots=True)
class Policy:
    """What a verification must establish beyond "a valid qualified signature".

    Form binding: give `initiative` (+ `form_kind`) to have the verifier render form v1 from the
    certificate's identity and the time-stamp date (that day or the day before, Europe/Riga), or
    `expected_form` with the exact bytes, or neither for no binding.
    """

    initiative: InitiativeFields | None = None
    form_kind: FormKind = FormKind.SIGNATURE
    expected_form: bytes | None = None
    period_start: datetime | None = None  # collection period by time-stamp time, inclusive
    period_end: datetime | None = None  # exclusive
    minimum_age: int | None = None  # whole years on the Riga signing date
    require_timestamp: bool = True  # MK 471 pt 26: XAdES-T at least
    ocsp_max_delay: timedelta = DEFAULT_OCSP_MAX_DELAY  # revocation produced at most this after TS
    revocation_max_age: timedelta = timedelta(hours=24)  # and at most this before the TS
    algorithms: AlgorithmPolicy = field(default_factory=AlgorithmPolicy)
    limits: SizeLimits = field(default_factory=SizeLimits)

    def __post_init__(self) -> None:
        if self.initiative is not None and self.expected_form is not None:
            raise PolicyError("give either initiative or expected_form, not both")
        for moment in (self.period_start, self.period_end):
            if moment is not None and moment.utcoffset() is None:
                raise PolicyError("collection period bounds must be timezone-aware")
