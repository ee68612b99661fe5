"""Latvian personal codes: old format with its check digit; new format never checksum-rejected."""

import contextlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import InvalidPersonalCode
from crypto.personal_code import age_on, check_digit, parse_personal_code

_CENTURY_DIGIT = {18: "0", 19: "1", 20: "2"}


def _old_code(born: date, serial: int) -> str:
    head = born.strftime("%d%m") + f"{born.year % 100:02d}"
    body = head + _CENTURY_DIGIT[born.year // 100] + f"{serial:03d}"
    return f"{head}-{body[6:]}{check_digit(body)}"


@given(
    st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(0, 999),
    st.booleans(),
)
def test_old_format_round_trip(born: date, serial: int, prefixed: bool) -> None:
    code = _old_code(born, serial)
    if code[-1] == "0" and check_digit((code[:6] + code[7:])[:10]) == 10:
        return  # no valid check digit exists for these ten digits
    parsed = parse_personal_code(("PNOLV-" if prefixed else "") + code)
    assert parsed.code == code
    assert parsed.birth_date == born


@given(
    st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(0, 999),
    st.integers(1, 9),
)
def test_old_format_wrong_check_digit_rejected(born: date, serial: int, delta: int) -> None:
    code = _old_code(born, serial)
    wrong = code[:-1] + str((int(code[-1]) + delta) % 10)
    with pytest.raises(InvalidPersonalCode):
        parse_personal_code(wrong)


@given(st.from_regex(r"3[2-9][0-9]{4}-[0-9]{5}", fullmatch=True))
def test_new_format_never_rejected_on_checksum(code: str) -> None:
    parsed = parse_personal_code("PNOLV-" + code)
    assert parsed.code == code
    assert parsed.birth_date is None and parsed.new_format


@given(st.text(max_size=40))
def test_arbitrary_text_raises_only_typed_error(text: str) -> None:
    with contextlib.suppress(InvalidPersonalCode):
        parse_personal_code(text)


@pytest.mark.parametrize(
    "serial",
    [
        "PNOEE-38708090371",  # Estonian
        "PNOLV-321806-1449",  # too short
        "PNOLV-311299-33333",  # 31 Dec 1999 invalid century digit 3
        "PNOLV-310299-12345",  # 31 Feb
        " 321806-14495",
        "PNOLV-321806-14495\n",
        "PNOLV-３21806-14495",  # full-width digit: \d would accept it, [0-9] does not
    ],
)
def test_invalid_serials(serial: str) -> None:
    with pytest.raises(InvalidPersonalCode):
        parse_personal_code(serial)


def test_demo_signer_code() -> None:
    assert parse_personal_code("PNOLV-321806-14495").code == "321806-14495"


def test_age_on_birthday_boundaries() -> None:
    assert age_on(date(2008, 3, 12), date(2026, 3, 11)) == 17
    assert age_on(date(2008, 3, 12), date(2026, 3, 12)) == 18
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_each_defect_has_its_own_message_without_the_code():
    defects = {
        "PNOLV-15067-514827": "form",
        "PNOLV-150675-54827": "century",
        "PNOLV-310285-14823": "date",
        "PNOLV-150675-14827": "check digit",
    }
    messages = {}
    for serial in defects:
        with pytest.raises(InvalidPersonalCode) as caught:
            parse_personal_code(serial)
        messages[serial] = str(caught.value)
        assert not any(part in messages[serial] for part in serial.split("-")[1:])
    assert len(set(messages.values())) == len(defects)
