"""Credentials change at once and every change is in the log: platform keys and admin tokens
revoked and rotated, initiatives added to and removed from a platform (API and CLI)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from audit.events import parse_leaf
from sigsvc import db
from sigsvc.cli import platforms as platforms_cli
from sigsvc.cli import tokens as tokens_cli
from tests.service.conftest import assert_error, assert_schema


def _credential_events(app) -> list[dict]:
    with db.engine_of(app).connect() as conn:
        rows = conn.execute(sa.text("SELECT data FROM audit_log_entries ORDER BY idx")).all()
    found = [parse_leaf(bytes(row[0])) for row in rows]
    return [dict(e.fields) for e in found if e.type == "credential.changed"]


def _form(client, initiative_id: str, key: str):
    return client.get(
        f"/v1/initiatives/{initiative_id}/form",
        query_string={"given_name": "A", "surname": "B", "personal_code": "321234-56789",
                      "date": "2026-03-02"},
        headers={"Authorization": f"Bearer {key}"},
    )  # fmt: skip


def test_platform_key_rotation_and_revocation(
    app, client, admin_headers, create_initiative, create_platform
):
    initiative = create_initiative()
    platform = create_platform("site", [initiative["id"]])
    old_key = platform["api_key"]
    assert _form(client, initiative["id"], old_key).status_code == 200

    rotated = client.post(f"/v1/platforms/{platform['id']}/rotate-key", headers=admin_headers)
    assert rotated.status_code == 200
    assert_schema("platform_created", rotated.get_json())
    new_key = rotated.get_json()["api_key"]
    assert new_key != old_key and rotated.get_json()["id"] == platform["id"]
    assert_error(_form(client, initiative["id"], old_key), 401, "TOKEN_INVALID")
    assert _form(client, initiative["id"], new_key).status_code == 200

    revoked = client.post(f"/v1/platforms/{platform['id']}/revoke", headers=admin_headers)
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] is True
    assert_error(_form(client, initiative["id"], new_key), 401, "TOKEN_INVALID")
    again = client.post(f"/v1/platforms/{platform['id']}/revoke", headers=admin_headers)
    assert_error(again, 409, "ALREADY_REVOKED")
    no_rotation = client.post(f"/v1/platforms/{platform['id']}/rotate-key", headers=admin_headers)
    assert_error(no_rotation, 409, "ALREADY_REVOKED")

    assert _credential_events(app) == [
        {"credential": "PLATFORM", "subject": platform["id"], "change": "ROTATED"},
        {"credential": "PLATFORM", "subject": platform["id"], "change": "REVOKED"},
    ]


def test_initiatives_added_and_removed(
    app, client, admin_headers, create_initiative, create_platform
):
    first = create_initiative()
    second = create_initiative(registration_number="2026/18")
    platform = create_platform("site", [first["id"]])
    key = platform["api_key"]
    assert_error(_form(client, second["id"], key), 403, "FORBIDDEN")

    path = f"/v1/platforms/{platform['id']}/initiatives/{second['id']}"
    added = client.put(path, headers=admin_headers)
    assert added.status_code == 200
    assert added.get_json()["initiative_ids"] == [first["id"], second["id"]]
    assert client.put(path, headers=admin_headers).status_code == 200  # idempotent, not logged
    assert _form(client, second["id"], key).status_code == 200

    removed = client.delete(f"/v1/platforms/{platform['id']}/initiatives/{first['id']}",
                            headers=admin_headers)  # fmt: skip
    assert removed.status_code == 200 and removed.get_json()["initiative_ids"] == [second["id"]]
    assert_error(_form(client, first["id"], key), 403, "FORBIDDEN")
    missing = client.delete(f"/v1/platforms/{platform['id']}/initiatives/{first['id']}",
                            headers=admin_headers)  # fmt: skip
    assert_error(missing, 404, "NOT_FOUND")
    assert client.get(f"/v1/platforms/{platform['id']}", headers=admin_headers).get_json()[
        "initiative_ids"
    ] == [second["id"]]

    assert _credential_events(app) == [
        {"credential": "PLATFORM", "subject": platform["id"], "change": "INITIATIVE_ADDED",
         "initiative": second["id"]},
        {"credential": "PLATFORM", "subject": platform["id"], "change": "INITIATIVE_REMOVED",
         "initiative": first["id"]},
    ]  # fmt: skip


def test_admin_tokens_minted_rotated_revoked(app, client, admin_headers):
    minted = client.post("/v1/admin-tokens", json={"label": "night shift"}, headers=admin_headers)
    assert minted.status_code == 201
    assert_schema("admin_token_created", minted.get_json())
    token = minted.get_json()["token"]
    mine = {"Authorization": f"Bearer {token}"}
    listed = client.get("/v1/admin-tokens", headers=mine)
    assert listed.status_code == 200
    assert_schema("admin_token_list", listed.get_json())
    assert token not in listed.text

    rotated = client.post(f"/v1/admin-tokens/{minted.get_json()['id']}/rotate", headers=mine)
    assert rotated.status_code == 200
    successor = rotated.get_json()
    assert successor["label"] == "night shift" and successor["id"] != minted.get_json()["id"]
    assert_error(client.get("/v1/admin-tokens", headers=mine), 401, "TOKEN_INVALID")
    theirs = {"Authorization": f"Bearer {successor['token']}"}
    assert client.get("/v1/admin-tokens", headers=theirs).status_code == 200

    revoked = client.post(f"/v1/admin-tokens/{successor['id']}/revoke", headers=admin_headers)
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] is True
    assert_error(client.get("/v1/admin-tokens", headers=theirs), 401, "TOKEN_INVALID")
    assert_error(
        client.post(f"/v1/admin-tokens/{successor['id']}/revoke", headers=admin_headers),
        409,
        "ALREADY_REVOKED",
    )
    assert_error(client.post("/v1/admin-tokens/999/revoke", headers=admin_headers), 404,
                 "NOT_FOUND")  # fmt: skip

    assert _credential_events(app) == [
        {"credential": "ADMIN_TOKEN", "subject": str(minted.get_json()["id"]), "change": "ROTATED"},
        {"credential": "ADMIN_TOKEN", "subject": str(successor["id"]), "change": "REVOKED"},
    ]


def test_platform_may_not_change_credentials(client, create_initiative, create_platform):
    platform = create_platform("site", [create_initiative()["id"]])
    key = {"Authorization": f"Bearer {platform['api_key']}"}
    assert_error(client.post(f"/v1/platforms/{platform['id']}/revoke", headers=key), 403,
                 "FORBIDDEN")  # fmt: skip
    assert_error(client.get("/v1/admin-tokens", headers=key), 403, "FORBIDDEN")


def test_cli_revokes_rotates_and_edits_initiatives(app, create_initiative, create_platform):
    first = create_initiative()
    second = create_initiative(registration_number="2026/18")
    platform = create_platform("site", [first["id"]])
    runner = app.test_cli_runner()

    def run(command, *args):
        result = runner.invoke(command, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    added = json.loads(run(platforms_cli.add_initiative, platform["id"], second["id"]))
    assert added["initiative_ids"] == [first["id"], second["id"]]
    removed = json.loads(run(platforms_cli.remove_initiative, platform["id"], first["id"]))
    assert removed["initiative_ids"] == [second["id"]]
    rotated = json.loads(run(platforms_cli.rotate_key, platform["id"]))
    assert rotated["api_key"].startswith("sgpk_") and rotated["api_key"] != platform["api_key"]
    assert json.loads(run(platforms_cli.revoke, platform["id"]))["revoked"] is True
    refused = runner.invoke(platforms_cli.revoke, [platform["id"]])
    assert refused.exit_code == 1 and "ALREADY_REVOKED" in refused.output

    token = run(tokens_cli.create_admin, "--label", "cli").strip()
    (row,) = [r for r in json.loads(run(tokens_cli.list_)) if r["label"] == "cli"]
    successor = run(tokens_cli.rotate, str(row["id"])).strip()
    assert successor.startswith("sgadm_") and successor != token
    rows = {r["id"]: r for r in json.loads(run(tokens_cli.list_))}
    assert rows[row["id"]]["revoked"] is True
    newest = max(rows)
    assert json.loads(run(tokens_cli.revoke, str(newest)))["revoked"] is True
    changes = [e["change"] for e in _credential_events(app)]
    assert changes == ["INITIATIVE_ADDED", "INITIATIVE_REMOVED", "ROTATED", "REVOKED",
                       "ROTATED", "REVOKED"]  # fmt: skip
