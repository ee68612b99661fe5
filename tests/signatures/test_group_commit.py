"""Intake groups decided in Python and written in bulk (sigsvc/intake/group.py) answer, log and
store exactly what the job-by-job transaction did: every test runs both ways ("per_job" makes
the bulk path step aside, so the writer runs each job in its own savepoint as before), with the
same assertions. Real SQLite and PostgreSQL, the HTTP stack (Flask test client), real
verification; the forms are queued behind a job that holds the writer, so they form one group.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import date
from hashlib import sha256
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from audit.events import parse_leaf
from certification.testpki.sign import TEST_INITIATIVE_TEXT
from crypto._internal import chain
from crypto.form import InitiativeFields, Regime
from sigsvc import credentials, db, registry, services
from sigsvc.db.models.idempotency import idempotency_keys
from sigsvc.db.models.intake import DataKey, Rejection, Signature
from sigsvc.db.models.log import log_entries
from sigsvc.intake import group, idempotency, protection
from sigsvc.intake.writer import Fallback, GroupWriter
from sigsvc.web.context import intake_writer
from tests.signatures.conftest import post

SECOND_TEXT = TEST_INITIATIVE_TEXT + b"\nOtrais.\n"
SECOND = InitiativeFields(
    Regime.ART22_BILL, "TEST-2026/2", "Otrais testa likums", sha256(SECOND_TEXT).hexdigest()
)


@pytest.fixture(params=["bulk", "per_job"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "per_job":

        def step_aside(_session: Any, _group: Any) -> list[Any]:
            raise Fallback("the job-by-job path, for comparison")

        monkeypatch.setattr(group, "write", step_aside)
    return str(request.param)


def _writer(app: Flask) -> GroupWriter:
    return intake_writer(app, services.get(app))


def _one_group(app: Flask, posts: list[Callable[[], Any]]) -> list[Any]:
    """Run `posts` (each one request) so that their jobs queue in this order behind a job that
    holds the writer, then let them through: they are committed as one group."""
    writer = _writer(app)
    held, gate = threading.Event(), threading.Event()

    def hold(_session: Any) -> None:
        held.set()
        assert gate.wait(60)

    blocker = writer.submit(hold)
    assert held.wait(30)
    answers: list[Any] = [None] * len(posts)
    threads = []
    for n, send in enumerate(posts):
        queued = writer.waiting()

        def run(n: int = n, send: Callable[[], Any] = send) -> None:
            try:
                answers[n] = send()
            finally:  # crypto keeps an event loop per verifying thread
                loop = getattr(chain._LOCAL, "loop", None)
                if loop is not None:
                    loop.close()

        thread = threading.Thread(target=run)
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 60
        while writer.waiting() == queued:  # verified and queued: the next one goes behind it
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.005)
    groups = writer.groups
    gate.set()
    blocker.result(timeout=30)
    for thread in threads:
        thread.join(60)
    assert writer.groups == groups + 2  # the blocker's group, then theirs
    return answers


def _events(app: Flask) -> list[dict[str, Any]]:
    with db.session_scope(app) as session:
        rows = session.execute(sa.select(log_entries.c.data).order_by(log_entries.c.idx))
        return [parse_leaf(bytes(data)).as_json() for (data,) in rows]


def _second_initiative(app: Flask, platform_id: str) -> str:
    with db.session_scope(app) as session:
        created = registry.register_initiative(
            session,
            services.log_service(app),
            registry.NewInitiative(
                regime=SECOND.regime,
                registration_number=SECOND.registration_number,
                title=SECOND.title,
                full_text=SECOND_TEXT.decode(),
                starts_on=date(2026, 1, 1),
                ends_on=date(2026, 12, 31),
            ),
        )
        credentials.add_initiative(
            session, services.log_service(app), uuid.UUID(platform_id), created.id
        )
        return str(created.id)


@pytest.mark.parametrize("intake_overrides", [{"RATE_SIGNER": "0.01/2"}])
def test_a_group_decides_duplicates_races_and_limits_as_one_job_after_another(
    app: Flask, initiative: dict[str, Any], container: Any, mode: str, intake_overrides: Any
) -> None:
    client = app.test_client()
    p384, rsa = container("valid_p384"), container("valid_rsa")

    def send(body: bytes, key: str) -> Callable[[], Any]:
        return lambda: post(client, initiative, body, key=key)

    fallbacks = _writer(app).fallbacks
    answers = _one_group(
        app,
        [
            send(p384, "k0"),  # accepted
            send(container("valid_p384", digest="sha384"), "k1"),  # same person: DUPLICATE
            send(container("valid_p384", digest="sha512"), "k2"),  # third in 100 s: 429
            send(rsa, "k3"),  # accepted
            send(rsa, "k3"),  # the same request again: lost the race, replays k3's answer
            send(container("revoked"), "k5"),  # a refused verdict, logged
            # The race's loser left no trace, not even its signer-limit hit: this is the
            # person's second form, not its third (DUPLICATE, not 429).
            send(container("valid_rsa", digest="sha384"), "k6"),
        ],
    )
    statuses = [a.status_code for a in answers]
    assert statuses == [201, 409, 429, 201, 201, 422, 409]
    codes = [a.get_json().get("error", {}).get("code") for a in answers]
    assert codes == [None, "DUPLICATE", "RATE_LIMITED", None, None, "CERT_REVOKED", "DUPLICATE"]
    assert answers[4].get_data() == answers[3].get_data()
    assert answers[4].headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in answers[3].headers

    events = _events(app)[-5:]  # the group's leaves, in the order of its jobs
    assert [(e["type"], e.get("reason")) for e in events] == [
        ("signature.accepted", None),
        ("signature.rejected", "DUPLICATE"),
        ("signature.accepted", None),
        ("signature.rejected", "CERT_REVOKED"),
        ("signature.rejected", "DUPLICATE"),
    ]
    assert len({e["at"] for e in events}) <= 5 and [e["at"] for e in events] == sorted(
        e["at"] for e in events
    )
    first, second = answers[0].get_json(), answers[3].get_json()
    assert [events[0]["signature"], events[2]["signature"]] == [first["id"], second["id"]]
    assert second["leaf_index"] == first["leaf_index"] + 2
    with db.session_scope(app) as session:
        rows = session.execute(sa.select(Signature).order_by(Signature.leaf_index)).scalars()
        records = list(rows)
        assert [str(r.id) for r in records] == [first["id"], second["id"]]
        assert [r.leaf_index for r in records] == [first["leaf_index"], second["leaf_index"]]
        reasons = session.scalars(sa.select(Rejection.reason).order_by(Rejection.leaf_index))
        assert list(reasons) == ["DUPLICATE", "CERT_REVOKED", "DUPLICATE"]
        keys = session.scalars(sa.select(idempotency_keys.c.key).order_by(idempotency_keys.c.key))
        assert list(keys) == ["k0", "k1", "k3", "k5", "k6"]  # no 429 is remembered
        # Each record opens with the initiative's stored key, bound to its own row.
        stored = session.get(DataKey, records[0].initiative_id)
        assert stored is not None
        kek = services.get(app).kek
        wrapped = protection.WrappedDataKey(stored.kek_id, stored.wrapped)
        dek = protection.unwrap_data_key(kek, wrapped, records[0].initiative_id)
        codes_opened = {
            protection.unseal(
                dek,
                r.personal_code_enc,
                protection.record_aad(r.initiative_id, r.id, "personal_code"),
            )
            for r in records
        }
        assert len(codes_opened) == 2
    # The bulk path decided all of it itself; the comparison run went job by job.
    assert _writer(app).fallbacks == fallbacks + (mode == "per_job")


def test_a_failing_job_fails_alone(
    app: Flask, initiative: dict[str, Any], container: Any, mode: str
) -> None:
    """The second initiative's stored data key was wrapped by another KEK: its form cannot be
    sealed and its request fails (500); the others of the group are accepted and logged."""
    second = _second_initiative(app, initiative["platform_id"])
    other = protection.LocalKek(b"\x07" * 32)
    wrapped = protection.wrap_data_key(other, protection.generate_data_key(), second)
    with db.session_scope(app) as session:
        session.add(
            DataKey(initiative_id=uuid.UUID(second), kek_id=wrapped.kek_id, wrapped=wrapped.blob)
        )
    client = app.test_client()
    size = len(_events(app))
    answers = _one_group(
        app,
        [
            lambda: post(client, initiative, container("valid_p384")),
            lambda: post(
                client, {**initiative, "id": second}, container("valid_rsa", initiative=SECOND)
            ),
            lambda: post(client, initiative, container("valid_rsa")),
        ],
    )
    assert [a.status_code for a in answers] == [201, 500, 201]
    events = _events(app)[size:]
    assert [e["type"] for e in events] == ["signature.accepted"] * 2
    assert [e["signature"] for e in events] == [
        answers[0].get_json()["id"],
        answers[2].get_json()["id"],
    ]
    with db.session_scope(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 2


def test_statements_per_group_do_not_grow_with_its_size(
    app: Flask, initiative: dict[str, Any], container: Any, mode: str
) -> None:
    """Counted with a cursor hook in the writer thread: a group of three accepted forms takes
    as many statements as a group of one (each creates one initiative's data key)."""
    second = _second_initiative(app, initiative["platform_id"])
    client = app.test_client()
    counted: list[int] = []

    def count(*_args: Any) -> None:
        if threading.current_thread().name == "intake-writer":
            counted.append(1)

    def send(initiative_id: str, signer: str, fields: InitiativeFields | None = None) -> Any:
        body = container(signer) if fields is None else container(signer, initiative=fields)
        return lambda: post(client, {**initiative, "id": initiative_id}, body)

    engine = db.engine_of(app)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        one = _counted(
            app, counted, lambda: _one_group(app, [send(initiative["id"], "valid_p384")])
        )
        three = _counted(
            app,
            counted,
            lambda: _one_group(
                app,
                [
                    send(initiative["id"], "valid_rsa"),
                    send(second, "valid_p384", SECOND),
                    send(second, "valid_rsa", SECOND),
                ],
            ),
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    if mode == "bulk":
        assert three == one
    else:  # about 13 statements a job
        assert three - one >= 20


def _counted(app: Flask, counted: list[int], run: Callable[[], list[Any]]) -> int:
    with db.session_scope(app) as session:  # nothing left for the blocker's group to cover
        services.log_service(app).covering_checkpoint(session)
    counted.clear()
    assert all(answer.status_code == 201 for answer in run())
    return len(counted)


def test_an_answer_committed_meanwhile_by_another_process_is_replayed(
    app: Flask,
    initiative: dict[str, Any],
    container: Any,
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Between a request's replay lookup and its group, another process commits an answer under
    the same key (and body): the bulk insert of the answers comes up short, the writer runs the
    group job by job, and the request replays the stored answer, as job by job did."""
    client = app.test_client()
    body = container("valid_p384")
    path = f"/v1/initiatives/{initiative['id']}/signatures"
    fingerprint = idempotency.request_fingerprint("POST", path, initiative["platform_id"], body)
    stored = idempotency.StoredResponse(201, "application/json", b'{"from": "elsewhere"}\n')
    prepare = group.prepare

    def meanwhile(*args: Any) -> Any:
        prepared = prepare(*args)
        with db.session_scope(app) as session:
            row = idempotency.answer_row(
                initiative["platform_id"], "k", fingerprint, stored, services.get(app).clock()
            )
            session.execute(sa.insert(idempotency_keys), row)
        return prepared

    monkeypatch.setattr(group, "prepare", meanwhile)
    fallbacks, size = _writer(app).fallbacks, len(_events(app))
    answer = post(client, initiative, body, key="k")
    assert answer.status_code == 201 and answer.get_data() == stored.body
    assert answer.headers["Idempotent-Replayed"] == "true"
    assert len(_events(app)) == size  # nothing of the losing attempt was logged or stored
    with db.session_scope(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
    assert _writer(app).fallbacks == fallbacks + 1


def test_the_same_refusal_twice_in_a_group_makes_two_leaves(
    app: Flask, initiative: dict[str, Any], container: Any
) -> None:
    """Job by job, two refusals of one body were dated apart by the time a job took (usually
    a millisecond or more: not guaranteed, so this runs the bulk path only); in a group they
    would share its time and be the same leaf. The later one waits for the next millisecond."""
    client = app.test_client()
    revoked = container("revoked")
    size = len(_events(app))
    answers = _one_group(
        app,
        [
            lambda: post(client, initiative, revoked, key="r1"),
            lambda: post(client, initiative, revoked, key="r2"),
        ],
    )
    assert [a.status_code for a in answers] == [422, 422]
    first, second = _events(app)[size:]
    assert {k: v for k, v in first.items() if k != "at"} == {
        k: v for k, v in second.items() if k != "at"
    }
    assert first["at"] < second["at"]
    with db.engine_of(app).connect() as conn:
        hashes = conn.execute(sa.select(log_entries.c.leaf_hash)).scalars().all()
    assert len(set(hashes)) == len(hashes)


def _opens(app: Flask, sid: str) -> bool:
    """The record's sealed personal code opens with the initiative's stored data key."""
    with db.session_scope(app) as session:
        record = session.get(Signature, uuid.UUID(sid))
        assert record is not None
        stored = session.get(DataKey, record.initiative_id)
        assert stored is not None
        wrapped = protection.WrappedDataKey(stored.kek_id, stored.wrapped)
        dek = protection.unwrap_data_key(services.get(app).kek, wrapped, record.initiative_id)
        aad = protection.record_aad(record.initiative_id, record.id, "personal_code")
        try:
            protection.unseal(dek, record.personal_code_enc, aad)
        except protection.DecryptionError:
            return False
        return True


def test_records_are_sealed_under_the_stored_key_after_rewrap_and_shredding(
    app: Flask, initiative: dict[str, Any], container: Any, mode: str
) -> None:
    """The data key a process remembers is used only while it is the stored one: after the KEK
    rewraps it (same key, new blob) and after retention deletes it (a new key is made), each
    record still opens with the key stored for its initiative."""
    client = app.test_client()
    first = post(client, initiative, container("valid_p384"))
    assert first.status_code == 201 and _opens(app, first.get_json()["id"])
    kek = services.get(app).kek
    iid = uuid.UUID(initiative["id"])
    with db.session_scope(app) as session:  # KEK rotation: the same key, wrapped anew
        stored = session.get(DataKey, iid)
        assert stored is not None
        old = protection.WrappedDataKey(stored.kek_id, stored.wrapped)
        stored.wrapped = protection.rewrap_data_key(kek, kek, old, iid).blob
    second = post(client, initiative, container("valid_rsa"))
    assert second.status_code == 201 and _opens(app, second.get_json()["id"])
    with db.session_scope(app) as session:  # crypto-shredded: the next record gets a new key
        session.execute(sa.delete(Signature))
        session.execute(sa.delete(DataKey))
    third = post(client, initiative, container("valid_p384", digest="sha384"))
    assert third.status_code == 201 and _opens(app, third.get_json()["id"])
