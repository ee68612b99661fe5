"""PDF reader: a real PAdES-LT document damaged where PDF readers are fragile (xref offsets,
object numbers, stream lengths, dictionary keys, the DSS, truncation) through crypto.verify."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

import crypto
from crypto import Policy, TrustStore
from tests.crypto.conftest import AT
from tests.fuzz.conftest import FUZZ

TRUST = TrustStore()
_NUMBERS = re.compile(rb"\d+")
_TOKENS = [
    b"/Length",
    b"/Type",
    b"/DSS",
    b"/OCSPs",
    b"/Certs",
    b"/ByteRange",
    b"xref",
    b"obj",
    b"R",
]


@FUZZ
@given(st.data())
def test_damaged_pades(pades_lt: bytes, data: st.DataObject) -> None:
    pdf = bytearray(pades_lt)
    numbers = [m.span() for m in _NUMBERS.finditer(pades_lt)]
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["number", "token", "truncate", "byte"]))
        if kind == "number":
            start, end = data.draw(st.sampled_from(numbers))
            value = data.draw(st.sampled_from([b"0", b"1", b"99999999", b"-1", b"4294967296"]))
            pdf[start:end] = value.ljust(end - start, b" ")[: max(end - start, len(value))]
        elif kind == "token":
            token = data.draw(st.sampled_from(_TOKENS))
            at = pades_lt.find(token, data.draw(st.integers(0, len(pades_lt) - 1)))
            if at >= 0:
                pdf[at : at + len(token)] = data.draw(st.sampled_from(_TOKENS))
        elif kind == "truncate":
            del pdf[data.draw(st.integers(len(pdf) // 2, len(pdf))) :]
        else:
            pdf[data.draw(st.integers(0, len(pdf) - 1))] = data.draw(st.integers(0, 255))
    verdict = crypto.verify(bytes(pdf), policy=Policy(), trust=TRUST, fetcher=None, at=AT)
    assert not verdict.message.startswith("unexpected"), verdict.message
