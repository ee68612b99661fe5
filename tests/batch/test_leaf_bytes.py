"""The verifier's fast leaf serialisation equals RFC 8785 for event-shaped objects."""

from __future__ import annotations

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from audit.batch_format import leaf_bytes

_KEYS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)
_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
_VALUES = st.one_of(_TEXT, st.integers(0, 2**53 - 1))


@given(st.dictionaries(_KEYS, _VALUES, max_size=10))
def test_equals_rfc8785(leaf: dict[str, str | int]) -> None:
    assert leaf_bytes(leaf) == rfc8785.dumps(leaf)
