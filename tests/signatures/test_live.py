"""Intake against real gunicorn servers on 127.0.0.1: concurrent duplicates, SIGKILL mid-burst,
two service instances on one database, and how soon a revoked key or a closed initiative bites."""

from __future__ import annotations

import itertools
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests
import sqlalchemy as sa

from sigsvc import db
from tests.signatures.live import (
    ACCEPTING,
    check_log,
    free_port,
    post,
    register_initiatives,
    sigaudit_verify,
    start_gunicorn,
    stop,
)


def test_concurrent_posts_of_one_person_exactly_one_wins(app, database_url, initiative, container):
    """Two gunicorn workers x 4 threads; the same person posts 4 times at once."""
    bodies = [container("valid_rsa"), container("valid_rsa", digest="sha384")] * 2
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(app, database_url, port)
    try:
        for _round in range(2):
            barrier = threading.Barrier(len(bodies))

            def send(body: bytes, barrier: threading.Barrier = barrier) -> tuple[int, str]:
                barrier.wait()
                response = post(base, initiative["id"], initiative["key"], body, uuid.uuid4().hex)
                return response.status_code, response.text

            with ThreadPoolExecutor(len(bodies)) as pool:
                answers = sorted(pool.map(send, bodies))
            statuses = [status for status, _ in answers]
            expected = [201, 409, 409, 409] if _round == 0 else [409] * 4
            assert statuses == expected, answers
        counts = requests.get(f"{base}/v1/public/initiatives/{initiative['id']}", timeout=10)
    finally:
        stop(server)
    assert counts.json()["counts"]["accepted"] == 1
    assert counts.json()["counts"]["rejected_by_reason"] == {"DUPLICATE": 7}


def test_sigkill_mid_concurrent_burst_loses_no_answered_signature(
    app, database_url, container, tmp_path, capsys
):
    """8 clients post accepting and refused containers for 4 initiatives at once; SIGKILL of
    master and workers mid-burst. Every 201 answered before the kill is stored with its leaf
    and replays identically; nothing is half-written; retries complete the rest."""
    live = register_initiatives(app, 4)
    work = [
        (iid, container(signer, initiative=fields))
        for iid, fields in zip(live.ids, live.fields, strict=True)
        for signer in (*ACCEPTING, "revoked", "untrusted")
    ]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(app, database_url, port)
    sent: list[tuple[str, str, bytes]] = []
    answered: dict[str, requests.Response] = {}
    stop_sending = threading.Event()
    counter = itertools.count()

    def hammer() -> None:
        while not stop_sending.is_set():
            n = next(counter)
            iid, body = work[n % len(work)]
            key = f"k{n}"
            sent.append((key, iid, body))
            try:
                answered[key] = post(base, iid, live.key, body, key)
            except requests.RequestException:
                return

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60  # a slow, shared machine answers slowly
    while len(answered) < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop(server, signal.SIGKILL)  # master and workers, mid-request
    stop_sending.set()
    for t in threads:
        t.join(timeout=60)
    accepted_before = {k: r for k, r in answered.items() if r.status_code == 201}
    assert len(sent) > len(answered) > 8 and accepted_before

    server = start_gunicorn(app, database_url, port)
    try:
        for key, response in accepted_before.items():  # answered 201 = stored, replayed as is
            iid, body = next((i, b) for k, i, b in sent if k == key)
            again = post(base, iid, live.key, body, key)
            assert (again.status_code, again.content) == (201, response.content)
            assert again.headers["Idempotent-Replayed"] == "true"
            sid = response.json()["id"]
            status = requests.get(
                f"{base}/v1/signatures/{sid}",
                headers={"Authorization": f"Bearer {live.key}"},
                timeout=30,
            )
            assert status.json()["leaf_index"] == response.json()["leaf_index"]
        for key, iid, body in sent:  # every request retried: a replay or fresh, never a 5xx
            assert post(base, iid, live.key, body, key).status_code in (201, 409, 422)
        counts = check_log(app)
        # Each accepting person accepted exactly once per initiative, whatever was cut off.
        assert counts["per_initiative"] == {iid: len(ACCEPTING) for iid in live.ids}
        capsys.readouterr()
        assert sigaudit_verify(base, tmp_path) == 0
    finally:
        stop(server)


def test_two_service_instances_on_one_database_keep_one_linear_log(
    app, database_url, container, tmp_path, capsys
):
    """Two gunicorn masters (2 workers each) on one database; 12 clients post the same people
    to both at once. One dense log that sigaudit verifies; nobody accepted twice."""
    live = register_initiatives(app, 3)
    work = [
        (iid, signer, container(signer, initiative=fields))
        for iid, fields in zip(live.ids, live.fields, strict=True)
        for signer in ACCEPTING
    ]
    ports = [free_port(), free_port()]
    servers = [start_gunicorn(app, database_url, port) for port in ports]
    try:
        jobs = [
            (f"http://127.0.0.1:{ports[n % 2]}", iid, signer, body)
            for n, (iid, signer, body) in enumerate(work * 4)
        ]

        def send(job: tuple[str, str, str, bytes]) -> tuple[str, str, int]:
            base, iid, signer, body = job
            return iid, signer, post(base, iid, live.key, body, uuid.uuid4().hex).status_code

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(send, jobs))
        for iid, signer, _ in work:
            statuses = sorted(s for i, p, s in answers if (i, p) == (iid, signer))
            assert statuses == [201, 409, 409, 409], (signer, statuses)
        counts = check_log(app)
        assert counts["per_initiative"] == {iid: len(ACCEPTING) for iid in live.ids}
        capsys.readouterr()
        assert sigaudit_verify(f"http://127.0.0.1:{ports[1]}", tmp_path) == 0
    finally:
        for server in servers:
            stop(server)


def test_revoked_key_and_closed_initiative_take_effect_within_5_s(
    app, database_url, container, admin_headers
):
    """Per-process caches of platform keys and initiatives may lag, but by at most 5 s."""
    live = register_initiatives(app, 2)
    open_one, closing = live.ids
    bodies = {
        iid: container("valid_p384", initiative=f)
        for iid, f in zip(live.ids, live.fields, strict=True)
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(app, database_url, port)

    def codes(iid: str, n: int = 8) -> list[str]:
        found = []
        for _ in range(n):  # new connections: spread over both workers
            answer = post(base, iid, live.key, bodies[iid], uuid.uuid4().hex)
            found.append(answer.json()["error"]["code"] if answer.status_code >= 400 else "ok")
        return found

    try:
        assert codes(closing, 1) == ["ok"]
        assert set(codes(closing)) == {"DUPLICATE"}  # every worker has seen both by now
        closed = requests.post(
            f"{base}/v1/initiatives/{closing}/close", headers=admin_headers, timeout=30
        )
        assert closed.status_code == 200, closed.text
        time.sleep(5.0)
        assert set(codes(closing)) == {"INITIATIVE_CLOSED"}

        assert codes(open_one, 1) == ["ok"]
        with db.engine_of(app).begin() as conn:  # the operator revokes the platform's key
            conn.execute(
                sa.text("UPDATE platforms SET revoked_at = :now"), {"now": datetime.now(UTC)}
            )
        time.sleep(5.0)
        assert set(codes(open_one)) == {"TOKEN_INVALID"}
    finally:
        stop(server)
