"""C2SP signed-note, tlog-checkpoint and tlog-proof: spec and sumdb/note vectors, strictness."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import merkle
from audit.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from audit.errors import (
    CheckpointError,
    KeyFormatError,
    MalformedNoteError,
    NoteError,
    ReceiptError,
    UnverifiedNoteError,
)
from audit.note import Signer, Verifier, key_id, open_note, parse, sign
from audit.receipt import Receipt, verify_receipt
from audit.strict import b64decode, decimal

# c2sp.org/signed-note §"Verifier keys" example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3"
    "mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()

# golang.org/x/mod/sumdb/note tests: a signer key, its vkey, a second vkey and signatures.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
).encode()
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnW"
    "Lox33WWd1RvMc+QQ=\n"
).encode()


def test_spec_example_verifies() -> None:
    v = Verifier.from_vkey(SPEC_VKEY)
    assert v.vkey == SPEC_VKEY
    note, signed_by = open_note(SPEC_NOTE, [v])
    assert note.text == b"This is an example message.\n"
    assert signed_by == [v]
    assert note.encode() == SPEC_NOTE


def test_sumdb_signer_signs_byte_exactly() -> None:
    signer = Signer.from_skey(PETER_SKEY)
    assert signer.skey == PETER_SKEY
    assert signer.verifier().vkey == PETER_VKEY
    assert signer.key_id == 0xC74F20A3 == key_id("PeterNeumann", signer.public_key)
    assert sign(TEXT, [signer]) == TEXT + b"\n" + PETER_SIG


def test_unknown_signatures_ignored_known_ones_required() -> None:
    peter, enoch = Verifier.from_vkey(PETER_VKEY), Verifier.from_vkey(ENOCH_VKEY)
    msg = TEXT + b"\n" + PETER_SIG + ENOCH_SIG
    assert open_note(msg, [peter])[1] == [peter]
    assert open_note(msg, [peter, enoch])[1] == [peter, enoch]
    with pytest.raises(UnverifiedNoteError):
        open_note(msg, [])
    # Same name, other id (and vice versa) is an unknown key: ignored, not a failure.
    other = Signer("PeterNeumann", bytes(32)).verifier()
    assert open_note(msg, [other, enoch])[1] == [enoch]
    # A known key's bad signature rejects the whole note.
    bad = PETER_SIG[:60] + b"ABCD" + PETER_SIG[64:]
    with pytest.raises(UnverifiedNoteError):
        open_note(TEXT + b"\n" + bad + ENOCH_SIG, [peter, enoch])


@pytest.mark.parametrize(
    "msg",
    [
        TEXT,
        TEXT + b"\n",
        TEXT + b"\n" + PETER_SIG[:-1],
        b"\x01" + TEXT + b"\n" + PETER_SIG,
        b"\xff" + TEXT + b"\n" + PETER_SIG,
        TEXT + b"\n" + PETER_SIG.replace(b"PeterNeumann", b"Peter Neumann"),
        TEXT + b"\n" + PETER_SIG.replace(b"PeterNeumann", b"Peter+Neumann"),
        TEXT + b"\n" + PETER_SIG + b"Unexpected line.\n",
        TEXT + b"\n" + PETER_SIG.replace(b"AM=\n", b"AN=\n"),  # non-canonical padding bits
        TEXT + b"\n" + PETER_SIG.replace(b"x08go", b"x08g\no"),
        TEXT + b"\n" + PETER_SIG * 101,
        TEXT + b"\n" + "\u2014 PeterNeumann AAAA\n".encode(),  # shorter than id + 1 byte
    ],
)
def test_malformed_notes_rejected(msg: bytes) -> None:
    with pytest.raises(MalformedNoteError):
        open_note(msg, [Verifier.from_vkey(PETER_VKEY)])


def test_split_at_last_blank_line() -> None:
    signer = Signer.from_skey(PETER_SKEY)
    text = b"first paragraph\n\nsecond paragraph\n"
    note, _ = open_note(sign(text, [signer]), [signer.verifier()])
    assert note.text == text


def _manglings(key: str) -> list[str]:
    b = key.encode()
    out = {b[i:j] for i in range(len(b) + 1) for j in range(i + 1, len(b) + 1)} - {b}
    for i in range(len(b)):
        out.add(b[:i] + bytes([(b[i] + 1) % 256]) + b[i + 1 :])
    return [x.decode("utf-8", "replace") for x in out]


def test_vkey_manglings_rejected() -> None:
    for bad in _manglings(PETER_VKEY):
        with pytest.raises(KeyFormatError):
            Verifier.from_vkey(bad)


def test_skey_manglings_rejected() -> None:
    for bad in _manglings(PETER_SKEY):
        with pytest.raises(KeyFormatError):
            Signer.from_skey(bad)


def test_strict_scalars() -> None:
    for bad in ["", " 5", "+5", "1_000", "05", "-1", "5 ", "٣"]:
        with pytest.raises(ValueError):
            decimal(bad)
    assert decimal("0") == 0 and decimal("20852163") == 20852163
    for bad in ["AA", "AA=", "AB==", "A A=", "AA==\n", "AA-_", "QQ=="[:-1]]:
        with pytest.raises(ValueError):
            b64decode(bad)


# --- checkpoints ----------------------------------------------------------------------

ORIGIN = "sigsvc.example/log"
OLD = Signer(ORIGIN, bytes(range(32)))
NEW = Signer(ORIGIN, bytes(range(1, 33)))


def test_checkpoint_spec_text_round_trips() -> None:
    text = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = Checkpoint.from_text(text)
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)
    assert cp.text() == text


@pytest.mark.parametrize(
    "text",
    [
        b"o\n5\n",
        b"o\n05\n" + b"A" * 43 + b"=\n",
        b"o\n+5\n" + b"A" * 43 + b"=\n",
        b"\n5\n" + b"A" * 43 + b"=\n",
        b"o\n5\nAAAA\n",
        b"o\n5\n" + b"A" * 43 + b"=\n\n",
        b"o\n5\n" + b"A" * 43 + b"=",
    ],
)
def test_malformed_checkpoints_rejected(text: bytes) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.from_text(text)


def test_rotation_cosigned_checkpoint_verifies_with_either_key() -> None:
    cp = Checkpoint(ORIGIN, 7, merkle.EMPTY_ROOT)
    note = sign_checkpoint(cp, [OLD, NEW])
    assert open_checkpoint(note, [OLD.verifier()], ORIGIN).checkpoint == cp
    assert open_checkpoint(note, [NEW.verifier()]).signed_by == (NEW.verifier(),)
    with pytest.raises(CheckpointError):
        open_checkpoint(note, [OLD.verifier()], "other.example/log")
    with pytest.raises(CheckpointError):
        open_checkpoint(sign_checkpoint(cp, [NEW]), [OLD.verifier()])


@given(st.integers(0, 2**40), st.binary(min_size=32, max_size=32), st.integers(0, 10_000))
def test_checkpoint_any_bit_flip_rejected(size: int, root: bytes, bit: int) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, size, root), [OLD])
    bit %= len(note) * 8
    flipped = bytearray(note)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(CheckpointError):
        open_checkpoint(bytes(flipped), [OLD.verifier()], ORIGIN)


# --- receipts -------------------------------------------------------------------------


def _receipt(index: int = 5, size: int = 11) -> tuple[bytes, list[bytes]]:
    data = [f"event {i}".encode() for i in range(size)]
    levels = merkle.TreeLevels(merkle.leaf_hash(d) for d in data)
    cp = Checkpoint(ORIGIN, size, merkle.root_at(size, levels))
    proof = tuple(merkle.inclusion_proof(index, size, levels))
    return Receipt(index, proof, sign_checkpoint(cp, [OLD]), data[index]).encode(), data


def test_receipt_layout_and_verification() -> None:
    encoded, data = _receipt()
    lines = encoded.split(b"\n")
    assert lines[0] == b"c2sp.org/tlog-proof@v1"
    assert lines[1].startswith(b"extra ") and lines[2] == b"index 5"
    ok = verify_receipt(encoded, [OLD.verifier()], ORIGIN)
    assert ok.leaf_data == data[5] and ok.checkpoint.checkpoint.size == 11
    assert Receipt.parse(encoded).encode() == encoded
    with pytest.raises(ReceiptError):
        verify_receipt(encoded, [OLD.verifier()], ORIGIN, leaf_data=data[4])
    with pytest.raises(ReceiptError):
        verify_receipt(encoded, [NEW.verifier()], ORIGIN)


def test_receipt_any_bit_flip_rejected() -> None:
    encoded, _ = _receipt()
    for bit in range(0, len(encoded) * 8, 3):
        flipped = bytearray(encoded)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ReceiptError):
            verify_receipt(bytes(flipped), [OLD.verifier()], ORIGIN)


def test_note_errors_share_a_base() -> None:
    assert issubclass(MalformedNoteError, NoteError)
    with pytest.raises(MalformedNoteError):
        parse(b"x\n\n")
