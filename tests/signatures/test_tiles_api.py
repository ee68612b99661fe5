"""The log served as C2SP tlog-tiles, followed by `sigaudit verify <url>`, and a signature's
leaves found by its container's SHA-256."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from audit import events, merkle
from audit.cli import main as sigaudit
from audit.export import decode_bundle
from sigsvc import db, services
from tests.signatures.conftest import post

AT = datetime(2026, 3, 2, tzinfo=UTC)


def _append(app, count: int) -> None:
    batch = [
        events.credential_changed(at=AT, credential="PLATFORM", subject=f"p-{i}", change="REVOKED")
        for i in range(count)
    ]
    with db.session_scope(app) as session:
        services.get(app).log.append(session, batch)


def test_tiles_follow_the_latest_checkpoint_with_cache_headers(app, client, live_server, capsys):
    _append(app, 300)
    note = client.get("/checkpoint")
    assert note.status_code == 200 and note.headers["Cache-Control"] == "no-cache"
    size = int(note.get_data().split(b"\n")[1])
    assert size == 300
    assert client.get("/v1/log/checkpoint").get_data() == note.get_data()

    full = client.get("/tile/0/000")
    assert full.status_code == 200
    assert full.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert full.content_type == "application/octet-stream"
    entries = client.get("/tile/entries/000")
    leaves = decode_bundle(entries.get_data(), 256)
    assert full.get_data() == b"".join(merkle.leaf_hash(d) for d in leaves)
    served = client.get("/v1/log/entries?start=0&end=256").get_json()["entries"]
    assert [base64.b64encode(d).decode() for d in leaves] == served

    partial = client.get(f"/tile/0/001.p/{size - 256}")
    assert partial.status_code == 200 and len(partial.get_data()) == 32 * (size - 256)
    assert partial.headers["Cache-Control"] == "public, max-age=60"
    for beyond in ("/tile/0/001", f"/tile/0/001.p/{size - 255}", "/tile/1/000", "/tile/0/002"):
        assert client.get(beyond).status_code == 404, beyond
    for bad in ("/tile/0/1", "/tile/0/x000/000", "/tile/entries/000.p/256", "/tile/x/000"):
        assert client.get(bad).status_code == 404, bad
    assert client.get("/checkpoints/0").headers["Cache-Control"].endswith("immutable")

    # A tile client that knows nothing of sigsvc: the root of the tiles is the checkpoint's.
    level0 = full.get_data() + partial.get_data()
    root = merkle.root([level0[i : i + 32] for i in range(0, len(level0), 32)])
    assert base64.b64encode(root).decode() == note.get_data().decode().split("\n")[2]

    vkey = client.get("/readyz").get_json()["intake"]["log_key"]
    capsys.readouterr()
    assert sigaudit(["verify", live_server, "--key", vkey, "--quiet"]) == 0
    assert "300 entries" in capsys.readouterr().out


def test_a_signature_is_found_by_its_container_digest(client, initiative, container):
    accepted, rejected = container("valid_rsa"), container("revoked")
    assert post(client, initiative, accepted).status_code == 201
    assert post(client, initiative, rejected).status_code == 422
    for body, kind in ((accepted, "signature.accepted"), (rejected, "signature.rejected")):
        digest = hashlib.sha256(body).hexdigest()
        found = client.get(f"/v1/log/lookup?container_sha256={digest}")
        assert found.status_code == 200, found.get_data(as_text=True)
        (entry,) = found.get_json()["entries"]
        assert entry["type"] == kind
        leaf = events.parse_leaf(base64.b64decode(entry["leaf"]))
        assert leaf.fields["container_sha256"] == digest
        served = client.get(f"/v1/log/entries?start={entry['index']}&end={entry['index'] + 1}")
        assert served.get_json()["entries"] == [entry["leaf"]]
    unknown = client.get(f"/v1/log/lookup?container_sha256={'0' * 64}")
    assert unknown.status_code == 404
    assert client.get("/v1/log/lookup?container_sha256=ABC").status_code == 400
