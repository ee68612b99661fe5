"""`sigsvc log rotate-key` through the token: key.rotated + a checkpoint co-signed by both keys;
after the restart with the new label, an auditor holding only the old key verifies the log."""

from __future__ import annotations

import json
from pathlib import Path

from audit import cli as sigaudit
from audit.events import parse_leaf
from audit.note import Verifier, open_note
from sigsvc import services
from sigsvc.cli import cli
from tests.signatures.conftest import post


def _export(client, path: Path) -> Path:
    response = client.get("/v1/log/export")
    path.write_bytes(response.get_data())
    response.close()
    return path


def _rotate(app, *args: str) -> dict:
    result = app.test_cli_runner().invoke(
        cli,
        ["log", "rotate-key", *args],  # dated by the clock: --now is test-only (issue 9)
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_rotation_through_the_token(app, client, initiative, container, log_label, tmp_path):
    assert post(client, initiative, container("valid_p384")).status_code == 201
    old_vkey = services.get(app).log.signer.verifier().vkey
    new_label = log_label + "-next"
    done = _rotate(app, "--new-label", new_label)
    assert done["old_key"] == old_vkey and done["new_key"] != old_vkey
    assert done["next"] == f"restart every sigsvc process with SIGSVC_LOG_KEY_LABEL={new_label}"
    # The switch checkpoint carries both signatures.
    _, signed = open_note(
        done["checkpoint"].encode(),
        [Verifier.from_vkey(old_vkey), Verifier.from_vkey(done["new_key"])],
    )
    assert len(signed) == 2
    entry = client.get(f"/v1/log/entries?start={done['event_index']}&end={done['event_index'] + 1}")
    import base64

    leaf = parse_leaf(base64.b64decode(entry.get_json()["entries"][0]))
    assert (leaf.type, leaf.fields["old_key"], leaf.fields["new_key"]) == (
        "key.rotated",
        old_vkey,
        done["new_key"],
    )
    # Restart with the new label: later checkpoints are the new key's alone.
    services.close(app)
    app.config["TOKEN_KEYS"] = {**app.config["TOKEN_KEYS"], "SIGSVC_LOG_KEY_LABEL": new_label}
    assert client.get("/readyz").get_json()["intake"]["log_key"] == done["new_key"]
    assert post(client, initiative, container("valid_rsa")).status_code == 201
    note = client.get("/v1/log/checkpoint").get_data()
    _, signed = open_note(note, [Verifier.from_vkey(done["new_key"])])
    assert signed
    # An auditor who only ever held the old key learns the new one from the log.
    export = _export(client, tmp_path / "log.tar")
    assert sigaudit.main(["verify", str(export), "--key", old_vkey, "--quiet"]) == 0


def test_rotation_refuses_an_existing_label_and_the_same_key(app, log_label):
    runner = app.test_cli_runner()
    again = runner.invoke(cli, ["log", "rotate-key", "--new-label", log_label])
    assert again.exit_code == 1 and "already holds" in again.output
    same = runner.invoke(cli, ["log", "rotate-key", "--new-label", log_label, "--existing"])
    assert same.exit_code == 1 and "is the current key" in same.output
    both = runner.invoke(cli, ["log", "rotate-key"])
    assert both.exit_code == 2


def test_rotation_to_a_key_file_for_development(app, client, initiative, container, tmp_path):
    new_file = tmp_path / "next.key"
    done = _rotate(app, "--new-key-file", str(new_file))
    assert new_file.stat().st_mode & 0o077 == 0
    assert done["next"].endswith(f"SIGSVC_LOG_KEY_FILE={new_file}")
    services.close(app)
    app.config["TOKEN_KEYS"] = {**app.config["TOKEN_KEYS"], "SIGSVC_LOG_KEY_LABEL": ""}
    app.config["LOG_KEY_FILE"] = str(new_file)
    ready = client.get("/readyz").get_json()["intake"]
    assert ready["log_key_source"] == {"source": "file", "path": str(new_file)}
    assert post(client, initiative, container("valid_p384")).status_code == 201
    export = _export(client, tmp_path / "log.tar")
    assert sigaudit.main(["verify", str(export), "--key", done["old_key"], "--quiet"]) == 0
