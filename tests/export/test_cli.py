"""The operator's CLI: `sigsvc batches create|push|list|show|download-token` and
`sigsvc retention purge --now`; a purge keeps the data key while signatures still wait."""

from __future__ import annotations

import json
import uuid

from audit.events import parse_leaf
from sigsvc import db
from sigsvc.cli import cli
from sigsvc.db.models.intake import DataKey
from sigsvc.log.storage import SqlLogStorage
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
    refused = app.test_cli_runner().invoke(cli, ["retention", "purge", "--now", acked])
    assert refused.exit_code == 2 and "test-only" in refused.output  # not for operators
    app.config["TEST_ALLOW_NOW"] = True
    early = _run(app, "retention", "purge", "--now", acked)
    assert early == []
    purged = _run(app, "retention", "purge", "--now", "2099-01-01T00:00:00Z")
    assert [(p["scope"], p["count"]) for p in purged] == [("BATCH_RECORDS", 2)]
    # The purge decided as of 2099; the log dated it by the clock (never into the future).
    with db.session_scope(app) as session:
        index = purged[0]["leaf_index"]
        (leaf,) = SqlLogStorage(session).entries(index, index + 1)
        assert parse_leaf(bytes(leaf)).at < "2099"
    assert _run(app, "batches", "show", created["id"])["artefact_path"] is None
    with db.session_scope(app) as session:
        assert session.get(DataKey, uuid.UUID(initiative["id"])) is not None
    second = _run(app, "batches", "create", initiative["id"])  # still decrypts the rest
    assert (second["sequence"], second["count"]) == (2, 1)
    nothing = app.test_cli_runner().invoke(cli, ["batches", "create", initiative["id"]])
    assert nothing.exit_code == 1 and "NOTHING_TO_EXPORT" in nothing.output
