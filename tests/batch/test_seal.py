"""The operator's seal: made by sigsvc.export.seal, verified by crypto.seal; tamper refused."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from certification.sealpki import make_seal_pki
from crypto.seal import SealInvalid, verify_seal
from sigsvc.export.seal import FileSealer, SealError, seal_document

AT = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
DATA = b'{"format":"sigsvc-batch"}\n'


@pytest.fixture(scope="module")
def sealer_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_seal_pki().write(tmp_path_factory.mktemp("seal"))


def _seal(files: tuple[Path, Path, Path], data: bytes = DATA) -> bytes:
    sealer = FileSealer.from_files(files[0], files[1])
    return seal_document(
        sealer,
        data_name="manifest.json",
        data_sha256=hashlib.sha256(data).digest(),
        signing_time=AT,
    )


def test_seal_verifies_and_names_the_operator(sealer_files: tuple[Path, Path, Path]) -> None:
    info = verify_seal(_seal(sealer_files), "manifest.json", DATA, [sealer_files[2].read_bytes()])
    assert "TEST batch seal" in info.subject
    assert info.signing_time == AT


def test_from_env(sealer_files: tuple[Path, Path, Path]) -> None:
    env = {
        "SIGSVC_BATCH_SEAL_KEY": str(sealer_files[0]),
        "SIGSVC_BATCH_SEAL_CERT": str(sealer_files[1]),
    }
    assert FileSealer.from_env(env).certificate_chain[0] != b""
    with pytest.raises(SealError):
        FileSealer.from_env({})


def test_key_and_certificate_must_match(
    sealer_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    other = make_seal_pki("OTHER").write(tmp_path)
    with pytest.raises(SealError):
        FileSealer.from_files(sealer_files[0], other[1])


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda x: (x, DATA + b" "), id="other-data"),
        pytest.param(
            lambda x: (x.replace(b"2026-03-03T09:00:00Z", b"2026-03-03T09:00:01Z"), DATA),
            id="signing-time",
        ),
        pytest.param(
            lambda x: (x.replace(b'URI="manifest.json"', b'URI="manifest.jsn"'), DATA),
            id="reference-name",
        ),
        pytest.param(
            lambda x: (x.replace(b"application/json", b"text/plain"), DATA), id="data-object-format"
        ),
    ],
)
def test_tampered_seal_is_refused(sealer_files: tuple[Path, Path, Path], tamper: object) -> None:
    seal, data = tamper(_seal(sealer_files))  # type: ignore[operator]
    with pytest.raises(SealInvalid):
        verify_seal(seal, "manifest.json", data, [sealer_files[2].read_bytes()])


def test_other_anchor_is_refused(sealer_files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    other = make_seal_pki("OTHER").write(tmp_path)
    with pytest.raises(SealInvalid, match="anchor"):
        verify_seal(_seal(sealer_files), "manifest.json", DATA, [other[2].read_bytes()])
    with pytest.raises(SealInvalid, match="anchor"):
        verify_seal(_seal(other), "manifest.json", DATA, [sealer_files[2].read_bytes()])
