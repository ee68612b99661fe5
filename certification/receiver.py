"""Reference receiver: a small WSGI app standing in for the state platform (CVK).

``POST /batches`` (body: the batch file, header ``Idempotency-Key``) verifies the batch with the
same code as ``sigaudit verify-batch`` (``audit.batch`` + ``audit.cli_batch``), acting as a
witness: it keeps the last checkpoint it accepted per log origin (SQLite) and refuses a batch
whose log is not shown to extend it. It answers with an acknowledgement signed with its own
Ed25519 key as a C2SP signed note (docs/batch-format.md "Acknowledgement"):

- 201 ``{"status": "ACCEPTED", "reason": "OK", ...}`` first acceptance of a batch;
- 200 the same answer again for the same Idempotency-Key and body, or for a batch (same manifest)
  it already accepted under another key: nothing is stored twice;
- 422 ``{"status": "REFUSED", "reason": <code>, ...}`` with a signed refusal;
- 409 ``IDEMPOTENCY_CONFLICT`` (same key, other body) or ``BATCH_CONFLICT`` (same batch id,
  other manifest); 400 for a missing key or body.

``GET /healthz`` answers ``{"status": "ok", "name": ..., "key": <vkey>}``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from audit.acknowledgement import ACCEPTED, Acknowledgement
from audit.batch import BatchError, ContainerCheck, ZipBatchArchive, verify_batch
from audit.cli_batch import seal_checker
from audit.events import format_time
from audit.note import Signer, Verifier, sign

MAX_BATCH_BYTES = 4 * 1024 * 1024 * 1024
_KEY = re.compile(r"[!-~]{1,128}")  # printable ASCII, no spaces

_SCHEMA = """
CREATE TABLE IF NOT EXISTS witness (origin TEXT PRIMARY KEY, checkpoint BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    batch TEXT PRIMARY KEY, manifest_sha256 TEXT NOT NULL, body_sha256 TEXT NOT NULL,
    response TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    idempotency_key TEXT PRIMARY KEY, body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL, response TEXT NOT NULL);
"""


@dataclass
class ReceiverConfig:
    name: str  # the receiver's identity, also its note key name
    signer: Signer  # its Ed25519 acknowledgement key
    log_keys: Sequence[Verifier]  # the sigsvc log keys it trusts
    seal_anchors: Sequence[bytes]  # certificates the operator's seal must chain to
    db_path: Path
    container_check: ContainerCheck | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    tsa_anchors: Sequence[bytes] = ()  # the seal's time stamps chain to these (default: seal's)


def _json(status: int, doc: dict[str, Any]) -> Response:
    return Response(json.dumps(doc, sort_keys=True), status, mimetype="application/json")


class Receiver:
    def __init__(self, config: ReceiverConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._db = sqlite3.connect(config.db_path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/healthz" and request.method == "GET":
            vkey = self.config.signer.verifier().vkey
            response = _json(200, {"status": "ok", "name": self.config.name, "key": vkey})
        elif request.path == "/batches" and request.method == "POST":
            response = self._post(request)
        else:
            response = _json(404, {"error": "NOT_FOUND"})
        return response(environ, start_response)

    def _witness(self, origin: str) -> bytes | None:
        row = self._db.execute(
            "SELECT checkpoint FROM witness WHERE origin = ?", (origin,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def _ack(self, acknowledgement: Acknowledgement) -> tuple[str, str]:
        note = sign(acknowledgement.text(), [self.config.signer])
        return note.decode(), hashlib.sha256(note).hexdigest()

    def _post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        if not _KEY.fullmatch(key):
            return _json(400, {"error": "IDEMPOTENCY_KEY_REQUIRED"})
        if request.content_length is None or request.content_length > MAX_BATCH_BYTES:
            return _json(400, {"error": "BODY_REQUIRED"})
        with self._lock, tempfile.TemporaryFile() as body:
            digest = hashlib.sha256()
            while chunk := request.stream.read(1 << 20):
                digest.update(chunk)
                body.write(chunk)
            body_sha = digest.hexdigest()
            seen = self._db.execute(
                "SELECT body_sha256, status, response FROM requests WHERE idempotency_key = ?",
                (key,),
            ).fetchone()
            if seen is not None:
                if seen[0] != body_sha:
                    return _json(409, {"error": "IDEMPOTENCY_CONFLICT"})
                return Response(
                    seen[2], 200 if seen[1] == 201 else seen[1], mimetype="application/json"
                )
            again = self._db.execute(
                "SELECT response FROM batches WHERE body_sha256 = ?", (body_sha,)
            ).fetchone()
            if again is not None:  # a batch already accepted, re-sent under another key
                status, doc = 200, json.loads(again[0])
            else:
                body.seek(0)
                status, doc = self._verify(body, body_sha)
            text = json.dumps(doc, sort_keys=True)
            if status != 409:
                self._db.execute(
                    "INSERT INTO requests VALUES (?, ?, ?, ?)", (key, body_sha, status, text)
                )
            return Response(text, status, mimetype="application/json")

    def _refuse(self, reason: str, message: str, now: str) -> tuple[int, dict[str, Any]]:
        note, sha = self._ack(Acknowledgement.refusal(self.config.name, reason, now))
        doc = {"status": "REFUSED", "reason": reason, "message": message}
        return 422, {**doc, "acknowledgement": note, "acknowledgement_sha256": sha}

    def _verify(self, body: Any, body_sha: str) -> tuple[int, dict[str, Any]]:
        clock = self.config.clock()
        now = format_time(clock)
        seal = seal_checker(
            list(self.config.seal_anchors), tsa_anchors=list(self.config.tsa_anchors), at=clock
        )
        try:
            report = verify_batch(
                ZipBatchArchive(body),
                self.config.log_keys,
                seal_check=seal,
                trusted=self._witness,
                container_check=self.config.container_check,
            )
        except BatchError as exc:
            return self._refuse(str(exc.reason), exc.message, now)
        previous = report.range.previous_export if report.range else None
        if (
            previous is not None
            and not self._db.execute(
                "SELECT 1 FROM batches WHERE batch = ?", (previous,)
            ).fetchone()
        ):
            # Complete only if the batch the range follows reached us: else its signatures
            # were exported but never delivered.
            return self._refuse(
                "PREVIOUS_BATCH_UNKNOWN",
                f"the range follows batch {previous}, which this receiver never accepted",
                now,
            )
        stored = self._db.execute(
            "SELECT manifest_sha256, response FROM batches WHERE batch = ?", (report.batch_id,)
        ).fetchone()
        if stored is not None:
            if stored[0] != report.manifest_sha256:
                return 409, {"error": "BATCH_CONFLICT", "batch": report.batch_id}
            return 200, json.loads(stored[1])  # already accepted: the same acknowledgement
        cp = report.checkpoint
        note, sha = self._ack(
            Acknowledgement(
                receiver=self.config.name,
                batch=report.batch_id,
                sequence=report.sequence,
                manifest_sha256=report.manifest_sha256,
                status=ACCEPTED,
                reason="OK",
                origin=cp.origin,
                size=cp.size,
                root=cp.root,
                received_at=now,
            )
        )
        accepted: dict[str, Any] = {
            "status": "ACCEPTED",
            "reason": "OK",
            "batch": report.batch_id,
            "sequence": report.sequence,
            "count": report.count,
            "manifest_sha256": report.manifest_sha256,
            "acknowledgement": note,
            "acknowledgement_sha256": sha,
        }
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?)",
            (
                report.batch_id,
                report.manifest_sha256,
                body_sha,
                json.dumps(accepted, sort_keys=True),
            ),
        )
        self._db.execute(
            "INSERT INTO witness VALUES (?, ?) ON CONFLICT (origin) DO UPDATE "
            "SET checkpoint = excluded.checkpoint",
            (cp.origin, report.checkpoint_note),
        )
        self._db.execute("COMMIT")
        return 201, accepted


@contextmanager
def serve_receiver(config: ReceiverConfig) -> Iterator[str]:
    """Serve the receiver on 127.0.0.1 on a free port in a thread; yield its base URL."""
    app = Receiver(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        app.close()
