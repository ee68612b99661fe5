"""Zip reader and ASiC structure: generated archives (names, methods, flags, order, sizes) and
byte-level damage to real containers."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile

from hypothesis import given
from hypothesis import strategies as st

import crypto
from crypto import Policy, SizeLimits, TrustStore
from crypto._internal.asic import parse_asic
from crypto._internal.zipsafe import read_zip
from tests.crypto.conftest import AT
from tests.fuzz.conftest import FUZZ, typed_or_ok

TRUST = TrustStore()
NAMES = st.one_of(
    st.sampled_from(
        [
            "mimetype",
            "META-INF/manifest.xml",
            "META-INF/signatures0.xml",
            "META-INF/sub/x.xml",
            "form.txt",
            "FORM.TXT",
            "../up",
            "a/./b",
            "dir/",
            "META-INF/",
            "x\\y",
            "C:x",
        ]
    ),
    st.text(st.characters(min_codepoint=1, max_codepoint=0x2FF), min_size=1, max_size=40),
)
ENTRY = st.tuples(
    NAMES,
    st.binary(max_size=300) | st.just(b"application/vnd.etsi.asic-e+zip"),
    st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
)


def _archive(entries: list[tuple[str, bytes, int]], flags: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.flag_bits |= flags
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # duplicate names are part of the input
                    zf.writestr(info, data)
            except (ValueError, UnicodeEncodeError):
                continue
    return out.getvalue()


def _check(blob: bytes) -> None:
    limits = SizeLimits()
    typed_or_ok(lambda: read_zip(blob, limits))
    typed_or_ok(lambda: parse_asic(blob, limits))
    verdict = crypto.verify(blob, policy=Policy(), trust=TRUST, fetcher=None, at=AT)
    assert verdict.verdict == "reject"
    assert not verdict.message.startswith("unexpected"), verdict.message


@FUZZ
@given(st.lists(ENTRY, max_size=8), st.sampled_from([0, 0x1, 0x8, 0x800]))
def test_generated_archives(entries: list[tuple[str, bytes, int]], flags: int) -> None:
    _check(_archive(entries, flags))


@FUZZ
@given(st.data())
def test_damaged_real_container(lt_edoc: bytes, data: st.DataObject) -> None:
    blob = bytearray(lt_edoc)
    # Damage where it hurts: local and central headers (sizes, offsets, name lengths).
    headers = [i for i in range(len(blob) - 4) if blob[i : i + 2] == b"PK"]
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.sampled_from(headers)) + data.draw(st.integers(0, 45))
        if at + 4 <= len(blob):
            value = data.draw(st.sampled_from([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, len(blob)]))
            blob[at : at + 4] = struct.pack("<I", value)
    _check(bytes(blob))
