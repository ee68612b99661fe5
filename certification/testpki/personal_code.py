"""Latvian personal codes for test identities (generator side only; the verifier has its own).

Old format (issued until 2017-06-30): ``DDMMYY-CNNNX``. ``C`` is the century of birth
(0 = 1800s, 1 = 1900s, 2 = 2000s), ``NNN`` a serial, ``X`` a check digit: with weights
1, 6, 3, 7, 9, 10, 5, 8, 4, 2 over the first ten digits, ``X = (1101 - sum) mod 11``; codes where
that gives 10 are never issued. New format (from 2017-07-01): ``32XXXX-XXXXX``, no birth date
and no check digit that a verifier may rely on.
"""

from __future__ import annotations

from datetime import date

WEIGHTS = (1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CENTURY_DIGIT = {1800: 0, 1900: 1, 2000: 2}


def check_digit(first_ten: str) -> int:
    """Check digit for the ten digits DDMMYYCNNN; raises ValueError when no code has them."""
    if len(first_ten) != 10 or not first_ten.isascii() or not first_ten.isdigit():
        raise ValueError("need exactly ten ASCII digits")
    total = sum(w * int(d) for w, d in zip(WEIGHTS, first_ten, strict=True))
    digit = (1101 - total) % 11
    if digit == 10:
        raise ValueError(f"{first_ten}: check digit would be 10, no such code is issued")
    return digit


def old_format_code(born: date, serial: int) -> str:
    """The old-format code of someone born on ``born`` with the 3-digit ``serial``."""
    century = _CENTURY_DIGIT[born.year // 100 * 100]
    first_ten = f"{born:%d%m%y}{century}{serial:03d}"
    return f"{first_ten[:6]}-{first_ten[6:]}{check_digit(first_ten)}"


def with_wrong_check_digit(code: str) -> str:
    """``code`` with its check digit replaced by a different digit (for negative tests)."""
    right = int(code[-1])
    return f"{code[:-1]}{(right + 1) % 10}"
