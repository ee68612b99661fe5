"""Encryption at rest: round trips, every tampering fails, records cannot be swapped."""

from __future__ import annotations

import base64
import logging
import os
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from sigsvc.intake import protection as p
from sigsvc.intake.keyfiles import write_key_file

DEK = bytes(range(32))
AAD = p.record_aad("init-1", "sig-1", "personal_code")


def flip(blob: bytes, index: int) -> bytes:
    out = bytearray(blob)
    out[index] ^= 0x01
    return bytes(out)


def test_round_trip() -> None:
    blob = p.seal(DEK, b"010101-10101", AAD)
    assert p.unseal(DEK, blob, AAD) == b"010101-10101"
    assert len(blob) == p.sealed_size(len(b"010101-10101"))
    assert blob[0] == p.FORMAT_VERSION


def test_format_is_standard_aes_gcm_with_version_in_aad() -> None:
    # Decrypt independently with the documented layout to pin the byte format.
    blob = p.seal(DEK, "Jānis".encode(), AAD)
    nonce, body = blob[1:13], blob[13:]
    assert AESGCM(DEK).decrypt(nonce, body, b"\x01" + AAD) == "Jānis".encode()


def test_nonces_differ() -> None:
    assert p.seal(DEK, b"x", AAD)[1:13] != p.seal(DEK, b"x", AAD)[1:13]


@pytest.mark.parametrize(
    ("name", "index"),
    [("nonce", 1), ("nonce-last", 12), ("ciphertext", 13), ("tag", -1), ("tag-first", -16)],
)
def test_tampering_any_part_fails(name: str, index: int) -> None:
    blob = p.seal(DEK, b"secret data", AAD)
    with pytest.raises(p.DecryptionError):
        p.unseal(DEK, flip(blob, index), AAD)


def test_tampered_version_fails() -> None:
    blob = p.seal(DEK, b"secret data", AAD)
    for version in (0, 2, 255):
        with pytest.raises(p.UnsupportedVersion):
            p.unseal(DEK, bytes([version]) + blob[1:], AAD)


def test_truncated_fails() -> None:
    blob = p.seal(DEK, b"", AAD)
    for cut in range(len(blob)):
        with pytest.raises(p.DecryptionError):
            p.unseal(DEK, blob[:cut], AAD)


def test_wrong_key_fails() -> None:
    blob = p.seal(DEK, b"secret", AAD)
    with pytest.raises(p.DecryptionError):
        p.unseal(p.generate_data_key(), blob, AAD)


@pytest.mark.parametrize(
    "other",
    [
        p.record_aad("init-2", "sig-1", "personal_code"),
        p.record_aad("init-1", "sig-2", "personal_code"),
        p.record_aad("init-1", "sig-1", "surname"),
        # Length prefixes: moving a boundary between fields changes the AAD.
        p.record_aad("init-1s", "ig-1", "personal_code"),
    ],
)
def test_wrong_aad_fails(other: bytes) -> None:
    blob = p.seal(DEK, b"secret", AAD)
    assert other != AAD
    with pytest.raises(p.DecryptionError):
        p.unseal(DEK, blob, other)


def test_ciphertexts_cannot_be_swapped_between_records() -> None:
    rows = {
        sid: p.seal(DEK, f"code of {sid}".encode(), p.record_aad("i", sid, "personal_code"))
        for sid in ("a", "b")
    }
    swapped = {"a": rows["b"], "b": rows["a"]}
    for sid, blob in swapped.items():
        with pytest.raises(p.DecryptionError):
            p.unseal(DEK, blob, p.record_aad("i", sid, "personal_code"))


def test_bad_key_length_is_typed() -> None:
    with pytest.raises(p.InvalidKey):
        p.seal(b"short", b"x", AAD)
    with pytest.raises(p.InvalidKey):
        p.LocalKek(b"\x00" * 16)


@given(st.binary(max_size=4096), st.binary(max_size=64), st.binary(min_size=32, max_size=32))
def test_round_trip_property(plaintext: bytes, aad: bytes, dek: bytes) -> None:
    assert p.unseal(dek, p.seal(dek, plaintext, aad), aad) == plaintext


# --- data keys and the KEK ------------------------------------------------------------------


def test_data_key_wrap_round_trip_and_binding() -> None:
    kek = p.LocalKek(os.urandom(32))
    dek = p.generate_data_key()
    wrapped = p.wrap_data_key(kek, dek, "init-1")
    assert wrapped.kek_id == kek.key_id
    assert p.unwrap_data_key(kek, wrapped, "init-1") == dek
    assert dek not in wrapped.blob
    # Bound to its initiative: a wrapped key moved to another initiative does not open.
    with pytest.raises(p.DecryptionError):
        p.unwrap_data_key(kek, wrapped, "init-2")
    # Tampered wrapped key.
    with pytest.raises(p.DecryptionError):
        p.unwrap_data_key(kek, p.WrappedDataKey(wrapped.kek_id, flip(wrapped.blob, 20)), "init-1")


def test_unwrap_with_another_kek_is_key_mismatch() -> None:
    kek, other = p.LocalKek(os.urandom(32)), p.LocalKek(os.urandom(32))
    wrapped = p.wrap_data_key(kek, p.generate_data_key(), "i")
    with pytest.raises(p.KeyMismatch):
        p.unwrap_data_key(other, wrapped, "i")
    # Even if the id were forged to match, the other KEK cannot open it.
    with pytest.raises(p.DecryptionError):
        p.unwrap_data_key(other, p.WrappedDataKey(other.key_id, wrapped.blob), "i")


def test_rewrap_keeps_records_readable() -> None:
    old, new = p.LocalKek(os.urandom(32)), p.LocalKek(os.urandom(32))
    dek = p.generate_data_key()
    record = p.seal(dek, b"payload", AAD)
    rewrapped = p.rewrap_data_key(old, new, p.wrap_data_key(old, dek, "i"), "i")
    assert rewrapped.kek_id == new.key_id
    assert p.unseal(p.unwrap_data_key(new, rewrapped, "i"), record, AAD) == b"payload"


def test_destroying_the_data_key_shreds_records() -> None:
    # Everything that remains after the wrapped DEK row is deleted: the KEK and the records.
    kek = p.LocalKek(os.urandom(32))
    dek = p.generate_data_key()
    p.wrap_data_key(kek, dek, "i")
    record = p.seal(dek, b"Anna Liepa 010101-10101", AAD)
    del dek  # destroyed
    for candidate in (p.generate_data_key(), kek._key):
        with pytest.raises(p.DecryptionError):
            p.unseal(candidate, record, AAD)


def test_local_kek_satisfies_protocol_and_hides_key() -> None:
    key = os.urandom(32)
    kek = p.LocalKek(key)
    assert isinstance(kek, p.KeyEncryptionKey)
    assert key.hex() not in repr(kek)
    assert kek.key_id == p.LocalKek(key).key_id != p.LocalKek(os.urandom(32)).key_id


# --- configuration -----------------------------------------------------------------------------


def test_kek_from_env_base64() -> None:
    key = os.urandom(32)
    kek = p.kek_from_environ({"SIGSVC_KEK": base64.b64encode(key).decode()})
    assert kek.key_id == p.LocalKek(key).key_id


def test_kek_from_file_raw_and_base64(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = os.urandom(32)
    raw = tmp_path / "raw.key"
    raw.write_bytes(key)
    raw.chmod(0o600)
    b64 = tmp_path / "b64.key"
    write_key_file(b64, key)
    assert oct(b64.stat().st_mode & 0o777) == "0o600"
    with caplog.at_level(logging.WARNING):
        for path in (raw, b64):
            assert p.kek_from_environ({"SIGSVC_KEK_FILE": str(path)}).key_id == (
                p.LocalKek(key).key_id
            )
    assert not caplog.records


def test_world_readable_key_file_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "kek"
    path.write_bytes(os.urandom(32))
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="sigsvc.intake.keyfiles"):
        p.kek_from_environ({"SIGSVC_KEK_FILE": str(path)})
    assert any("chmod 600" in r.getMessage() for r in caplog.records)


def test_write_key_file_refuses_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    write_key_file(path, os.urandom(32))
    with pytest.raises(FileExistsError):
        write_key_file(path, os.urandom(32))


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"SIGSVC_KEK": ""},
        {"SIGSVC_KEK": base64.b64encode(b"x" * 31).decode()},
        {"SIGSVC_KEK": base64.b64encode(b"x" * 32).decode() + "!"},
        {"SIGSVC_KEK": "x" * 32},  # 32 characters of text are not 32 raw bytes
        {"SIGSVC_KEK_FILE": "/nonexistent/kek"},
        {"SIGSVC_KEK": base64.b64encode(b"x" * 32).decode(), "SIGSVC_KEK_FILE": "/k"},
    ],
)
def test_bad_kek_configuration_is_typed(environ: dict[str, str]) -> None:
    with pytest.raises(p.KeyConfigError):
        p.kek_from_environ(environ)


def test_uuid_ids_and_their_canonical_strings_agree() -> None:
    initiative, signature = uuid.uuid4(), uuid.uuid4()
    blob = p.seal(DEK, b"x", p.record_aad(initiative, signature, "surname"))
    assert p.unseal(DEK, blob, p.record_aad(str(initiative), str(signature), "surname")) == b"x"
    assert p.data_key_context(initiative) == p.data_key_context(str(initiative))
