"""Fault (issue 9): PostgreSQL restarts under a burst of posts.

Answers during the outage are 503 (retryable) or connection errors, never a lost 201:
afterwards every 201 has its record and leaf, every request retried with its key gets a final
answer, and the log verifies. The service reconnects by itself (no restart of sigsvc)."""

from __future__ import annotations

import collections
import itertools
import threading
import time

import pytest
import requests

from tests.signatures.live import check_log, free_port, post, sigaudit_verify, start_gunicorn, stop


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_restart_during_load(
    app, database_url, initiative, container, postgres_server, tmp_path, capsys
):
    if postgres_server.restart is None:
        pytest.skip("SIGSVC_TEST_POSTGRES_URL: the tests cannot restart that server")
    bodies = [container(s) for s in ("valid_p384", "valid_rsa", "no_prefix", "untrusted")]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(app, database_url, port)
    answers: dict[str, int] = {}
    sent: list[tuple[str, bytes]] = []
    stop_event = threading.Event()
    counter = itertools.count()

    def hammer() -> None:
        while not stop_event.is_set():
            n = next(counter)
            idem, body = f"pg{n}", bodies[n % len(bodies)]
            sent.append((idem, body))
            try:
                answers[idem] = post(
                    base, initiative["id"], initiative["key"], body, idem
                ).status_code
            except requests.RequestException:
                answers[idem] = 0

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)
        postgres_server.restart()
        time.sleep(1.5)
        stop_event.set()
        for t in threads:
            t.join(timeout=90)
        seen = collections.Counter(answers.values())
        with capsys.disabled():
            print(f"\nanswers around the PostgreSQL restart: {dict(seen)}")
        assert set(seen) <= {0, 201, 409, 422, 503}, seen
        for idem, body in sent:  # the platform's retries: the service is back by itself
            retried = post(base, initiative["id"], initiative["key"], body, idem)
            assert retried.status_code in (201, 409, 422), retried.text
        counts = check_log(app)
        assert counts["accepted"] == 3  # valid_p384, valid_rsa, no_prefix: each person once
        capsys.readouterr()
        assert sigaudit_verify(base, tmp_path) == 0
    finally:
        stop(server)
