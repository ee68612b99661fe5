"""No raw exception escapes a parser: arbitrary and mutated input only raises audit errors."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.checkpoint import Checkpoint
from audit.errors import CheckpointError, EventError, ExportError, NoteError, ReceiptError
from audit.events import parse_leaf
from audit.note import Verifier, open_note, parse
from audit.receipt import Receipt, verify_receipt
from audit.verify import verify_export
from tests.audit import golden

GOLDEN = golden.GOLDEN.read_bytes()
VKEY = golden.FIRST_KEY.verifier()
NOTE = b"o\n5\n" + b"A" * 43 + b"=\n\n\xe2\x80\x94 o AAAAAQ==\n"


def _mutate(base: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    data = bytearray(base)
    for pos, value in edits:
        data[pos % len(data)] = value
    return bytes(data[: len(data) - cut % 64])


@given(st.binary(max_size=300))
def test_note_and_checkpoint_parsers(data: bytes) -> None:
    with contextlib.suppress(NoteError):
        parse(data)
    with contextlib.suppress(CheckpointError):
        Checkpoint.from_text(data)
    with contextlib.suppress(NoteError):
        Verifier.from_vkey(data.decode("utf-8", "replace"))


@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4), st.integers(0, 63)
)
def test_mutated_notes_and_receipts(edits: list[tuple[int, int]], cut: int) -> None:
    with contextlib.suppress(NoteError):
        open_note(_mutate(NOTE, edits, cut), [VKEY])
    receipt = b"c2sp.org/tlog-proof@v1\nextra AA==\nindex 0\n\n" + NOTE
    try:
        Receipt.parse(_mutate(receipt, edits, cut))
        verify_receipt(_mutate(receipt, edits, cut), [VKEY])
    except ReceiptError:
        pass


@given(st.binary(max_size=400))
def test_leaf_parser(data: bytes) -> None:
    with contextlib.suppress(EventError):
        parse_leaf(data)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=3), st.integers(0, 63)
)
def test_mutated_exports(edits: list[tuple[int, int]], cut: int) -> None:
    mutated = _mutate(GOLDEN, edits, cut)
    if mutated == GOLDEN:
        verify_export(io.BytesIO(mutated), [VKEY])
    else:  # any change at all is caught, and only as an ExportError
        with pytest.raises(ExportError):
            verify_export(io.BytesIO(mutated), [VKEY])
