"""A receiver's signed refusal becomes a batch.refused log event; the receiver refuses a range
that follows a batch it never accepted; `sigsvc batches timestamp-archive` makes stored
batches XAdES-BASELINE-LTA without changing their logged manifest digest."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from audit import cli as sigaudit
from audit.events import parse_leaf
from audit.note import Signer
from certification.receiver import ReceiverConfig, serve_receiver
from sigsvc import services
from sigsvc.cli import cli
from sigsvc.export import handover
from tests.export.conftest import TSA_URL, log_vkey, verify_batch
from tests.export.test_export_handover import FAST, _artefact, _create
from tests.signatures.conftest import post


def _leaves(client) -> list:
    size = int(client.get("/v1/log/checkpoint").get_data(as_text=True).split("\n")[1])
    body = client.get(f"/v1/log/entries?start=0&end={size}").get_json()
    return [parse_leaf(base64.b64decode(e)) for e in body["entries"]]


def test_refusal_is_logged(
    app, client, initiative, container, admin_headers, receiver_signer, seal_files, tmp_path
):
    for signer in ("valid_rsa", "valid_p384"):
        assert post(client, initiative, container(signer)).status_code == 201
    batch = _create(client, initiative, admin_headers)
    stranger = Signer.generate("other-log").verifier()  # the receiver trusts another log key
    config = ReceiverConfig(
        name="cvk.test-receiver",
        signer=receiver_signer,
        log_keys=[stranger],
        seal_anchors=[seal_files[2].read_bytes()],
        db_path=tmp_path / "receiver.sqlite",
    )
    with serve_receiver(config) as url:
        app.config["HANDOVER_URL"] = f"{url}/batches"
        with pytest.raises(handover.HandoverError, match="CHECKPOINT_INVALID"):
            handover.push(app, services.get(app), batch["id"], policy=FAST)
    refused = [leaf for leaf in _leaves(client) if leaf.type == "batch.refused"]
    assert len(refused) == 1
    assert (refused[0].fields["batch"], refused[0].fields["reason"]) == (
        batch["id"],
        "CHECKPOINT_INVALID",
    )
    assert len(refused[0].fields["acknowledgement_sha256"]) == 64
    export = tmp_path / "log.tar"
    response = client.get("/v1/log/export")
    export.write_bytes(response.get_data())
    response.close()
    assert sigaudit.main(["verify", str(export), "--key", log_vkey(app), "--quiet"]) == 0


def test_receiver_refuses_a_range_after_a_batch_it_never_got(
    app, client, initiative, container, admin_headers, receiver
):
    assert post(client, initiative, container("valid_rsa")).status_code == 201
    first = _create(client, initiative, admin_headers)
    assert post(client, initiative, container("valid_p384")).status_code == 201
    second = _create(client, initiative, admin_headers)
    with pytest.raises(handover.HandoverError, match="PREVIOUS_BATCH_UNKNOWN"):
        handover.push(app, services.get(app), second["id"], policy=FAST)
    done = handover.push(app, services.get(app), first["id"], policy=FAST)
    assert done["status"] == "acknowledged"
    assert [leaf.fields["reason"] for leaf in _leaves(client) if leaf.type == "batch.refused"] == [
        "PREVIOUS_BATCH_UNKNOWN"
    ]


def test_timestamp_archive_command(app, client, initiative, container, admin_headers, seal_files):
    for signer in ("valid_rsa", "valid_p384"):
        assert post(client, initiative, container(signer)).status_code == 201
    batch = _create(client, initiative, admin_headers)
    path = _artefact(app, batch["id"])
    code, report = verify_batch(app, seal_files[2], path)
    assert code == 0 and report["seal_evidence"]["level"] == "XAdES-BASELINE-LT", report
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["batches", "timestamp-archive", "--all", "--tsa-url", TSA_URL])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"batch": batch["id"], "archive_timestamps": 1}]
    code, report = verify_batch(app, seal_files[2], path)
    assert code == 0 and report["seal_evidence"]["level"] == "XAdES-BASELINE-LTA", report
    assert report["manifest_sha256"] == batch["manifest_sha256"]
    shown = runner.invoke(cli, ["batches", "show", batch["id"]])
    assert json.loads(shown.stdout)["artefact_bytes"] == Path(path).stat().st_size
    unknown = runner.invoke(cli, ["batches", "timestamp-archive", "nope"])
    assert unknown.exit_code == 1 and "no stored artefact" in unknown.output
