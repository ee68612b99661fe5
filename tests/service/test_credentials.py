"""Credentials change at once and every change is in the log: platform keys and admin tokens
created, revoked and rotated, initiatives added to and removed from a platform (API, CLI,
console, demo seed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import sqlalchemy as sa

from audit.events import parse_leaf
from sigsvc import db
from sigsvc.cli import cli
from sigsvc.cli import platforms as platforms_cli
from sigsvc.cli import tokens as tokens_cli
from tests.service.conftest import assert_error, assert_schema


def _leaves(app) -> list[bytes]:
    with db.engine_of(app).connect() as conn:
        rows = conn.execute(sa.text("SELECT data FROM audit_log_entries ORDER BY idx")).all()
    return [bytes(row[0]) for row in rows]


def _credential_events(app, subject: str | None = None) -> list[dict]:
    found = [parse_leaf(leaf) for leaf in _leaves(app)]
    changes = [dict(e.fields) for e in found if e.type == "credential.changed"]
    return [c for c in changes if subject is None or c["subject"] == subject]


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

    assert _credential_events(app, platform["id"]) == [
        {"credential": "PLATFORM", "subject": platform["id"], "change": "CREATED"},
        {"credential": "PLATFORM", "subject": platform["id"], "change": "INITIATIVE_ADDED",
         "initiative": initiative["id"]},
        {"credential": "PLATFORM", "subject": platform["id"], "change": "ROTATED"},
        {"credential": "PLATFORM", "subject": platform["id"], "change": "REVOKED"},
    ]  # fmt: skip


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

    assert _credential_events(app, platform["id"]) == [
        {"credential": "PLATFORM", "subject": platform["id"], "change": "CREATED"},
        {"credential": "PLATFORM", "subject": platform["id"], "change": "INITIATIVE_ADDED",
         "initiative": first["id"]},
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

    fixture_token, first = "1", str(minted.get_json()["id"])  # admin_headers' token is row 1
    assert _credential_events(app) == [
        {"credential": "ADMIN_TOKEN", "subject": fixture_token, "change": "CREATED"},
        {"credential": "ADMIN_TOKEN", "subject": first, "change": "CREATED"},
        {"credential": "ADMIN_TOKEN", "subject": first, "change": "ROTATED"},
        {"credential": "ADMIN_TOKEN", "subject": str(successor["id"]), "change": "CREATED"},
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
    changes = [e["change"] for e in _credential_events(app, platform["id"])]
    assert changes == ["CREATED", "INITIATIVE_ADDED", "INITIATIVE_ADDED", "INITIATIVE_REMOVED",
                       "ROTATED", "REVOKED"]  # fmt: skip
    tokens = [(e["subject"], e["change"]) for e in _credential_events(app)
              if e["credential"] == "ADMIN_TOKEN"]  # fmt: skip
    assert tokens == [("1", "CREATED"), (str(row["id"]), "CREATED"), (str(row["id"]), "ROTATED"),
                      (str(newest), "CREATED"), (str(newest), "REVOKED")]  # fmt: skip


def _assert_no_secret_in_log(app, *secrets: str) -> None:
    """Leaves hold ids only: never a key or token, its digest, a platform name or a label."""
    for leaf in _leaves(app):
        for secret in secrets:
            assert secret.encode() not in leaf
            if secret.startswith(("sgpk_", "sgadm_")):
                assert hashlib.sha256(secret.encode()).hexdigest().encode() not in leaf


def test_creation_is_logged_from_every_entry_point(app, client, admin_token, create_initiative):
    """API, CLI, console and the demo seed all create through sigsvc.credentials: each creation
    is a CREATED event (a platform's also INITIATIVE_ADDED per initiative), in the same commit."""
    admin = {"Authorization": f"Bearer {admin_token}"}
    initiative = create_initiative()
    runner = app.test_cli_runner()
    made: list[tuple[str, str]] = []  # (credential, subject) in creation order

    api = client.post("/v1/platforms", json={"name": "Api Site", "initiative_ids":
                      [initiative["id"]]}, headers=admin).get_json()  # fmt: skip
    made.append(("PLATFORM", api["id"]))
    minted = client.post("/v1/admin-tokens", json={"label": "Anna Bērziņa"}, headers=admin)
    made.append(("ADMIN_TOKEN", str(minted.get_json()["id"])))

    cli = runner.invoke(platforms_cli.create, ["--name", "Cli Site", "--initiative",
                                               initiative["id"]])  # fmt: skip
    assert cli.exit_code == 0, cli.output
    cli_platform = json.loads(cli.output)
    made.append(("PLATFORM", cli_platform["id"]))
    cli_token = runner.invoke(tokens_cli.create_admin, ["--label", "Jānis on call"])
    assert cli_token.exit_code == 0, cli_token.output
    (cli_row,) = [r for r in json.loads(runner.invoke(tokens_cli.list_, []).output)
                  if r["label"] == "Jānis on call"]  # fmt: skip
    made.append(("ADMIN_TOKEN", str(cli_row["id"])))

    assert client.post("/console/login", data={"token": admin_token}).status_code == 303
    page = client.get("/console/platforms").get_data(as_text=True)
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    console = client.post("/console/platforms", data={"csrf": csrf, "name": "Console Site",
                          "initiative_ids": [initiative["id"]]})  # fmt: skip
    assert console.status_code == 200, console.get_data(as_text=True)
    listed = client.get("/v1/platforms", headers=admin).get_json()["platforms"]
    (console_platform,) = [p for p in listed if p["name"] == "Console Site"]
    made.append(("PLATFORM", console_platform["id"]))

    created = [(e["credential"], e["subject"]) for e in _credential_events(app)
               if e["change"] == "CREATED"]  # fmt: skip
    assert created == [("ADMIN_TOKEN", "1"), *made]  # "1": the admin_token fixture's
    for kind, subject in made:
        if kind == "PLATFORM":
            assert [e["change"] for e in _credential_events(app, subject)] == [
                "CREATED", "INITIATIVE_ADDED"]  # fmt: skip
            assert _credential_events(app, subject)[1]["initiative"] == initiative["id"]
    console_key = console.get_data(as_text=True).split("sgpk_", 1)[1].split("<", 1)[0]
    _assert_no_secret_in_log(
        app, admin_token, api["api_key"], cli_platform["api_key"], "sgpk_" + console_key,
        minted.get_json()["token"], cli_token.output.strip(), "Api Site", "Cli Site",
        "Console Site", "Anna", "Jānis on call",
    )  # fmt: skip


def test_demo_seed_logs_its_credentials_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(cli, ["demo-run", "--seed-only"])
    assert first.exit_code == 0, first.output
    creds = json.loads(Path(app.instance_path, "demo-credentials.json").read_text())
    seeded = [(e["credential"], e["change"]) for e in _credential_events(app)]
    assert seeded == [("ADMIN_TOKEN", "CREATED"), ("PLATFORM", "CREATED"),
                      ("PLATFORM", "INITIATIVE_ADDED")]  # fmt: skip
    again = runner.invoke(cli, ["demo-run", "--seed-only"])
    assert again.exit_code == 0, again.output
    assert len(_credential_events(app)) == len(seeded)  # nothing new: nothing logged
    _assert_no_secret_in_log(app, creds["admin_token"], creds["platform_key"], "demo-platform")
