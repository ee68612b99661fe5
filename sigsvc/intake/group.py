"""Signature forms of one intake group: prepared before the log lock, decided and written in bulk.

Why: the intake writer (writer.py) holds the log lock, on SQLite the database's one write lock,
for its whole group. Run job by job (17.5 statements each), a group held the lock about three
times its CPU time: every statement gives up the GIL, and getting it back waits for a verifying
thread's switch interval. So:
- before the lock, in the request thread (`prepare`): dedup key, record id, the log event (dated
  under the lock), the refusal answers, and the record's fields sealed under the initiative's
  data key (unwrapped once per process: `_DATA_KEYS`);
- under the lock, in the writer (`write`), a few statements per group whatever its size: the
  signers' rate-limit state, which dedup keys are taken and the data keys (was the key a job
  sealed under still the stored one?) are read once; each job is then decided in Python, in
  order, as the job-by-job transaction decided it (a signer over its limit is refused; of two
  forms of one person the first wins and the second is DUPLICATE; of two requests under one
  Idempotency-Key the second lost the race); then leaves, records, rejections, idempotency
  answers and rate-limit state are written with one append and one executemany each.
A job's decision changes the state the next ones see only if the job succeeds (a savepoint
rolled back used to undo it). An idempotency answer another process committed meanwhile (the
insert skips it) raises `Fallback`: the writer rolls back and runs the group job by job
(`submit._grouped`), which resolves it as before.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

import crypto
from audit import events
from sigsvc.db.models.intake import DataKey, Rejection, Signature
from sigsvc.db.ttlcache import TtlCache
from sigsvc.intake import idempotency, protection, ratelimit
from sigsvc.intake.signatures import (
    Answer,
    Answers,
    Attempt,
    LostIdempotencyRace,
    Refused,
    accepted_answer,
    record_columns,
    refusal,
    sealed_columns,
)
from sigsvc.intake.writer import Fallback
from sigsvc.log.service import log_safe_uuid
from sigsvc.services import Services

_SIGNATURES = cast(sa.Table, Signature.__table__)
_REJECTIONS = cast(sa.Table, Rejection.__table__)
_DATA_KEYS = cast(sa.Table, DataKey.__table__)
# (KEK id, initiative) -> (wrapped data key as stored, data key). A stored wrapped key changes
# only by KEK rotation (same data key) or retention's crypto-shredding (row deleted): `write`
# compares it under the lock before using what was sealed with it. Kept 60 s: an initiative's
# key does not stay in memory long after its intake stops.
_KEYS: TtlCache[tuple[bytes, bytes]] = TtlCache(ttl=60.0, max_entries=4096)


@dataclass(frozen=True)
class Acceptable:
    """A valid signature form: accepted unless its signer signed the initiative already."""

    dedup: bytes
    limit_key: str  # the signer's rate-limit key
    event: events.Event  # signature.accepted; its time is set under the log lock
    row: dict[str, Any]  # the record's columns, but leaf_index
    sealed_under: bytes | None  # the wrapped data key row["*_enc"] were sealed under
    verdict: crypto.Verdict
    duplicate: Refused


@dataclass(frozen=True)
class Prepared:
    """One signature form's part of a group transaction, made before the log lock."""

    services: Services
    attempt: Attempt
    acceptable: Acceptable | None
    refused: Refused | None  # INITIATIVE_CLOSED, or the verdict's reason


def prepare(
    services: Services,
    session: Session,
    attempt: Attempt,
    verdict: crypto.Verdict | None,
    answers: Answers,
    signer: bytes | None,
) -> Prepared:
    """What can be done for a signature form before its group takes the log lock (no write;
    ``signer``: the signer's pseudonym when the verdict accepts it)."""
    if verdict is None:  # the initiative is closed: refused, and the attempt is logged
        closed = Refused(answers("INITIATIVE_CLOSED"), "INITIATIVE_CLOSED", "TOTAL_FAILED")
        return Prepared(services, attempt, None, closed)
    if not verdict.accepted:
        return Prepared(services, attempt, None, refusal(verdict, answers))
    assert verdict.signer is not None and verdict.signing_time is not None and signer
    person, initiative = verdict.signer, attempt.initiative
    sid = log_safe_uuid()
    event = events.signature_accepted(
        at=services.clock(),
        initiative=str(initiative.id),
        signature=str(sid),
        platform=attempt.platform_id,
        container_sha256=attempt.container_sha256,
        signer=signer.hex(),
        indication=verdict.indication.value,
    )
    dedup = services.pseudonyms.dedup_key(initiative.id, person.personal_code)
    row = record_columns(sid, attempt, verdict, dedup)
    key = _known_key(services, session, initiative.id)
    if key is not None:
        row.update(sealed_columns(key[1], initiative.id, sid, verdict, attempt.container))
    acceptable = Acceptable(
        dedup=dedup,
        limit_key=ratelimit.signer_key(signer),
        event=event,
        row=row,
        sealed_under=None if key is None else key[0],
        verdict=verdict,
        duplicate=Refused(answers("DUPLICATE"), "DUPLICATE", verdict.indication.value),
    )
    return Prepared(services, attempt, acceptable, None)


def write(session: Session, group: list[Prepared]) -> list[Answer | ratelimit.Decision | Exception]:
    """The group's part of the writer's transaction (log lock held): one outcome per form, as
    the job-by-job transaction would have given them one after the other."""
    services = group[0].services
    log, limiter = services.log, services.limiter
    now = log.now(session)  # dated under the log lock
    connection = session.connection()
    acceptable = [p.acceptable for p in group if p.acceptable is not None]
    tats = ratelimit.tats_in(connection, {a.limit_key for a in acceptable})
    taken, stored = _lookups(session, acceptable)
    now_us = limiter.now_us()
    remembered: set[tuple[str, str]] = set()
    changed: dict[str, int] = {}
    outcomes: list[Answer | ratelimit.Decision | Exception | None] = []
    leaves: list[tuple[int, Prepared, Refused | None]] = []  # (outcome slot, form, refusal)
    for p in group:
        a, refused, tat = p.acceptable, p.refused, None
        if a is not None:
            decision, tat = ratelimit.gcra(tats.get(a.limit_key), limiter.signer_limit, now_us)
            if not decision.allowed:
                outcomes.append(decision)
                continue
            if (a.row["initiative_id"], a.dedup) in taken:
                refused = a.duplicate
        answer = None if refused is None else refused.answer
        idempotency_key = (p.attempt.platform_id, p.attempt.idempotency_key)
        if answer is None or idempotency.is_replayable(answer.status, retryable=answer.retryable):
            if idempotency_key in remembered:  # another request of this group has the key
                outcomes.append(LostIdempotencyRace())
                continue
            remembered.add(idempotency_key)
        if a is not None:
            assert tat is not None
            tats[a.limit_key] = changed[a.limit_key] = tat
            if refused is None:
                taken.add((a.row["initiative_id"], a.dedup))
        leaves.append((len(outcomes), p, refused))
        outcomes.append(None)  # the answer, once the leaf index is known
    if leaves:
        _write(session, services, now, leaves, outcomes, stored)
    ratelimit.store_tats_in(connection, changed)
    assert all(o is not None for o in outcomes)
    return cast(list[Answer | ratelimit.Decision | Exception], outcomes)


def _write(
    session: Session,
    services: Services,
    now: datetime,
    leaves: list[tuple[int, Prepared, Refused | None]],
    outcomes: list[Answer | ratelimit.Decision | Exception | None],
    stored: dict[uuid.UUID, protection.WrappedDataKey],
) -> None:
    accepted = [p for _, p, refused in leaves if refused is None]
    keys = _data_keys(session, services, accepted, stored)
    batch: list[events.Event] = []
    seen: set[tuple[object, ...]] = set()
    for _, p, refused in leaves:
        event = _leaf(now, p, refused)
        if _identity(event) in seen:  # the same refusal of the same body: not the same leaf
            now = _next_millisecond(now, services.log.clock)
            event = _leaf(now, p, refused)
        seen.add(_identity(event))
        batch.append(event)
    indexes = services.log.append(session, batch)
    records: list[dict[str, Any]] = []
    rejections: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    created = services.clock()
    for (slot, p, refused), index in zip(leaves, indexes, strict=True):
        if refused is None:
            a = _acceptable(p)
            row = {**a.row, "leaf_index": index}
            wrapped, dek = keys[row["initiative_id"]]
            if a.sealed_under != wrapped:  # sealed under no key, or a key no longer stored
                container = p.attempt.container
                row.update(
                    sealed_columns(dek(), row["initiative_id"], row["id"], a.verdict, container)
                )
            records.append(row)
            answer = accepted_answer(row)
        else:
            answer = refused.answer
            rejections.append(
                {
                    "id": uuid.uuid4(),
                    "initiative_id": p.attempt.initiative.id,
                    "platform_id": uuid.UUID(p.attempt.platform_id),
                    "reason": refused.reason,
                    "container_sha256": p.attempt.container_sha256,
                    "leaf_index": index,
                }
            )
        if idempotency.is_replayable(answer.status, retryable=answer.retryable):
            answers.append(
                idempotency.answer_row(
                    p.attempt.platform_id,
                    p.attempt.idempotency_key,
                    p.attempt.fingerprint,
                    idempotency.StoredResponse(answer.status, answer.content_type, answer.body),
                    created,
                )
            )
        outcomes[slot] = answer
    if records:
        session.execute(sa.insert(_SIGNATURES), records)
    if rejections:
        session.execute(sa.insert(_REJECTIONS), rejections)
    if idempotency.remember_all(session.connection(), answers) != len(answers):
        # Another process committed an answer under one of these keys since the request
        # looked: the job-by-job path rolls that one back and replays.
        raise Fallback("an idempotency key was taken meanwhile")


def _acceptable(p: Prepared) -> Acceptable:
    assert p.acceptable is not None
    return p.acceptable


def _leaf(now: datetime, p: Prepared, refused: Refused | None) -> events.Event:
    if refused is None:
        return dataclasses.replace(_acceptable(p).event, at=events.format_time(now))
    return _rejected_event(now, p.attempt, refused)


def _identity(event: events.Event) -> tuple[object, ...]:
    return (event.type, event.at, *sorted(event.fields.items()))


def _next_millisecond(now: datetime, clock: Callable[[], datetime]) -> datetime:
    """A time in a later millisecond than ``now`` (event times have milliseconds): job by job,
    two refusals of one body were dated apart by the time a job took; in a group they share
    its time. Waits for the clock (under a millisecond); a clock that stands still (tests)
    gets one millisecond added."""
    later = now.replace(microsecond=now.microsecond // 1000 * 1000) + timedelta(milliseconds=1)
    deadline = time.monotonic() + 0.005
    while time.monotonic() < deadline:
        current = clock()
        if current >= later:
            return current
        time.sleep(0.0002)
    return later


def _rejected_event(now: datetime, attempt: Attempt, refused: Refused) -> events.Event:
    return events.signature_rejected(
        at=now,
        initiative=str(attempt.initiative.id),
        platform=attempt.platform_id,
        container_sha256=attempt.container_sha256,
        reason=refused.reason,
        indication=refused.indication,
        sub_indication=refused.subindication,
    )


def _known_key(
    services: Services, session: Session, initiative_id: uuid.UUID
) -> tuple[bytes, bytes] | None:
    """(wrapped, data key) of the initiative as this process last saw it stored, reading it
    (outside the lock: a stored key is checked again under it) when not remembered; None when
    there is none yet (the writer creates it) or it does not open (the writer fails that job)."""
    cache_key = (services.kek.key_id, initiative_id)
    found = _KEYS.get(cache_key)
    if found is not None:
        return found
    row = session.execute(
        sa.select(_DATA_KEYS.c.kek_id, _DATA_KEYS.c.wrapped).where(
            _DATA_KEYS.c.initiative_id == initiative_id
        )
    ).first()
    session.commit()  # verification and the wait for the group hold no transaction
    if row is None:
        return None
    wrapped = protection.WrappedDataKey(row.kek_id, bytes(row.wrapped))
    try:
        found = (wrapped.blob, protection.unwrap_data_key(services.kek, wrapped, initiative_id))
    except protection.DecryptionError:
        return None
    _KEYS.put(cache_key, found)
    return found


def _data_keys(
    session: Session,
    services: Services,
    accepted: list[Prepared],
    stored: dict[uuid.UUID, protection.WrappedDataKey],
) -> dict[uuid.UUID, tuple[bytes, Callable[[], bytes]]]:
    """Per initiative with an accepted form: the stored wrapped data key and how to get the key
    (created now, under the log lock, on the initiative's first accepted signature)."""
    wanted = sorted({p.attempt.initiative.id for p in accepted})
    keys: dict[uuid.UUID, tuple[bytes, Callable[[], bytes]]] = {}
    for initiative_id in wanted:
        wrapped = stored.get(initiative_id)
        if wrapped is None:  # first use: create it (the log lock makes this race-free)
            dek = protection.generate_data_key()
            wrapped = protection.wrap_data_key(services.kek, dek, initiative_id)
            session.execute(
                sa.insert(_DATA_KEYS),
                {"initiative_id": initiative_id, "kek_id": wrapped.kek_id, "wrapped": wrapped.blob},
            )
            _KEYS.put((services.kek.key_id, initiative_id), (wrapped.blob, dek))
            keys[initiative_id] = (wrapped.blob, lambda dek=dek: dek)  # type: ignore[misc]
        else:
            keys[initiative_id] = (wrapped.blob, _unwrapper(services, wrapped, initiative_id))
    return keys


def _unwrapper(
    services: Services, wrapped: protection.WrappedDataKey, initiative_id: uuid.UUID
) -> Callable[[], bytes]:
    def unwrap() -> bytes:  # only when a job's fields were not sealed under the stored key
        dek = protection.unwrap_data_key(services.kek, wrapped, initiative_id)
        _KEYS.put((services.kek.key_id, initiative_id), (wrapped.blob, dek))
        return dek

    return unwrap


def _lookups(
    session: Session, acceptable: list[Acceptable]
) -> tuple[set[tuple[uuid.UUID, bytes]], dict[uuid.UUID, protection.WrappedDataKey]]:
    """Which (initiative, dedup key) pairs of the group have a record, and the stored data keys
    of their initiatives: one round trip (both IN lists of the first part use the unique
    index; the pairs are matched here)."""
    if not acceptable:
        return set(), {}
    wanted = {(a.row["initiative_id"], a.dedup) for a in acceptable}
    initiatives = sorted({i for i, _ in wanted})
    s, k = _SIGNATURES.c, _DATA_KEYS.c
    query = sa.union_all(
        sa.select(
            sa.literal(0).label("part"),
            s.initiative_id,
            s.dedup_key.label("blob"),
            sa.cast(sa.null(), k.kek_id.type).label("kek_id"),
        ).where(s.initiative_id.in_(initiatives), s.dedup_key.in_(sorted({d for _, d in wanted}))),
        sa.select(sa.literal(1), k.initiative_id, k.wrapped, k.kek_id).where(
            k.initiative_id.in_(initiatives)
        ),
    )
    taken: set[tuple[uuid.UUID, bytes]] = set()
    stored: dict[uuid.UUID, protection.WrappedDataKey] = {}
    for part, initiative_id, blob, kek_id in session.execute(query):
        if part == 0:
            taken.add((initiative_id, bytes(blob)))
        else:
            stored[initiative_id] = protection.WrappedDataKey(kek_id, bytes(blob))
    return taken & wanted, stored
