"""Hypothesis: any mutation of a real signature file or data file yields a typed reject, never a
crash or an accept."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certification.testpki import Responders, make_form_edoc
from crypto import Policy, TrustStore, verify
from crypto.form import FormKind
from tests.crypto.conftest import AT

SIGNATURE = "META-INF/edoc-signatures-S1.xml"


@pytest.fixture(scope="module")
def entries(responders: Responders) -> list[tuple[zipfile.ZipInfo, bytes]]:
    container = make_form_edoc("valid_p384", level="LT")
    with zipfile.ZipFile(io.BytesIO(container)) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def _rezip(entries: list[tuple[zipfile.ZipInfo, bytes]], name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info, body in entries:
            zf.writestr(info, data if info.filename == name else body)
    return out.getvalue()


def _policy() -> Policy:
    from certification.testpki import TEST_INITIATIVE

    return Policy(initiative=TEST_INITIATIVE, form_kind=FormKind.SIGNATURE)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_signature_file_is_rejected(
    entries: list[tuple[zipfile.ZipInfo, bytes]], trust: TrustStore, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from([SIGNATURE, "paraksta-veidlapa.txt", "META-INF/manifest.xml"]))
    body = bytearray(dict((i.filename, b) for i, b in entries)[name])
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(body) - 1))
        body[pos] = data.draw(st.integers(0, 255))
    original = dict((i.filename, b) for i, b in entries)[name]
    if bytes(body) == original:
        return
    v = verify(
        _rezip(entries, name, bytes(body)), policy=_policy(), trust=trust, fetcher=None, at=AT
    )
    assert not v.message.startswith("unexpected"), v.message
    # A changed data file must never verify; signature-file changes may only pass where they
    # touch unsigned, unused bytes (e.g. an unsigned Id), manifest changes where unsigned.
    if v.accepted:
        assert name != "paraksta-veidlapa.txt"
