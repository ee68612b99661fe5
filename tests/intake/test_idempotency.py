"""Idempotency keys: validation, fingerprints, decisions, storage on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from sigsvc.db.models.idempotency import idempotency_keys
from sigsvc.intake import idempotency as idem

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VISIBLE = "".join(chr(c) for c in range(0x21, 0x7F))
CREATED = idem.StoredResponse(201, "application/json", b'{"id":"s-1","status":"accepted"}')


# --- key validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["a", "x" * 255, "8e03978e-40d5-43e8-bc93-6894a57f9324", '"quoted"', VISIBLE]
)
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert idem.parse_key(key) == key


def test_missing_key() -> None:
    for value in (None, ""):
        with pytest.raises(idem.InvalidIdempotencyKey) as info:
            idem.parse_key(value)
        assert info.value.code == idem.IDEMPOTENCY_KEY_MISSING


@pytest.mark.parametrize(
    "key", ["x" * 256, "a b", " a", "a\t", "a\n", "\x7f", "\x00", "ā", "key\u200b", "ｋｅｙ"]
)
def test_invalid_keys(key: str) -> None:
    with pytest.raises(idem.InvalidIdempotencyKey) as info:
        idem.parse_key(key)
    assert info.value.code == idem.IDEMPOTENCY_KEY_INVALID


@given(st.text(alphabet=VISIBLE, min_size=1, max_size=255))
def test_any_visible_ascii_key_is_valid(key: str) -> None:
    assert idem.parse_key(key) == key


@given(
    st.text(alphabet=VISIBLE, max_size=100),
    st.characters(exclude_characters=VISIBLE),
    st.text(alphabet=VISIBLE, max_size=100),
)
def test_any_other_character_is_invalid(before: str, bad: str, after: str) -> None:
    with pytest.raises(idem.InvalidIdempotencyKey):
        idem.parse_key(before + bad + after)


# --- fingerprints and decisions --------------------------------------------------------------


def test_fingerprint_known_answer() -> None:
    parts = [b"POST", b"/v1/initiatives/i1/signatures", b"platform-1", b"PK\x03\x04"]
    expected = hashlib.sha256(
        b"sigsvc/idempotency/v1" + b"".join(len(p).to_bytes(8, "big") + p for p in parts)
    ).digest()
    got = idem.request_fingerprint(
        "post", "/v1/initiatives/i1/signatures", "platform-1", b"PK\x03\x04"
    )
    assert got == expected


def test_fingerprint_changes_with_every_part() -> None:
    base = ("POST", "/v1/a", "p1", b"body")
    variants = [
        ("PUT", "/v1/a", "p1", b"body"),
        ("POST", "/v1/b", "p1", b"body"),
        ("POST", "/v1/a", "p2", b"body"),
        ("POST", "/v1/a", "p1", b"bodz"),
        ("POST", "/v1/a", "p1", b""),
        # Moving bytes across a field boundary must not collide.
        ("POST", "/v1/ap", "1", b"body"),
        ("POST", "/v1/a", "p1b", b"ody"),
    ]
    prints = {idem.request_fingerprint(*v) for v in [base, *variants]}
    assert len(prints) == len(variants) + 1


def test_decide() -> None:
    fp = idem.request_fingerprint("POST", "/p", "pl", b"x")
    other = idem.request_fingerprint("POST", "/p", "pl", b"y")
    record = idem.IdempotencyRecord(fp, CREATED)
    assert idem.decide(None, fp) == idem.Decision(idem.Outcome.NEW)
    assert idem.decide(record, fp) == idem.Decision(idem.Outcome.REPLAY, CREATED)
    assert idem.decide(record, other) == idem.Decision(idem.Outcome.CONFLICT)


@pytest.mark.parametrize(
    ("status", "retryable", "expected"),
    [
        (200, False, True),
        (201, False, True),
        (409, False, True),  # DUPLICATE is a final answer
        (422, False, True),
        (422, True, False),  # e.g. REVOCATION_UNAVAILABLE: the retry must be able to succeed
        (408, False, False),
        (429, False, False),
        (500, False, False),
        (503, False, False),
        (302, False, False),
    ],
)
def test_is_replayable(status: int, retryable: bool, expected: bool) -> None:
    assert idem.is_replayable(status, retryable=retryable) is expected


# --- storage -----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = sa.create_engine(
            f"sqlite:///{tmp_path / 'idem.sqlite'}", connect_args={"timeout": 30}
        )
    else:
        eng = sa.create_engine(request.getfixturevalue("intake_pg_url"))
    idempotency_keys.drop(eng, checkfirst=True)
    idempotency_keys.create(eng)
    yield eng
    idempotency_keys.drop(eng, checkfirst=True)
    eng.dispose()


def key() -> str:
    return uuid.uuid4().hex


def test_remember_and_lookup_round_trip(engine: sa.Engine) -> None:
    k = key()
    fp = idem.request_fingerprint("POST", "/p", "pl", b"x")
    with engine.begin() as conn:
        assert idem.lookup(conn, "pl", k) is None
        assert idem.remember(conn, "pl", k, fp, CREATED, NOW)
    with engine.connect() as conn:
        assert idem.lookup(conn, "pl", k) == idem.IdempotencyRecord(fp, CREATED)
        assert idem.lookup(conn, "other-platform", k) is None


def test_second_remember_keeps_the_first_answer(engine: sa.Engine) -> None:
    k = key()
    fp = idem.request_fingerprint("POST", "/p", "pl", b"x")
    later = idem.StoredResponse(409, "application/json", b'{"code":"DUPLICATE"}')
    with engine.begin() as conn:
        assert idem.remember(conn, "pl", k, fp, CREATED, NOW)
    with engine.begin() as conn:
        assert not idem.remember(conn, "pl", k, fp, later, NOW)
        # Same key on another platform is a different key.
        assert idem.remember(conn, "pl-2", k, fp, later, NOW)
    with engine.connect() as conn:
        record = idem.lookup(conn, "pl", k)
    assert record is not None and record.response == CREATED


def test_purge_before(engine: sa.Engine) -> None:
    fp = idem.request_fingerprint("POST", "/p", "pl", b"x")
    with engine.begin() as conn:
        idem.remember(conn, "pl", "old", fp, CREATED, NOW - timedelta(days=8))
        idem.remember(conn, "pl", "new", fp, CREATED, NOW)
    with engine.begin() as conn:
        assert idem.purge_before(conn, NOW - timedelta(days=7)) == 1
        assert idem.lookup(conn, "pl", "old") is None
        assert idem.lookup(conn, "pl", "new") is not None


def test_concurrent_first_use_waits_and_loses(engine: sa.Engine) -> None:
    """Two requests with one key: the second's insert waits for the first's commit, then loses."""
    k = key()
    fp = idem.request_fingerprint("POST", "/p", "pl", b"x")
    result: list[bool] = []
    first = engine.connect()
    tx = first.begin()
    assert idem.remember(first, "pl", k, fp, CREATED, NOW)

    def second() -> None:
        with engine.begin() as conn:
            result.append(idem.remember(conn, "pl", k, fp, CREATED, NOW))

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)
    assert result == []  # still waiting on the first transaction
    tx.commit()
    first.close()
    thread.join(timeout=10)
    assert result == [False]


# --- the wiring recipe of the module docstring, end to end on the real table -----------------


class KeyReused(Exception):
    """What the service answers 409 IDEMPOTENCY_KEY_REUSED for."""


def handle(
    engine: sa.Engine, header: str | None, body: bytes, work: list[bytes]
) -> idem.StoredResponse:
    k = idem.parse_key(header)
    fp = idem.request_fingerprint("POST", "/v1/initiatives/i1/signatures", "pl", body)
    while True:
        with engine.connect() as conn:
            decision = idem.decide(idem.lookup(conn, "pl", k), fp)
        if decision.outcome is idem.Outcome.REPLAY:
            assert decision.response is not None
            return decision.response
        if decision.outcome is idem.Outcome.CONFLICT:
            raise KeyReused
        answer = idem.StoredResponse(201, "application/json", b'{"id":"%d"}' % len(work))
        with engine.begin() as conn:
            if not idem.remember(conn, "pl", k, fp, answer, NOW):
                conn.rollback()
                continue
            work.append(body)  # the signature record and log leaf would be written here
        return answer


def test_retry_replays_and_reuse_conflicts(engine: sa.Engine) -> None:
    work: list[bytes] = []
    first = handle(engine, "key-1", b"container", work)
    assert handle(engine, "key-1", b"container", work) == first
    assert work == [b"container"]
    with pytest.raises(KeyReused):
        handle(engine, "key-1", b"another container", work)
    assert handle(engine, "key-2", b"another container", work).body == b'{"id":"1"}'
    assert len(work) == 2


def test_uuid_platform_ids_are_stored_canonically(engine: sa.Engine) -> None:
    platform = uuid.uuid4()
    assert idem.request_fingerprint("POST", "/p", platform, b"") == idem.request_fingerprint(
        "POST", "/p", str(platform), b""
    )
    with engine.begin() as conn:
        assert idem.remember(conn, platform, "k", b"\x00" * 32, CREATED, NOW)
        assert idem.lookup(conn, str(platform), "k") is not None
