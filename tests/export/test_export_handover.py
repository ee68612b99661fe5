"""Intake -> batch -> push to the reference receiver -> acknowledgement -> retention purge,
on SQLite and PostgreSQL, with real test-PKI containers verified against local responders."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import sqlite3
import uuid
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from audit import cli as sigaudit
from audit.events import parse_leaf
from audit.note import parse, sign
from certification.testpki import form_for, make_edoc
from certification.testpki.sign import FORM_FILENAME
from crypto.form import FormKind
from sigsvc import db, services
from sigsvc.db.models.batches import Batch, HandoverAttempt
from sigsvc.db.models.intake import DataKey, Signature
from sigsvc.export import handover, retention
from sigsvc.refusal import Refusal
from tests.export.conftest import log_vkey, verify_batch
from tests.service.conftest import assert_error, assert_schema
from tests.signatures.conftest import post

FAST = handover.PushPolicy(attempts=3, base_delay=0.01)


def _create(client, initiative, admin_headers) -> dict[str, Any]:
    response = client.post(f"/v1/initiatives/{initiative['id']}/batches", headers=admin_headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert_schema("batch", response.get_json())
    return response.get_json()


def _artefact(app, batch_id: str) -> Path:
    with db.session_scope(app) as session:
        return Path(session.get(Batch, batch_id).artefact_path)


def _leaves(client) -> list[Any]:
    size = int(client.get("/v1/log/checkpoint").get_data(as_text=True).split("\n")[1])
    body = client.get(f"/v1/log/entries?start=0&end={size}").get_json()
    return [parse_leaf(base64.b64decode(e)) for e in body["entries"]]


def _receiver_batches(receiver) -> int:
    with sqlite3.connect(receiver.db) as con:
        return int(con.execute("SELECT count(*) FROM batches").fetchone()[0])


def _withdrawal(signer: str) -> bytes:
    return make_edoc(form_for(signer, kind=FormKind.WITHDRAWAL), FORM_FILENAME, signer)


def test_end_to_end(
    app, client, initiative, container, admin_headers, receiver, seal_files, tmp_path
):
    for signer in ("valid_rsa", "valid_p384"):
        assert post(client, initiative, container(signer)).status_code == 201
    first = _create(client, initiative, admin_headers)
    assert (first["sequence"], first["count"], first["status"]) == (1, 2, "created")
    path = _artefact(app, first["id"])
    code, report = verify_batch(app, seal_files[2], path)
    assert code == 0, report
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["log"]["previous"] is None
    assert [e["personal_code"] for e in manifest["entries"]]  # CVK gets the decrypted identity
    assert sorted(e["leaf_index"] for e in manifest["entries"]) == [
        e["leaf_index"] for e in manifest["entries"]
    ]

    # A signature is in exactly one batch; withdrawing an exported one is refused.
    assert_error(
        client.post(f"/v1/initiatives/{initiative['id']}/batches", headers=admin_headers),
        409,
        "NOTHING_TO_EXPORT",
    )
    assert_error(
        post(client, initiative, _withdrawal("valid_rsa"), path="withdrawals"),
        409,
        "ALREADY_EXPORTED",
    )

    # Push: the receiver verifies, witnesses the checkpoint and signs an acceptance.
    done = handover.push(app, services.get(app), first["id"], policy=FAST)
    assert done == {"batch": first["id"], "status": "acknowledged", "attempts": 1}
    status = client.get(f"/v1/batches/{first['id']}", headers=admin_headers).get_json()
    assert status["status"] == "acknowledged" and status["acknowledged_leaf_index"] is not None
    again = handover.push(app, services.get(app), first["id"], policy=FAST)
    assert again["attempts"] == 0  # locked: nothing is sent again

    # Second batch: proves consistency with the first; the receiver (witness) accepts it.
    assert post(client, initiative, container("no_prefix")).status_code == 201
    second = _create(client, initiative, admin_headers)
    assert (second["sequence"], second["count"]) == (2, 1)
    trusted = tmp_path / "first.checkpoint"
    trusted.write_text(first["checkpoint"])
    second_path = _artefact(app, second["id"])
    code, report = verify_batch(
        app, seal_files[2], second_path, "--trusted-checkpoint", str(trusted)
    )
    assert code == 0, report
    with zipfile.ZipFile(second_path) as zf:
        previous = json.loads(zf.read("manifest.json"))["log"]["previous"]
    assert previous["checkpoint"] == first["checkpoint"] and previous["consistency"]
    keep = tmp_path / "cvk-copy.asice"  # what CVK keeps after we purge
    shutil.copy(second_path, keep)
    assert handover.push(app, services.get(app), second["id"], policy=FAST)["attempts"] == 1
    assert _receiver_batches(receiver) == 2
    listed = client.get(f"/v1/initiatives/{initiative['id']}/batches", headers=admin_headers)
    assert_schema("batch_list", listed.get_json())
    assert [b["status"] for b in listed.get_json()["batches"]] == ["acknowledged"] * 2

    types = [leaf.type for leaf in _leaves(client)]
    assert types.count("batch.exported") == 2 and types.count("batch.acknowledged") == 2

    # Retention: nothing before the period ends; then records, artefacts and the key go.
    with db.session_scope(app) as session:
        acked = session.get(Batch, second["id"]).acknowledged_at
    intake = services.get(app)
    assert retention.purge(db.sessions_of(app), intake, acked + timedelta(days=29), 30) == []
    purged = retention.purge(db.sessions_of(app), intake, acked + timedelta(days=31), 30)
    assert [(p["scope"], p["count"]) for p in purged] == [
        ("BATCH_RECORDS", 2),
        ("BATCH_RECORDS", 1),
        ("DATA_KEY", 3),
    ]
    assert not path.exists() and not second_path.exists()
    with db.session_scope(app) as session:
        assert session.get(DataKey, uuid.UUID(initiative["id"])) is None
        rows = session.scalars(sa.select(Signature)).all()
        assert all(r.personal_code_enc == b"" and r.container_enc is None for r in rows)
        assert {b.status.value for b in session.scalars(sa.select(Batch))} == {"purged"}
    assert [leaf.type for leaf in _leaves(client)].count("data.purged") == 3

    # The log and CVK's copy of the batch still verify offline.
    export = tmp_path / "log.tar"
    response = client.get("/v1/log/export")
    export.write_bytes(response.get_data())
    response.close()
    assert sigaudit.main(["verify", str(export), "--key", log_vkey(app), "--quiet"]) == 0
    code, report = verify_batch(app, seal_files[2], keep, "--trusted-checkpoint", str(trusted))
    assert code == 0, report


def test_receiver_down_then_lost_answer(
    app, client, initiative, container, admin_headers, receiver
):
    for signer in ("valid_rsa", "valid_p384"):
        post(client, initiative, container(signer))
    batch = _create(client, initiative, admin_headers)
    working = app.config["HANDOVER_URL"]
    # Down: nothing listens on the port; every attempt is recorded, backoff doubles.
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        app.config["HANDOVER_URL"] = f"http://127.0.0.1:{closed.getsockname()[1]}/batches"
    slept: list[float] = []
    with pytest.raises(handover.HandoverError, match="no answer after 3 attempts"):
        handover.push(app, services.get(app), batch["id"], policy=FAST, sleep=slept.append)
    assert slept == [0.01, 0.02]
    # Up again, but the first delivery's answer was lost on the way back.
    app.config["HANDOVER_URL"] = working
    path = _artefact(app, batch["id"])
    lost = requests.post(
        working, data=path.read_bytes(), headers={"Idempotency-Key": batch["id"]}, timeout=30
    )
    assert lost.status_code == 201
    done = handover.push(app, services.get(app), batch["id"], policy=FAST)
    assert done["status"] == "acknowledged"
    assert _receiver_batches(receiver) == 1  # no duplicate handover
    with db.session_scope(app) as session:
        outcomes = session.scalars(
            sa.select(HandoverAttempt.outcome).order_by(HandoverAttempt.id)
        ).all()
        assert outcomes == ["RETRY", "RETRY", "RETRY", "ACCEPTED"]
        assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 2


def test_download_tokens_expire(app, client, initiative, container, admin_headers):
    post(client, initiative, container("valid_p384"))
    batch = _create(client, initiative, admin_headers)
    url = f"/v1/batches/{batch['id']}/artefact"
    assert app.config["DOWNLOAD_TOKEN_TTL_HOURS"] == 24  # the default
    issued_at = services.log_service(app).clock()
    issued = client.post(f"/v1/batches/{batch['id']}/download-token", headers=admin_headers)
    token, expires = issued.get_json()["token"], issued.get_json()["expires_at"]
    lifetime = datetime.fromisoformat(expires) - issued_at
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24)
    # Redeemed one second after its expiry (the clock passed in): refused, still unspent.
    late = datetime.fromisoformat(expires) + timedelta(seconds=1)
    with db.session_scope(app) as session, pytest.raises(Refusal) as refused:
        handover.redeem_download_token(session, batch["id"], token, late)
    assert refused.value.code == "DOWNLOAD_TOKEN_INVALID" and "expired" in refused.value.message
    # Redeemed before its expiry: the same token works.
    got = client.get(url, headers={"Authorization": f"Bearer {token}"})
    got.close()
    assert got.status_code == 200
    # A zero lifetime: expired as issued, over HTTP too.
    app.config["DOWNLOAD_TOKEN_TTL_HOURS"] = 0
    dead = client.post(f"/v1/batches/{batch['id']}/download-token", headers=admin_headers)
    assert_schema("download_token", dead.get_json())
    assert_error(
        client.get(url, headers={"Authorization": f"Bearer {dead.get_json()['token']}"}),
        401,
        "DOWNLOAD_TOKEN_INVALID",
    )


def test_download_token_and_acknowledgement(
    app, client, initiative, container, admin_headers, receiver, receiver_signer, capsys
):
    for signer in ("valid_rsa", "valid_p384"):
        post(client, initiative, container(signer))
    batch = _create(client, initiative, admin_headers)
    url = f"/v1/batches/{batch['id']}/artefact"
    assert_error(client.get(url), 401, "DOWNLOAD_TOKEN_INVALID")
    issued = client.post(f"/v1/batches/{batch['id']}/download-token", headers=admin_headers)
    assert issued.status_code == 201
    assert_schema("download_token", issued.get_json())
    token = issued.get_json()["token"]
    assert_error(
        client.get(url, headers={"Authorization": f"Bearer {token}x"}),
        401,
        "DOWNLOAD_TOKEN_INVALID",
    )
    got = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200
    body = got.get_data()
    got.close()
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert [e["batch"] for e in logged if e["event"] == "batch_downloaded"] == [batch["id"]]
    assert body == _artefact(app, batch["id"]).read_bytes()
    assert_error(  # one time only
        client.get(url, headers={"Authorization": f"Bearer {token}"}), 401, "DOWNLOAD_TOKEN_INVALID"
    )
    status = client.get(f"/v1/batches/{batch['id']}", headers=admin_headers).get_json()
    assert (status["status"], status["downloads"]) == ("handed_over", 1)
    with db.session_scope(app) as session:
        stored = session.get(Batch, batch["id"]).download_token_sha256
        assert stored is None

    # CVK verifies the download and sends its signed acceptance back through the operator.
    answer = requests.post(
        receiver.url + "/batches", data=body, headers={"Idempotency-Key": "pull-1"}, timeout=30
    ).json()
    note = answer["acknowledgement"].encode()
    ack_url = f"/v1/batches/{batch['id']}/acknowledgement"
    forged = note.replace(b"ACCEPTED", b"ACCEPTEE")
    assert_error(
        client.post(ack_url, data=forged, headers=admin_headers), 422, "ACKNOWLEDGEMENT_INVALID"
    )
    done = client.post(ack_url, data=note, headers=admin_headers)
    assert done.status_code == 200 and done.get_json()["status"] == "acknowledged"
    assert client.post(ack_url, data=note, headers=admin_headers).status_code == 200  # same: no-op
    # A second, different (validly signed) acknowledgement is refused: the batch is locked.
    text = parse(note).text.decode().split("\n")
    text[-2] = "2030-01-01T00:00:00.000Z"
    other = sign("\n".join(text).encode(), [receiver_signer])
    assert other != note
    assert_error(client.post(ack_url, data=other, headers=admin_headers), 409, "BATCH_LOCKED")
    assert_error(
        client.post(f"/v1/batches/{batch['id']}/download-token", headers=admin_headers),
        409,
        "BATCH_LOCKED",
    )
    leaves = [leaf for leaf in _leaves(client) if leaf.type == "batch.acknowledged"]
    assert len(leaves) == 1


def test_http_only_for_loopback():
    assert handover.check_url("https://cvk.example/batches")
    assert handover.check_url("http://127.0.0.1:8080/batches")
    for bad in ("http://cvk.example/batches", "ftp://127.0.0.1/x", "cvk.example"):
        with pytest.raises(handover.HandoverError):
            handover.check_url(bad)
