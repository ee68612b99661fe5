"""Every error, routing and server errors included, has the one JSON shape and a request id."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import VALID_INITIATIVE, assert_error


def test_unknown_path_is_404(client):
    assert_error(client.get("/no/such/thing"), 404, "NOT_FOUND")


def test_wrong_method_is_405_with_allow(client):
    response = client.delete("/healthz")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/v1/initiatives", "/healthz"])
def test_body_over_limit_is_413_even_where_no_body_is_read(app, client, admin_headers, path):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post(
        path,
        data=b"{" + b" " * 2000 + b"}",
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert_error(response, 413, "TOO_LARGE")


def test_body_at_limit_is_read(app, client, admin_headers, table_counts):
    import json

    raw = json.dumps(VALID_INITIATIVE).encode()
    app.config["MAX_CONTENT_LENGTH"] = len(raw)
    response = client.post(
        "/v1/initiatives", data=raw, headers={**admin_headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 201


def test_unexpected_exception_is_500_in_our_shape(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/boom")
    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert "boom" not in body["error"]["message"]


def test_request_id_is_generated_and_echoed(client):
    first = client.get("/nope")
    second = client.get("/nope")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Request-Id"])
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


def test_well_formed_inbound_request_id_is_kept(client):
    for uuid in ("7f3a9c21-0b4e-4d2a-9c1f-aa53e0b1c2d4", "12345678-0b4e-4d2a-9c1f-aa53e0b1c2d4"):
        response = client.get("/nope", headers={"X-Request-Id": uuid})
        assert response.get_json()["error"]["request_id"] == uuid
    odd = client.get("/nope", headers={"X-Request-Id": "bad id\twith spaces"})
    assert odd.headers["X-Request-Id"] != "bad id\twith spaces"


@pytest.mark.parametrize(
    "inbound",
    [
        "lb-321234-56789",  # a personal code in a free-form id
        "32123456789-abcdefgh",
        "32123456-7890-4d2a-9c1f-aa53e0b1c2d4",  # UUID-shaped, digits across a hyphen
        "JANIS-BERZINS-2026",
        "7F3A9C21-0B4E-4D2A-9C1F-AA53E0B1C2D4",  # upper case: only our canonical shape
    ],
)
def test_inbound_request_id_that_could_carry_personal_data_is_replaced(
    client, caplog, inbound: str
) -> None:
    response = client.get("/nope", headers={"X-Request-Id": inbound})
    generated = response.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert response.get_json()["error"]["request_id"] == generated
    assert inbound not in caplog.text
