"""The operator's CLI: `sigsvc batches create|push|list|show|download-token` and
`sigsvc retention purge --now`; a purge keeps the data key while signatures still wait."""

from __future__ import annotations

import json
import uuid

from sigsvc import db
from sigsvc.cli import cli
from sigsvc.db.models.intake import DataKey
from tests.signatures.conftest import post


def _run(app, *args: str) -> object:
    result = app.test_cli_runner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_handover_and_partial_purge(app, client, initiative, container, receiver):
    for signer in ("valid_rsa", "valid_p384"):
        post(client, initiative, container(signer))
    created = _run(app, "batches", "create", initiative["id"])
    assert (created["sequence"], created["count"]) == (1, 2)
    pushed = _run(app, "batches", "push", created["id"], "--base-delay", "0")
    assert pushed == {"batch": created["id"], "status": "acknowledged", "attempts": 1}
    locked = app.test_cli_runner().invoke(cli, ["batches", "download-token", created["id"]])
    assert locked.exit_code == 1 and "BATCH_LOCKED" in locked.output
    assert [b["status"] for b in _run(app, "batches", "list", initiative["id"])] == ["acknowledged"]

    # One more signature waits for export: the purge erases the batch, keeps the key.
    post(client, initiative, container("no_prefix"))
    acked = _run(app, "batches", "show", created["id"])["acknowledged_at"]
    early = _run(app, "retention", "purge", "--now", acked)
    assert early == []
    purged = _run(app, "retention", "purge", "--now", "2099-01-01T00:00:00Z")
    assert [(p["scope"], p["count"]) for p in purged] == [("BATCH_RECORDS", 2)]
    assert _run(app, "batches", "show", created["id"])["artefact_path"] is None
    with db.session_scope(app) as session:
        assert session.get(DataKey, uuid.UUID(initiative["id"])) is not None
    second = _run(app, "batches", "create", initiative["id"])  # still decrypts the rest
    assert (second["sequence"], second["count"]) == (2, 1)
    nothing = app.test_cli_runner().invoke(cli, ["batches", "create", initiative["id"]])
    assert nothing.exit_code == 1 and "NOTHING_TO_EXPORT" in nothing.output
