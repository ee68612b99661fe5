"""Logs: JSON lines, each with a request id, and no personal code or name on any line."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
import structlog

from sigsvc.web.requestlog import configure_logging, redact_personal_codes
from tests.service.conftest import assert_error

GIVEN, SURNAME, CODE = "Elīza", "Kalniņa-Zariņa", "290703-20817"
PERSONAL = [GIVEN, SURNAME, CODE, CODE.replace("-", ""), quote(GIVEN), quote(SURNAME)]


@pytest.fixture
def explode_route(app):
    """A view that fails with personal data in the exception message."""

    @app.get("/explode")
    def explode():
        raise RuntimeError(f"failed for {GIVEN} {SURNAME} {CODE}")


def test_no_personal_data_reaches_a_log_line(
    explode_route, client, admin_headers, create_initiative, create_platform, capsys
):
    initiative = create_initiative()
    key = {"Authorization": f"Bearer {create_platform('p', [initiative['id']])['api_key']}"}
    form = f"/v1/initiatives/{initiative['id']}/form"
    signer = {"given_name": GIVEN, "surname": SURNAME, "personal_code": CODE, "date": "2026-04-01"}

    capsys.readouterr()
    assert client.get(f"{form}?{urlencode(signer)}", headers=key).status_code == 200
    bad = {**signer, "date": "2026-02-30"}
    assert_error(client.get(f"{form}?{urlencode(bad)}", headers=key), 400, "INVALID_PARAMETER")
    odd = {**signer, "personal_code": CODE.replace("-", "")}
    assert_error(client.get(f"{form}?{urlencode(odd)}", headers=key), 400, "INVALID_PARAMETER")
    assert_error(client.get(f"/{CODE}/{quote(SURNAME)}"), 404, "NOT_FOUND")
    assert_error(
        client.post("/v1/platforms", json={CODE: GIVEN}, headers=admin_headers),
        400,
        "UNKNOWN_FIELD",
    )
    assert_error(client.get("/explode"), 500, "INTERNAL_ERROR")

    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 7
    for line in lines:
        record = json.loads(line)
        assert "request_id" in record
        decoded = json.dumps(record, ensure_ascii=False)  # \u escapes would hide "ī" etc.
        for value in PERSONAL:
            assert value not in line, line
            assert value not in decoded, line
    requests = [json.loads(line) for line in lines if json.loads(line)["event"] == "request"]
    assert len(requests) == 6
    assert all(r["request_id"] for r in requests)
    assert {r["route"] for r in requests} == {
        None,
        "/v1/platforms",
        "/explode",
        "/v1/initiatives/<uuid:initiative_id>/form",
    }


def test_names_would_be_seen_by_this_test(capsys):
    # Guards the test above: a logged name must be detectable in the captured output.
    configure_logging("INFO")
    structlog.get_logger("test").info("careless", who=f"{GIVEN} {SURNAME}")
    line = capsys.readouterr().err
    assert GIVEN in line or GIVEN in json.dumps(json.loads(line), ensure_ascii=False)


def test_redactor_catches_codes_in_nested_values():
    event = {"event": "x 010190-12345", "nested": {"list": ["01019012345"]}, "n": 5}
    redacted = json.dumps(redact_personal_codes(None, "info", event))
    assert "12345" not in redacted
    assert '"n": 5' in redacted
