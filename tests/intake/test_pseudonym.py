"""Keyed pseudonyms: known answers, normalisation, separation of the two derivations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigsvc.intake import pseudonym as ps

KEY = bytes(range(32))


def lp(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">I", len(raw)) + raw


def reference(tag: str, initiative: str, code: str, key: bytes = KEY) -> bytes:
    # Independent of the module: the documented message, hashed with the stdlib.
    return hmac.new(key, lp(tag) + lp(initiative) + lp(code), hashlib.sha256).digest()


# Pinned with `openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f` over the message
# lp("sigsvc/dedup/v1") || lp("init-1") || lp("010101-10101") (and the signer tag).
KAT_DEDUP = "154393b247e3b543f13db6c60ef790f740594a6e70e491a97d8282ff20ea31bd"
KAT_SIGNER = "0cc666625ba67cda87d7907f98a9649d3c16aa8508bb6743715c4dc44544a75e"


def test_known_answer_vectors() -> None:
    key = ps.PseudonymKey(KEY)
    assert key.dedup_key("init-1", "010101-10101").hex() == KAT_DEDUP
    assert key.signer_pseudonym("init-1", "010101-10101").hex() == KAT_SIGNER
    assert reference(ps.DEDUP_TAG, "init-1", "010101-10101").hex() == KAT_DEDUP
    assert reference(ps.SIGNER_TAG, "init-1", "010101-10101").hex() == KAT_SIGNER


@pytest.mark.parametrize(
    "spelling",
    ["PNOLV-010101-10101", "PNOLV-01010110101", "010101-10101", "01010110101"],
)
def test_old_and_new_certificate_styles_collide(spelling: str) -> None:
    key = ps.PseudonymKey(KEY)
    assert ps.normalise_personal_code(spelling) == "010101-10101"
    assert key.dedup_key("init-1", spelling).hex() == KAT_DEDUP


def test_new_style_code() -> None:
    assert ps.normalise_personal_code("PNOLV-32123412345") == "321234-12345"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "010101-1010",
        "010101--10101",
        "0101011-0101",
        "pnolv-010101-10101",
        "PNOEE-38001010000",
        "PNOLV-PNOLV-010101-10101",
        " 010101-10101",
        "010101-10101\n",
        "٠١٠١٠١-١٠١٠١",  # Arabic-Indic digits are digits to str.isdigit, not to us
        "010101-1010a",
    ],
)
def test_invalid_codes_are_refused(bad: str) -> None:
    with pytest.raises(ps.InvalidPersonalCode):
        ps.normalise_personal_code(bad)
    with pytest.raises(ps.InvalidPersonalCode):
        ps.PseudonymKey(KEY).dedup_key("i", bad)


def test_initiatives_and_derivations_are_separated() -> None:
    key = ps.PseudonymKey(KEY)
    values = {
        key.dedup_key("init-1", "010101-10101"),
        key.dedup_key("init-2", "010101-10101"),
        key.signer_pseudonym("init-1", "010101-10101"),
        key.signer_pseudonym("init-2", "010101-10101"),
        key.dedup_key("init-1", "010101-10102"),
    }
    assert len(values) == 5


def test_different_keys_give_different_pseudonyms() -> None:
    a, b = ps.PseudonymKey(KEY), ps.PseudonymKey(os.urandom(32))
    assert a.dedup_key("i", "010101-10101") != b.dedup_key("i", "010101-10101")


def test_not_an_unkeyed_hash() -> None:
    key = ps.PseudonymKey(KEY)
    out = key.dedup_key("i", "010101-10101")
    for unkeyed in (b"010101-10101", b"01010110101", lp("i") + lp("010101-10101")):
        assert out != hashlib.sha256(unkeyed).digest()


@given(
    st.text(max_size=40),
    st.from_regex(r"\A[0-9]{6}-[0-9]{5}\Z", fullmatch=True),
)
def test_matches_reference_for_any_initiative(initiative: str, code: str) -> None:
    key = ps.PseudonymKey(KEY)
    assert key.dedup_key(initiative, code) == reference(ps.DEDUP_TAG, initiative, code)
    assert key.signer_pseudonym(initiative, code) == reference(ps.SIGNER_TAG, initiative, code)


def test_key_from_environment(tmp_path: Path) -> None:
    key = os.urandom(32)
    path = tmp_path / "pseudonym.key"
    path.write_bytes(base64.b64encode(key) + b"\n")
    path.chmod(0o600)
    from_file = ps.pseudonym_key_from_environ({"SIGSVC_PSEUDONYM_KEY_FILE": str(path)})
    from_env = ps.pseudonym_key_from_environ(
        {"SIGSVC_PSEUDONYM_KEY": base64.b64encode(key).decode()}
    )
    expected = reference(ps.DEDUP_TAG, "i", "010101-10101", key)
    assert from_file.dedup_key("i", "010101-10101") == expected
    assert from_env.dedup_key("i", "010101-10101") == expected
    assert key.hex() not in repr(from_env)


@pytest.mark.parametrize(
    "environ",
    [{}, {"SIGSVC_PSEUDONYM_KEY": "AAAA"}, {"SIGSVC_PSEUDONYM_KEY_FILE": "/nonexistent"}],
)
def test_bad_key_configuration_is_typed(environ: dict[str, str]) -> None:
    with pytest.raises(ps.PseudonymKeyError):
        ps.pseudonym_key_from_environ(environ)
    with pytest.raises(ps.PseudonymKeyError):
        ps.PseudonymKey(b"short")


def test_uuid_and_its_canonical_string_agree() -> None:
    key = ps.PseudonymKey(KEY)
    initiative = uuid.UUID("12345678-9abc-def0-1234-56789abcdef0")
    assert key.dedup_key(initiative, "010101-10101") == key.dedup_key(
        "12345678-9abc-def0-1234-56789abcdef0", "010101-10101"
    )
    # Any other spelling of the id is another initiative: callers pass str(uuid) or the UUID.
    assert key.dedup_key(initiative, "010101-10101") != key.dedup_key(
        initiative.hex, "010101-10101"
    )
