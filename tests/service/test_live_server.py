"""The whole stack over real HTTP on 127.0.0.1 (threaded werkzeug server, requests client)."""

from __future__ import annotations

import socket

import requests

from tests.service.conftest import VALID_INITIATIVE


def test_register_platform_and_form_over_http(live_server, admin_headers):
    with requests.Session() as http:
        created = http.post(
            f"{live_server}/v1/initiatives",
            json=VALID_INITIATIVE,
            headers=admin_headers,
            timeout=10,
        )
        assert created.status_code == 201
        initiative = created.json()
        platform = http.post(
            f"{live_server}/v1/platforms",
            json={"name": "live", "initiative_ids": [initiative["id"]]},
            headers=admin_headers,
            timeout=10,
        ).json()
        form = http.get(
            f"{live_server}/v1/initiatives/{initiative['id']}/form",
            params={
                "given_name": "Jānis",
                "surname": "Bērziņš",
                "personal_code": "010101-10000",
                "date": "2026-04-01",
            },
            headers={"Authorization": f"Bearer {platform['api_key']}"},
            timeout=10,
        )
        assert form.status_code == 200
        assert form.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert "Vārds: Jānis\nUzvārds: Bērziņš\n".encode() in form.content
        missing = http.get(f"{live_server}/nope", timeout=10)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "NOT_FOUND"


def test_oversized_body_is_refused_before_it_is_read(app, live_server, admin_headers):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # Announce 10 MB but send none of it: the answer must come from the headers alone.
        sock.sendall(
            b"POST /v1/initiatives HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\nConnection: close\r\n"
            + f"Authorization: {admin_headers['Authorization']}\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"TOO_LARGE"' in answer
