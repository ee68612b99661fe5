"""Latvian personal codes (personas kods): parsing and validation.

Old format DDMMYY-CNNNN: birth date, century digit C (0 = 1800s, 1 = 1900s, 2 = 2000s) and a
check digit (weights 1,6,3,7,9,10,5,8,4,2; check = (1101 - sum) mod 11). New format since
2017-07-01: 32XXXX-XXXXX (reserved range 3[2-9]), no birth date, and its check digit is not
published as mandatory — it is never rejected on a checksum alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from crypto.errors import InvalidPersonalCode

# The one spelling rule of a personal code, everywhere in the project: eleven ASCII digits
# (`\d` would admit other scripts' digits), canonically DDMMYY-NNNNN; where a code is only
# recognised (dedup input, ids that must not hold one, log redaction) the hyphen is optional.
CANONICAL_PATTERN = "[0-9]{6}-[0-9]{5}"
SHAPE_PATTERN = "[0-9]{6}-?[0-9]{5}"
ETSI_PREFIX = "PNOLV-"  # EN 319 412-1 natural-person semantics identifier: PNO + LV + "-"
_CANONICAL = re.compile(CANONICAL_PATTERN)
_SHAPE = re.compile(SHAPE_PATTERN)
_SPELLING = re.compile(f"(?:{ETSI_PREFIX})?([0-9]{{6}})-?([0-9]{{5}})")
_STANDALONE = re.compile(f"(?<![0-9]){SHAPE_PATTERN}(?![0-9])")
# EN 319 412-1 §5.1.3 semantics identifier: "PNO" + ISO 3166 country + "-" + national id.
_SEMANTICS = re.compile(r"PNOLV-([0-9]{6})-?([0-9]{5})")
_FOREIGN = re.compile(r"(PNO|IDC|PAS|TIN)([A-Z]{2})[-:].*", re.S)
# Legacy certificates carry the bare code; only with its hyphen (an Estonian or Lithuanian
# 11-digit code must never read as a Latvian one) and only with C=LV from an LV-listed CA.
_BARE = re.compile(r"([0-9]{6})-([0-9]{5})")
_WEIGHTS = (1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CENTURY = {"0": 1800, "1": 1900, "2": 2000}


@dataclass(frozen=True, slots=True)
class PersonalCode:
    code: str  # DDMMYY-NNNNN
    birth_date: date | None  # None for new-format codes
    bare: bool = False  # legacy form without the PNOLV- semantics identifier

    @property
    def new_format(self) -> bool:
        return self.birth_date is None


def is_canonical(text: str) -> bool:
    """True for exactly DDMMYY-NNNNN (the form, the API and the batch format write this)."""
    return _CANONICAL.fullmatch(text) is not None


def contains_code_shape(text: str) -> bool:
    """True if eleven digits shaped like a code (hyphen optional) appear anywhere in `text`."""
    return _SHAPE.search(text) is not None


def redact(text: str, replacement: str = "[redacted]") -> str:
    """`text` with every standalone code-shaped digit run replaced."""
    return _STANDALONE.sub(replacement, text)


def canonical(spelling: str) -> str:
    """DDMMYY-NNNNN from any accepted spelling (PNOLV- prefix, hyphen optional); no date or
    checksum rule (`parse_personal_code` checks those). InvalidPersonalCode otherwise."""
    match = _SPELLING.fullmatch(spelling)
    if match is None:
        raise InvalidPersonalCode("not a Latvian personal code (expected DDMMYY-NNNNN)")
    return f"{match[1]}-{match[2]}"


def check_digit(digits: str) -> int:
    """Check digit of an old-format code's first ten digits (10 means no valid code)."""
    return (1101 - sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True))) % 11


def parse_personal_code(serial_number: str) -> PersonalCode:
    """Parse a certificate subject serialNumber: `PNOLV-DDMMYY-NNNNN` (the semantics identifier)
    or a legacy bare `DDMMYY-NNNNN` (`bare=True`: the caller must check C=LV and the issuer).

    Each defect has its own message, and no message repeats the code: the service answers a
    platform with it (conformance C1) and it may reach logs. A foreign identifier is named by
    its type and country only."""
    match = _SEMANTICS.fullmatch(serial_number) or _BARE.fullmatch(serial_number)
    if not match:
        foreign = _FOREIGN.fullmatch(serial_number)
        if foreign and (foreign.group(1), foreign.group(2)) != ("PNO", "LV"):
            raise InvalidPersonalCode(
                f"the serialNumber is a {foreign.group(2)} {foreign.group(1)} identifier "
                f"({foreign.group(1)}{foreign.group(2)}-...), not a Latvian personal code"
            )
        raise InvalidPersonalCode(
            "the serialNumber is not a personal code DDMMYY-NNNNN "
            "(neither PNOLV-DDMMYY-NNNNN nor a legacy DDMMYY-NNNNN)"
        )
    bare = match.re is _BARE
    head, tail = match.groups()
    code = f"{head}-{tail}"
    if head[0] == "3" and head[1] in "23456789":
        return PersonalCode(code, None, bare)  # new format: no birth date, no mandatory checksum
    digits = head + tail
    century = _CENTURY.get(digits[6])
    if century is None:
        raise InvalidPersonalCode("the personal code's century digit is not 0, 1 or 2")
    try:
        born = date(century + int(digits[4:6]), int(digits[2:4]), int(digits[0:2]))
    except ValueError:
        raise InvalidPersonalCode("the personal code does not hold a valid birth date") from None
    if check_digit(digits[:10]) != int(digits[10]):
        raise InvalidPersonalCode("the personal code fails its check digit")
    return PersonalCode(code, born, bare)


def age_on(born: date, day: date) -> int:
    """Whole years on `day` (a 29 February birthday turns over on 1 March in common years)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
