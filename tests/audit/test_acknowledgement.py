"""The acknowledgement text (docs/batch-format.md): exact bytes, strict parse, round trip."""

from __future__ import annotations

import pytest

from audit.acknowledgement import Acknowledgement
from audit.checkpoint import Checkpoint
from audit.errors import AcknowledgementError

ROOT = bytes(range(32))
TEXT = (
    b"sigsvc-batch-ack/v1\n"
    b"cvk-test\n"
    b"0b6f8a2e-5c1d-4c3e-9a7b-2f8e1d6c4b3a\n"
    b"7\n"
    b"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
    b"ACCEPTED\n"
    b"OK\n"
    b"sigsvc.test/log\n"
    b"42\n"
    b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    b"2026-03-02T10:00:00.000Z\n"
)


def test_the_documented_form_round_trips():
    ack = Acknowledgement.from_text(TEXT)
    assert ack.accepted and ack.sequence == 7 and ack.size == 42 and ack.root == ROOT
    assert ack.text() == TEXT
    assert ack.checkpoint_matches(Checkpoint("sigsvc.test/log", 42, ROOT))
    assert not ack.checkpoint_matches(Checkpoint("sigsvc.test/log", 43, ROOT))


def test_a_refusal_has_unknown_fields():
    refusal = Acknowledgement.refusal("cvk-test", "SEAL_INVALID", "2026-03-02T10:00:00.000Z")
    text = refusal.text()
    assert text.split(b"\n")[2:10] == [
        b"-",
        b"0",
        b"-",
        b"REFUSED",
        b"SEAL_INVALID",
        b"-",
        b"0",
        b"-",
    ]
    assert Acknowledgement.from_text(text) == refusal
    assert not refusal.accepted


@pytest.mark.parametrize(
    "text",
    [
        TEXT.replace(b"sigsvc-batch-ack/v1", b"sigsvc-batch-ack/v2"),
        TEXT[:-1],  # no final newline
        TEXT + b"extra\n",
        TEXT.replace(b"\n7\n", b"\n07\n"),  # not a canonical decimal
        TEXT.replace(b"ACCEPTED", b"MAYBE"),
        TEXT.replace(b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", b"AAEC"),
        b"\xff" + TEXT,
    ],
)
def test_anything_else_is_refused(text):
    with pytest.raises(AcknowledgementError):
        Acknowledgement.from_text(text)
