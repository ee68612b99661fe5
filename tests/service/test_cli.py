"""The `sigsvc` console script: command discovery, db upgrade, tokens, initiatives, demo seed."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import sqlalchemy as sa

from sigsvc import db
from sigsvc.app import create_app
from sigsvc.cli import cli, command_modules, discover_commands
from tests.service.conftest import VALID_INITIATIVE


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(cli, list(args), input=input)

    return invoke


def test_every_commands_module_is_registered():
    names = {c.name for c in discover_commands()}
    assert {"db", "tokens", "platforms", "initiatives", "demo-run"} <= names
    context = click.Context(cli)
    assert all(isinstance(cli.get_command(context, n), click.Command) for n in names)
    assert names == set(command_modules())  # every module's command is found without import


def test_db_upgrade_on_an_empty_database(empty_database_url, tmp_path):
    app = create_app({"DATABASE_URL": empty_database_url}, instance_path=str(tmp_path))
    try:
        result = app.test_cli_runner().invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert db.current_revisions(db.engine_of(app)) == db.head_revisions(empty_database_url)
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        db.engine_of(app).dispose()


def test_created_admin_token_works(run, client):
    result = run("tokens", "create-admin", "--label", "ops")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("sgadm_")
    response = client.get("/v1/initiatives", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_register_list_close_and_platform(run, tmp_path, client):
    text = tmp_path / "text.txt"
    text.write_text(VALID_INITIATIVE["full_text"], encoding="utf-8")
    result = run(
        "initiatives",
        "register",
        "--regime",
        "art22_bill",
        "--registration-number",
        "7/2026",
        "--title",
        "Virsraksts",
        "--text-file",
        str(text),
        "--starts-on",
        "2026-01-10",
        "--ends-on",
        "2027-01-09",
    )
    assert result.exit_code == 0, result.output
    initiative = json.loads(result.output)
    assert initiative["minimum_age"] == 18
    listed = json.loads(run("initiatives", "list").output)
    assert [i["id"] for i in listed] == [initiative["id"]]
    created = run("platforms", "create", "--name", "site", "--initiative", initiative["id"])
    key = json.loads(created.output)["api_key"]
    form = client.get(
        f"/v1/initiatives/{initiative['id']}/form?given_name=A&surname=B"
        "&personal_code=010101-10000&date=2026-02-01",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert form.status_code == 200
    assert json.loads(run("initiatives", "close", initiative["id"]).output)["status"] == "closed"
    again = run("initiatives", "close", initiative["id"])
    assert again.exit_code == 1
    assert "INITIATIVE_CLOSED" in again.output


def test_cli_rejects_a_long_period_and_stores_nothing(run, tmp_path, table_counts):
    text = tmp_path / "text.txt"
    text.write_text("x", encoding="utf-8")
    before = table_counts()
    result = run(
        "initiatives",
        "register",
        "--regime",
        "art22_bill",
        "--registration-number",
        "8/2026",
        "--title",
        "T",
        "--text-file",
        str(text),
        "--starts-on",
        "2026-01-10",
        "--ends-on",
        "2027-01-10",
    )
    assert result.exit_code == 1
    assert "PERIOD_TOO_LONG" in result.output
    assert table_counts() == before


def test_demo_seed_is_idempotent(run, app, table_counts):
    first = run("demo-run", "--seed-only")
    assert first.exit_code == 0, first.output
    counts = table_counts()
    second = run("demo-run", "--seed-only")
    assert second.exit_code == 0, second.output
    assert table_counts() == counts
    creds = json.loads(Path(app.instance_path, "demo-credentials.json").read_text())
    assert creds["admin_token"] in second.output
    with db.engine_of(app).connect() as conn:
        stored = conn.execute(sa.text("SELECT token_sha256 FROM admin_tokens")).scalars().all()
    assert all(creds["admin_token"].encode() not in bytes(s) for s in stored)
