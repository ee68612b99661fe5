"""Signature form v1 (docs/design.md "Signature form, version 1"): the exact bytes a citizen signs.

Pure: the service renders it for platforms (GET .../form) and the verifier renders it again to
check that the signed data file is byte-equal. One function for both, so they cannot drift.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from crypto import personal_code

FORM_VERSION = "v1"
# The Latvian calendar: signing dates, collection periods and ages are counted in it.
RIGA = ZoneInfo("Europe/Riga")


class Regime(enum.StrEnum):
    """Legal regime of an initiative; the value is the stable API name."""

    ART22_BILL = "art22_bill"  # Law on national referendums..., Art. 22: draft law
    ART22_CONSTITUTION = "art22_constitution"  # Art. 22: amendment of the Satversme
    ART25_5_SAEIMA_RECALL = "art25_5_saeima_recall"  # Art. 25^5: recall of the Saeima
    SAEIMA_RULES_131_3 = "saeima_rules_131_3"  # Saeima Rules Art. 131^3: collective submission
    MUNICIPAL_REFERENDUM = "municipal_referendum"  # Law on local government referendums

    @property
    def label(self) -> str:
        """Latvian label printed on the form ("Iniciatīvas veids")."""
        return _LABELS[self]

    @property
    def minimum_age(self) -> int:
        """Minimum signer age in whole years on the signing date."""
        return 16 if self is Regime.SAEIMA_RULES_131_3 else 18

    @property
    def max_period_months(self) -> int | None:
        """Longest collection period the law allows (Art. 22(1), Art. 25^5), None if not fixed."""
        if self in (Regime.ART22_BILL, Regime.ART22_CONSTITUTION, Regime.ART25_5_SAEIMA_RECALL):
            return 12
        return None


_LABELS = {
    Regime.ART22_BILL: "Likumprojekta ierosināšana",
    Regime.ART22_CONSTITUTION: "Satversmes grozījumu ierosināšana",
    Regime.ART25_5_SAEIMA_RECALL: "Saeimas atsaukšanas ierosināšana",
    Regime.SAEIMA_RULES_131_3: "Kolektīvais iesniegums Saeimai",
    Regime.MUNICIPAL_REFERENDUM: "Pašvaldības referenduma ierosināšana",
}


class FormKind(enum.StrEnum):
    """First line of the form: a signature or its withdrawal (same template family)."""

    SIGNATURE = "Paraksta veidlapa"
    WITHDRAWAL = "Paraksta atsaukums"


class FormFieldError(ValueError):
    """A value cannot be put on the form (would break its one-line-per-field structure)."""


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class InitiativeFields:
    regime: Regime
    registration_number: str
    title: str
    text_sha256: str  # 64 lowercase hex of the initiative's full text (UTF-8 bytes)


@dataclass(frozen=True, slots=True)
class SignerFields:
    given_name: str  # given name(s) exactly as in the certificate
    surname: str
    personal_code: str  # DDMMYY-NNNNN
    signing_date: date  # Europe/Riga calendar date


def _field(value: str, name: str) -> str:
    value = unicodedata.normalize("NFC", value)
    if not value or value != value.strip():
        raise FormFieldError(f"{name} is empty or has leading/trailing whitespace")
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value):
        raise FormFieldError(f"{name} contains a control or line-break character")
    return value


def render_form(
    initiative: InitiativeFields,
    signer: SignerFields,
    kind: FormKind = FormKind.SIGNATURE,
) -> bytes:
    """Render the form v1 as UTF-8 bytes: NFC, LF line endings, final newline, no BOM."""
    if not _SHA256_HEX.fullmatch(initiative.text_sha256):
        raise FormFieldError("text_sha256 must be 64 lowercase hex digits")
    if not personal_code.is_canonical(signer.personal_code):
        raise FormFieldError("personal_code must be DDMMYY-NNNNN")
    registration_number = _field(initiative.registration_number, "registration_number")
    lines = [
        f"{kind.value}: {FORM_VERSION}",
        f"Iniciatīvas veids: {initiative.regime.label}",
        f"CVK reģistrācijas numurs: {registration_number}",
        f"Nosaukums: {_field(initiative.title, 'title')}",
        f"Teksta SHA-256: {initiative.text_sha256}",
        f"Vārds: {_field(signer.given_name, 'given_name')}",
        f"Uzvārds: {_field(signer.surname, 'surname')}",
        f"Personas kods: {signer.personal_code}",
        f"Parakstīšanās datums: {signer.signing_date.isoformat()}",
    ]
    text = "\n".join(lines) + "\n"
    return unicodedata.normalize("NFC", text).encode("utf-8")
