"""Hostile containers: bombs, traversal, duplicates, DTDs, wrong structure -> one clear reason."""

from __future__ import annotations

import contextlib
import random
import zipfile
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crypto
from crypto import Policy, Reason, SizeLimits, TrustStore
from crypto._internal import safexml
from crypto._internal.zipsafe import read_zip
from crypto.errors import VerificationError
from tests.crypto import zipkit

AT = datetime(2026, 3, 1, tzinfo=UTC)
TRUST = TrustStore()


def verdict(data: bytes, policy: Policy | None = None) -> crypto.Verdict:
    return crypto.verify(data, policy=policy or Policy(), trust=TRUST, fetcher=None, at=AT)


def reason(data: bytes, policy: Policy | None = None) -> Reason | None:
    return verdict(data, policy).reason


def test_not_a_container_is_unsupported() -> None:
    assert reason(b"hello world") is Reason.UNSUPPORTED_FORMAT
    assert reason(b"") is Reason.UNSUPPORTED_FORMAT


def test_oversized_input_is_too_large() -> None:
    small = Policy(limits=SizeLimits(max_container_bytes=1000))
    noise = random.Random(1).randbytes(2000)  # incompressible
    assert reason(zipkit.asic(data=[("form.txt", noise)]), small) is Reason.TOO_LARGE


def test_zip_bomb_ratio_is_unsafe() -> None:
    bomb = zipkit.asic(data=[("form.txt", bytes(1_500_000))])
    assert len(bomb) < 10_000
    assert reason(bomb) is Reason.UNSAFE_INPUT


def test_zip_bomb_absolute_size_is_too_large() -> None:
    limits = SizeLimits(max_entry_bytes=100_000, max_ratio=10**9)
    bomb = zipkit.asic(data=[("form.txt", bytes(300_000))])
    assert reason(bomb, Policy(limits=limits)) is Reason.TOO_LARGE


def test_lying_header_size_does_not_help() -> None:
    """Patch the central directory to claim a tiny size: streaming still counts real bytes."""
    bomb = bytearray(zipkit.asic(data=[("form.txt", bytes(1_500_000))]))
    cd = bomb.rfind(b"PK\x01\x02" + bytes(0))  # last central header = form.txt
    bomb[cd + 24 : cd + 28] = (10).to_bytes(4, "little")  # uncompressed size
    assert reason(bytes(bomb)) in (Reason.UNSAFE_INPUT, Reason.MALFORMED_CONTAINER)


def test_too_many_entries() -> None:
    many = zipkit.asic(data=[(f"f{i}.txt", b"x") for i in range(40)])
    assert reason(many) is Reason.TOO_LARGE


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "a/../../b", "C:\\x", "a\\b"])
def test_path_traversal_is_unsafe(name: str) -> None:
    assert reason(zipkit.asic(data=[(name, b"x")])) is Reason.UNSAFE_INPUT


def test_duplicate_entry_names_are_unsafe() -> None:
    dup = zipkit.asic(data=[("form.txt", b"a"), ("form.txt", b"b")])
    assert reason(dup) is Reason.UNSAFE_INPUT


def test_case_folded_duplicates_are_unsafe() -> None:
    dup = zipkit.asic(data=[("form.txt", b"a"), ("FORM.txt", b"b")])
    assert reason(dup) is Reason.UNSAFE_INPUT


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mimetype": None},
        {"mimetype_last": True},
        {"mimetype_method": zipfile.ZIP_DEFLATED},
        {"manifest": None},
        {"signatures": []},
        {"data": []},
        {"data": [("form.txt", b"a"), ("other.txt", b"b")]},
    ],
)
def test_structure_violations_are_malformed(kwargs: dict[str, object]) -> None:
    assert reason(zipkit.asic(**kwargs)) is Reason.MALFORMED_CONTAINER  # type: ignore[arg-type]


@pytest.mark.parametrize("mimetype", [b"application/vnd.etsi.asic-s+zip", b"application/zip"])
def test_other_packages_are_unsupported(mimetype: bytes) -> None:
    assert reason(zipkit.asic(mimetype=mimetype)) is Reason.UNSUPPORTED_FORMAT


def test_two_signature_files_are_multiple_signatures() -> None:
    two = zipkit.asic(
        signatures=[
            ("META-INF/signatures0.xml", zipkit.SIGNATURES),
            ("META-INF/signatures1.xml", zipkit.SIGNATURES),
        ]
    )
    assert reason(two) is Reason.MULTIPLE_SIGNATURES


def test_two_signature_elements_are_multiple_signatures() -> None:
    body = (
        b'<asic:XAdESSignatures xmlns:asic="http://uri.etsi.org/02918/v1.2.1#" '
        b'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Signature/><ds:Signature/>'
        b"</asic:XAdESSignatures>"
    )
    assert reason(zipkit.asic(signatures=[("META-INF/signatures0.xml", body)])) is (
        Reason.MULTIPLE_SIGNATURES
    )


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<asic:XAdESSignatures xmlns:asic="http://uri.etsi.org/02918/v1.2.1#">&lol3;</asic:XAdESSignatures>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<asic:XAdESSignatures xmlns:asic="http://uri.etsi.org/02918/v1.2.1#">&xxe;</asic:XAdESSignatures>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_dtd_and_entities_are_unsafe(xml: bytes) -> None:
    sig = zipkit.asic(signatures=[("META-INF/signatures0.xml", xml)])
    assert reason(sig) is Reason.UNSAFE_INPUT
    man = zipkit.asic(manifest=xml)
    assert reason(man) is Reason.UNSAFE_INPUT


def test_deep_xml_is_unsafe() -> None:
    deep = b"<a>" * 200 + b"</a>" * 200
    with pytest.raises(VerificationError) as info:
        safexml.parse(deep, SizeLimits())
    assert info.value.reason is Reason.UNSAFE_INPUT


def test_malformed_xml_is_malformed() -> None:
    bad = zipkit.asic(signatures=[("META-INF/signatures0.xml", b"<unclosed")])
    assert reason(bad) is Reason.MALFORMED_CONTAINER


def test_reject_verdict_shape() -> None:
    v = verdict(b"nope")
    assert v.verdict == "reject" and not v.accepted
    assert v.indication is crypto.Indication.TOTAL_FAILED
    assert v.subindication is crypto.SubIndication.FORMAT_FAILURE
    assert set(v.to_json()) >= {
        "verdict",
        "reason",
        "indication",
        "subindication",
        "format",
        "level",
        "signer",
        "signing_time",
    }


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    v = verdict(b"PK\x03\x04" + data)
    assert v.verdict == "reject"
    assert not v.message.startswith("unexpected"), v.message


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_containers_only_raise_typed_errors(data: st.DataObject) -> None:
    base = bytearray(zipkit.asic())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(base) - 1))
        base[pos] = data.draw(st.integers(0, 255))
    with contextlib.suppress(VerificationError):
        read_zip(bytes(base), SizeLimits())
    v = verdict(bytes(base))
    assert v.verdict == "reject"
    assert not v.message.startswith("unexpected"), v.message


@pytest.mark.parametrize(
    "extra",
    [
        ("META-INF/sub/unsigned.txt", b"x"),  # under META-INF, one level down
        ("META-INF/a/b/c.xml", b"<x/>"),
        ("META-INF/", b""),  # a directory entry
        ("docs/", b""),
        ("META-INF/README", b"x"),
    ],
)
def test_only_the_four_asic_entries_are_allowed(extra: tuple[str, bytes]) -> None:
    """Anything besides mimetype, manifest, signature and data file, at any depth."""
    container = zipkit.asic(data=[("form.txt", b"hello\n"), extra])
    assert reason(container) is Reason.MALFORMED_CONTAINER


def _renamed(container: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new) and container.count(old) == 2  # local + central header
    return container.replace(old, new)


@pytest.mark.parametrize("raw", [b"form.txt\x00.exe", b"form\x7f.txt", b"form.txt\x1b[2J"])
def test_raw_entry_names_are_checked_before_decoding(raw: bytes) -> None:
    """zipfile cuts `filename` at a NUL; the stored name (`orig_filename`) is what counts."""
    placeholder = b"Q" * len(raw)
    container = zipkit.asic(data=[(placeholder.decode(), b"hello\n")])
    hostile = _renamed(container, placeholder, raw)
    with pytest.raises(VerificationError) as info:
        read_zip(hostile, SizeLimits())
    assert info.value.reason is Reason.UNSAFE_INPUT
    assert reason(hostile) is Reason.UNSAFE_INPUT
