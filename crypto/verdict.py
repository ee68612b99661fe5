"""The frozen result of one verification, in docs/design.md's and ETSI EN 319 102-1's terms."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from crypto.reasons import Indication, Reason, SubIndication


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signed, from the signing certificate's subject."""

    given_name: str
    surname: str
    personal_code: str  # DDMMYY-NNNNN
    birth_date: date | None  # derivable from old-format codes only
    serial_number: str  # subject serialNumber as in the certificate, e.g. PNOLV-321806-14495
    certificate_sha256: str  # hex
    legacy_code: bool = False  # bare DDMMYY-NNNNN (no PNOLV-): valid only from an LV-listed CA

    def to_json(self) -> dict[str, Any]:
        return {
            "given_name": self.given_name,
            "surname": self.surname,
            "personal_code": self.personal_code,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "serial_number": self.serial_number,
            "certificate_sha256": self.certificate_sha256,
        }


@dataclass(frozen=True, slots=True)
class DataFile:
    """The one signed data file, taken from the bytes the signature's reference covers."""

    name: str
    content: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True, slots=True)
class Evidence:
    """Enough DER to re-verify later without the network."""

    signer_certificate: bytes = b""
    chain: tuple[bytes, ...] = ()  # issuing CAs up to the trust anchor
    ocsp_responses: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()
    timestamp_token: bytes = b""  # RFC 3161 TimeStampToken (CMS ContentInfo)
    timestamp_chain: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """Accept, or reject with exactly one docs/design.md reason code."""

    verdict: str  # "accept" | "reject"
    reason: Reason | None
    indication: Indication
    subindication: SubIndication | None
    format: str | None = None  # "ASiC-E/XAdES", "PAdES"
    level: str | None = None  # e.g. "XAdES-BASELINE-LT"
    signer: Signer | None = None
    signing_time: datetime | None = None  # from the qualified time stamp, aware UTC
    data_file: DataFile | None = None
    evidence: Evidence = field(default_factory=Evidence)
    warnings: tuple[str, ...] = ()
    trust_source: str | None = None  # "trusted-list" | "test-anchor"
    message: str = ""  # human-readable detail of a reject

    @property
    def accepted(self) -> bool:
        return self.verdict == "accept"

    def to_json(self) -> dict[str, Any]:
        """The CLI/API fields; personal data only in `signer`."""
        return {
            "verdict": self.verdict,
            "reason": self.reason.value if self.reason else None,
            "indication": self.indication.value,
            "subindication": self.subindication.value if self.subindication else None,
            "format": self.format,
            "level": self.level,
            "signer": self.signer.to_json() if self.signer else None,
            "signing_time": (
                self.signing_time.isoformat().replace("+00:00", "Z") if self.signing_time else None
            ),
            "data_file": (
                {"name": self.data_file.name, "sha256": self.data_file.sha256}
                if self.data_file
                else None
            ),
            "trust_source": self.trust_source,
            "warnings": list(self.warnings),
            "message": self.message,
        }
